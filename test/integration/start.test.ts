import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { createClickhouseStore } from '../../services/shared/clickhouse/client.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start (all services, one supervised process)', () => {
  it('applies migrations, serves /healthz and /metrics, and stops cleanly on SIGINT', { timeout: 120_000 }, async () => {
    const stack = await ensureLocalStack();
    const database = uniqueName('tg_start');
    const port = 18080 + Math.floor(Math.random() * 1000);
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts'], {
      cwd: repo,
      env: { ...process.env, API_PORT: String(port), CLICKHOUSE_DATABASE: database, KAFKA_TOPIC_PREFIX: `${database}.`, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const deadline = Date.now() + 90_000;
      while (!out.includes('tollgate is running:')) {
        assert.ok(Date.now() < deadline, `npm start did not report readiness:\n${out}`);
        assert.equal(child.exitCode, null, `npm start exited early:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(out, new RegExp(`API, /healthz, /metrics +http://127\\.0\\.0\\.1:${port}`));
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      const report = (await health.json()) as { status: string; components: Record<string, { state: string }> };
      assert.equal(health.status, 200);
      assert.equal(report.components.clickhouse?.state, 'ok');
      assert.equal(report.components.kafka?.state, 'ok');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /tollgate_process_cpu_seconds_total\{service="tollgate"/);
    } finally {
      child.kill('SIGINT');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, `exit code after SIGINT:\n${out.slice(-2000)}`);
      assert.match(out, /"msg":"stopped"/);
      const admin = createClickhouseStore({ url: stack.clickhouseUrl, user: 'default' });
      await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
      await admin.close();
      const kafkaAdmin = new Kafka({ brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
      await kafkaAdmin.connect();
      const topics = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(`${database}.`));
      assert.ok(topics.length >= 5, `npm start created its topics: ${topics.join(', ')}`);
      await kafkaAdmin.deleteTopics({ topics });
      await kafkaAdmin.disconnect();
    }
  });
});
