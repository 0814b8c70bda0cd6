/**
 * `npm run dashboards`: writes the dashboards' JSON and the alert-rule files Grafana and Prometheus provisioning read.
 * `npm run dashboards -- --check` writes nothing and fails when a generated file is missing or out of date.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, OUTPUT } from './index.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const check = process.argv.includes('--check');
const files = generate();
const stale: string[] = [];

for (const [path, content] of files) {
  const abs = join(ROOT, path);
  let current: string | undefined;
  try {
    current = readFileSync(abs, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  stale.push(path);
  if (!check) {
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}
// A dashboard removed from the sources must disappear from provisioning too.
for (const name of readdirSync(join(ROOT, OUTPUT.dashboards))) {
  const path = `${OUTPUT.dashboards}/${name}`;
  if (name.endsWith('.json') && !files.has(path)) {
    stale.push(`${path} (no longer generated)`);
    if (!check) rmSync(join(ROOT, path));
  }
}

if (check) {
  if (stale.length > 0) {
    process.stderr.write(`dashboards: out of date, run \`npm run dashboards\`:\n${stale.map((s) => `  ${s}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`dashboards: ${files.size} generated files up to date\n`);
} else {
  process.stdout.write(`dashboards: ${files.size} files generated, ${stale.length} changed${stale.length > 0 ? `:\n${stale.map((s) => `  ${s}`).join('\n')}` : ''}\n`);
}
