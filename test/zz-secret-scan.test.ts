/**
 * No secret in any log line, banner or health body across the test suite. `npm test` runs this file last (files
 * sorted by path); it scans what the run's tests kept (`test/support/test-output.ts`: the output of every tollgate
 * process they spawned, the logs of the services they ran in-process, the health bodies they read) and the embedded
 * stack's Kafka and ClickHouse logs, for every secret the tests configured (`test/support/test-secrets.ts`, plus
 * those generated at run time). Run alone, it scans only what earlier runs of this runner left, and says so.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RUN_OUTPUT_DIR, RUN_SECRETS_FILE, TEST_OUTPUT_ROOT } from './support/test-output.ts';
import { ENCODED_TEST_SECRETS, TEST_SECRETS } from './support/test-secrets.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return filesUnder(path, keep);
    return e.isFile() && keep(e.name) ? [path] : [];
  });
}

function runnerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Where a secret shows: `file:line`, the secret masked to its first three characters. */
function findings(file: string, secrets: readonly string[]): string[] {
  const text = readFileSync(file, 'utf8');
  const hits: string[] = [];
  for (const secret of secrets) {
    let at = text.indexOf(secret);
    while (at >= 0) {
      const line = text.slice(0, at).split('\n').length;
      hits.push(`${relative(REPO, file)}:${line}: ${secret.slice(0, 3)}… (${secret.length} chars)`);
      at = text.indexOf(secret, at + secret.length);
    }
  }
  return hits;
}

describe('secret scan across the test suite', () => {
  it('no configured secret appears in any kept output or stack log', () => {
    // Runs whose runner has gone are leftovers (an interrupted run): dropped, not scanned twice.
    for (const dir of existsSync(TEST_OUTPUT_ROOT) ? readdirSync(TEST_OUTPUT_ROOT) : []) {
      if (/^\d+$/.test(dir) && join(TEST_OUTPUT_ROOT, dir) !== RUN_OUTPUT_DIR && !runnerAlive(Number(dir))) {
        rmSync(join(TEST_OUTPUT_ROOT, dir), { recursive: true, force: true });
      }
    }
    const generated = existsSync(RUN_SECRETS_FILE) ? readFileSync(RUN_SECRETS_FILE, 'utf8').split('\n').filter((l) => l !== '') : [];
    const secrets = [...new Set([...TEST_SECRETS, ...ENCODED_TEST_SECRETS, ...generated])];
    const kept = filesUnder(RUN_OUTPUT_DIR, (name) => !name.startsWith('.'));
    const stackDir = resolve(process.env['TOLLGATE_STACK_DIR']?.trim() || join(REPO, '.run', 'stack'));
    const stackLogs = filesUnder(stackDir, (name) => name.endsWith('.log'));
    const bytes = [...kept, ...stackLogs].reduce((n, f) => n + statSync(f).size, 0);
    process.stdout.write(`secret scan: ${secrets.length} secrets (${generated.length} generated at run time) in ${kept.length} kept outputs `
      + `of this run and ${stackLogs.length} stack logs, ${Math.round(bytes / 1024)} KiB\n`);
    if (kept.length === 0) process.stdout.write('secret scan: no test of this run kept output (run alone?): only the stack logs were scanned\n');

    const hits = [...kept, ...stackLogs].flatMap((f) => findings(f, secrets));
    assert.deepEqual(hits, [], `secrets found (the run's output is kept in ${relative(REPO, RUN_OUTPUT_DIR)}):\n${hits.join('\n')}`);
    rmSync(RUN_OUTPUT_DIR, { recursive: true, force: true });
  });

  it('finds a planted secret and names the file and line, so a clean scan means something', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-secret-scan-'));
    try {
      const file = join(dir, 'planted.log');
      writeFileSync(file, `{"msg":"ok"}\n{"msg":"connecting","password":"${TEST_SECRETS[1]}"}\n`);
      const hits = findings(file, TEST_SECRETS);
      assert.equal(hits.length, 1);
      assert.match(hits[0]!, /planted\.log:2: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
