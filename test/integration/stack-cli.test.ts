import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { localStackParts } from '../../scripts/stack/index.ts';
import { createKafkaPart } from '../../scripts/stack/kafka.ts';
import { probeKafkaPort } from '../../scripts/stack/kafka/probe.ts';
import { groupAlive } from '../../scripts/stack/kafka/proc.ts';
import { ensureLocalStack } from '../support/stack.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'scripts', 'stack', 'cli.ts');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stack ${args.join(' ')} still running after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Endpoint and pid (`-` for an external part) of every part that `up` / `status` lists as running. */
function runningPids(out: string): Record<string, string> {
  const pids: Record<string, string> = {};
  for (const m of out.matchAll(/^(\w+)\s+running\s+(\S+)\s+(\d+|-)\s/gm)) pids[m[1]!] = `${m[2]} ${m[3]}`;
  return pids;
}

// Harmless means the same processes afterwards: an up that restarted a part would show a new pid (and cost the other
// tests their broker), whatever the time it took.
test('stack up on a running stack is harmless (same processes); status exits 0', { timeout: 300_000 }, async () => {
  await ensureLocalStack();
  const before = await runCli(['status'], 30_000);
  assert.equal(before.code, 0, before.stdout + before.stderr);
  const pids = runningPids(before.stdout);
  assert.ok(pids['kafka'], `status lists no running kafka:\n${before.stdout}`);
  for (let i = 0; i < 2; i++) {
    const up = await runCli(['up'], 60_000);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(runningPids(up.stdout), pids, `up ${i + 1} changed the running processes:\n${up.stdout}`);
  }
  const status = await runCli(['status'], 30_000);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.deepEqual(runningPids(status.stdout), pids);
});

test('a bad argument prints usage and exits 2', { timeout: 30_000 }, async () => {
  const bad = await runCli(['sideways'], 20_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /usage: npm run stack/);
});

// The shared stack on 9092 stays up for other tests; down is exercised on a second broker with its own ports and run dir.
test('down stops a broker and leaves no process; down again is harmless', {
  timeout: 300_000,
  skip: process.env.KAFKA_BROKERS ? 'KAFKA_BROKERS is set: this run uses an external Kafka and may have no JVM' : false,
}, async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'tollgate-stack-down-'));
  const ctx = { runDir, cacheDir: localStackParts(process.env).cacheDir, progress: () => undefined };
  const part = createKafkaPart({ port: 19092, controllerPort: 19093 });
  try {
    const up = await part.up(ctx);
    assert.equal(up.running, true);
    assert.equal(up.endpoint, '127.0.0.1:19092');
    const pid = up.pid;
    assert.ok(pid !== undefined && groupAlive(pid), 'broker process group is alive after up');

    await part.down(ctx);
    assert.equal(groupAlive(pid), false, 'no process of the broker group remains');
    await assert.rejects(stat(join(runDir, 'kafka.pid')), 'pid file removed');
    assert.equal(await probeKafkaPort('127.0.0.1', 19092, 1000), 'closed');
    assert.equal(await probeKafkaPort('127.0.0.1', 19093, 1000), 'closed');
    assert.equal((await part.status(ctx)).running, false);

    await part.down(ctx);
  } finally {
    await part.down(ctx).catch(() => undefined);
    await rm(runDir, { recursive: true, force: true });
  }
});
