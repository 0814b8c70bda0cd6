/**
 * The guard's standalone entry: bad settings stop it before any socket opens, naming the setting; good ones give a
 * running process with /healthz and /metrics that stops cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createClickhouseStore } from '../../services/shared/clickhouse/client.ts';
import { freePort } from '../support/ports.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';
import { captureOutput } from '../support/test-output.ts';
import { GUARD_MAIN_WEBHOOK_SECRET } from '../support/test-secrets.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function runGuard(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/guard/main.ts'], { cwd: ROOT, env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  captureOutput(child, 'guard-main');
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, output: () => out };
}

describe('services/guard/main.ts', { timeout: 120_000 }, () => {
  const database = uniqueName('tg_guard_main');
  const prefix = `${uniqueName('gm')}.`;
  after(async () => {
    const stack = await ensureLocalStack();
    const admin = createClickhouseStore({ url: stack.clickhouseUrl, user: 'default' });
    await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
    await admin.close();
  });

  it('refuses bad settings with exit 2, naming each', async () => {
    const g = runGuard({ ALERT_WEBHOOK_SECRET: GUARD_MAIN_WEBHOOK_SECRET, ALERT_WEBHOOKS: 'teams+https://x.example', GUARD_ALLOWLIST: '10.0.0.0/33', KAFKA_BROKERS: '127.0.0.1:1', CLICKHOUSE_URL: 'http://127.0.0.1:1' });
    assert.equal(await g.exited, 2);
    assert.match(g.output(), /GUARD_ALLOWLIST entry "10\.0\.0\.0\/33"/);
    assert.match(g.output(), /ALERT_WEBHOOKS entry/);
    assert.match(g.output(), /ALERT_WEBHOOK_SECRET=<redacted>: expected whsec_/);
    assert.doesNotMatch(g.output(), /short-but-long/);
  });

  it('runs, reports health and metrics, stops on SIGTERM', async () => {
    const stack = await ensureLocalStack();
    const port = await freePort();
    const groupId = uniqueName('guard');
    const g = runGuard({ KAFKA_BROKERS: stack.kafkaBrokers.join(','), CLICKHOUSE_URL: stack.clickhouseUrl, CLICKHOUSE_DATABASE: database, KAFKA_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '1', METRICS_PORT: String(port), GUARD_GROUP_ID: groupId });
    try {
      const t0 = Date.now();
      let health: { status?: string; components?: Record<string, { state: string }> } = {};
      while (health.status !== 'ok') {
        if (Date.now() - t0 > 90_000 || g.child.exitCode !== null) throw new Error(`guard not healthy: ${JSON.stringify(health)} ${g.output().slice(-2000)}`);
        health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json() as Promise<typeof health>, () => ({}));
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(health.components?.['guard-detectors']);
      assert.ok(health.components?.['blocklist-log']);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /tollgate_guard_blocks_active/);
      g.child.kill('SIGTERM');
      assert.equal(await g.exited, 0);
    } finally {
      if (g.child.exitCode === null) g.child.kill('SIGKILL');
      const admin = (await import('kafkajs')).Kafka;
      const k = new admin({ clientId: 'gm-cleanup', brokers: stack.kafkaBrokers, logLevel: 0 }).admin();
      await k.connect();
      const topics = (await k.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length > 0) await k.deleteTopics({ topics }).catch(() => undefined);
      await k.deleteGroups([groupId]).catch(() => undefined);
      await k.disconnect();
    }
  });
});
