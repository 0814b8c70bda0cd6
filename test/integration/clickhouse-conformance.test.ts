/**
 * The dev ClickHouse endpoint against the official ClickHouse JS client's own integration suite
 * (`scripts/clickhouse-conformance/run.ts`): fails on any failure not named, with its reason, in
 * `scripts/clickhouse-conformance/expected-failures.ts`. The run uses an endpoint of its own in a private network
 * namespace, so it never touches the dev ClickHouse on 127.0.0.1:8123.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('../../scripts/clickhouse-conformance/run.ts', import.meta.url));
const tarball = fileURLToPath(new URL('../../../shared/third_party/clickhouse-js-1.23.1.tar.gz', import.meta.url));

const missing = existsSync(tarball) ? undefined : `the suite's source is missing: ${tarball} (it comes with ../shared/third_party/)`;
if (missing !== undefined && process.env['CI']) throw new Error(missing);

test('the official clickhouse-js integration suite passes against the dev endpoint, but for its listed engine limits', { skip: missing, timeout: 900_000 }, async () => {
  const lines: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      process.stderr.write(text);
      lines.push(...text.split('\n'));
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const summary = lines.find((l) => /clickhouse-conformance: passed \d+, failed \d+/.test(l));
  assert.ok(summary, 'the conformance run printed no summary');
  assert.equal(code, 0, lines.filter((l) => /UNEXPECTED|did not complete|TIMED OUT/.test(l)).join('\n'));
});
