/**
 * Ctrl-C on `npm start` leaves nothing behind, the embedded stack included; and a run with secrets set (HEP auth
 * key, ClickHouse password) shows them nowhere: not in any log line, banner, health or metrics body, nor in the
 * records in Kafka. This test brings up its OWN stack (a private TOLLGATE_STACK_DIR and ports), never the shared
 * one other tests and developers use.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createClickhouseStore } from '../../services/shared/clickhouse/client.ts';
import { mayRaisePriority, planPriorities } from '../../services/supervisor/priority.ts';
import { hepPacket, sendUdp, sipMessage } from '../support/hep-sender.ts';
import { alive, descendants, startTollgate, waitFor } from '../support/start-process.ts';
import { START_CLICKHOUSE_PASSWORD, START_HEP_AUTH_KEY } from '../support/test-secrets.ts';

const KAFKA_PORT = 20892;
const CONTROLLER_PORT = 20893;
const CLICKHOUSE_PORT = 20823;
const HEP_KEY = START_HEP_AUTH_KEY;
const CH_PASSWORD = START_CLICKHOUSE_PASSWORD;
const SECRETS = [HEP_KEY, CH_PASSWORD];

function assertNoSecret(where: string, text: string | Buffer): void {
  for (const secret of SECRETS) assert.equal(text.includes(secret), false, `${where} contains a secret`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function pidFile(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

describe('npm start with the embedded stack', () => {
  it('Ctrl-C stops every process it started (services, Kafka, the dev ClickHouse); no secret shows anywhere', { timeout: 420_000 }, async (t) => {
    for (const port of [KAFKA_PORT, CONTROLLER_PORT, CLICKHOUSE_PORT]) {
      if (await portOpen(port)) {
        t.skip(`port ${port} is in use by something else; this test needs its own stack there`);
        return;
      }
    }
    const stackDir = mkdtempSync(join(tmpdir(), 'tg-start-stop-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env, LOG_FORMAT: 'json', TOLLGATE_STACK_DIR: stackDir,
      TOLLGATE_STACK_KAFKA_PORT: String(KAFKA_PORT), TOLLGATE_STACK_KAFKA_CONTROLLER_PORT: String(CONTROLLER_PORT),
      TOLLGATE_STACK_CLICKHOUSE_PORT: String(CLICKHOUSE_PORT),
      API_PORT: '20880', HEP_PORT: '20860', PUBLISH_SPOOL_DIR: join(stackDir, 'spool'), KAFKA_PARTITIONS: '2',
      COLLECTOR_PROCESSES: '1', ANALYZER_PROCESSES: '1',
      HEP_AUTH_KEY: HEP_KEY, CLICKHOUSE_PASSWORD: CH_PASSWORD, CLICKHOUSE_DEV_PASSWORD: CH_PASSWORD,
    };
    delete env.KAFKA_BROKERS;
    delete env.CLICKHOUSE_URL;
    delete env.TOLLGATE_KEEP_STACK;
    const tg = startTollgate(env);
    let pids: number[] = [];
    try {
      await tg.ready(360_000);
      assert.match(tg.output(), new RegExp(`Kafka +127\\.0\\.0\\.1:${KAFKA_PORT} \\(embedded\\)`));
      assert.match(tg.output(), /Ctrl-C stops everything cleanly, the embedded kafka and clickhouse included/);
      const kafkaPid = pidFile(join(stackDir, 'kafka.pid'));
      const chPid = pidFile(join(stackDir, 'clickhouse.pid'));
      assert.ok(kafkaPid !== undefined && alive(kafkaPid), 'the embedded Kafka runs');
      assert.ok(chPid !== undefined && alive(chPid), 'the embedded ClickHouse runs');
      pids = [...new Set([...descendants(tg.child.pid!), ...descendants(kafkaPid), kafkaPid, ...descendants(chPid), chPid])];
      // supervisor's children: collector, analyzer, api; plus the stack's processes
      assert.ok(pids.length >= 5, `processes found: ${pids.join(', ')}`);
      // Without the right to raise the collectors' priority, the embedded stack this start brought up steps back.
      const stackNice = planPriorities(-10, mayRaisePriority()).stack ?? 0;
      assert.deepEqual([getPriority(kafkaPid), getPriority(chPid)], [stackNice, stackNice], 'nice of the embedded Kafka and ClickHouse');

      // Traffic with the key (accepted) and with a wrong one (dropped), through to ClickHouse.
      const good = Array.from({ length: 40 }, (_, i) => hepPacket(sipMessage({ method: 'OPTIONS', callId: `secret-scan-${i}`, cseq: 1, v6: false }), { authKey: HEP_KEY }));
      const bad = Array.from({ length: 5 }, (_, i) => hepPacket(sipMessage({ method: 'OPTIONS', callId: `wrong-key-${i}`, cseq: 1, v6: false }), { authKey: 'nope' }));
      await sendUdp('127.0.0.1', 20860, [...good, ...bad]);
      const ch = createClickhouseStore({ url: `http://127.0.0.1:${CLICKHOUSE_PORT}`, user: 'default', password: CH_PASSWORD, database: 'tollgate' });
      try {
        await waitFor('40 rows in sip_messages', 60_000, async () =>
          Number((await ch.query<{ n: string }>('SELECT count() AS n FROM sip_messages'))[0]?.n ?? 0) === 40);
      } finally {
        await ch.close();
      }
      const kafka = new Kafka({ brokers: [`127.0.0.1:${KAFKA_PORT}`], logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: 'secret-scan' });
      const values: Buffer[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: 'tollgate.hep.sip', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!); } });
      await waitFor('40 records read back', 30_000, () => values.length >= 40);
      await consumer.disconnect();
      assert.equal(values.length, 40);
      values.forEach((v, i) => assertNoSecret(`Kafka record ${i}`, v));

      const health = await fetch('http://127.0.0.1:20880/healthz');
      assertNoSecret('/healthz', await health.text());
      assertNoSecret('/metrics', await (await fetch('http://127.0.0.1:20880/metrics')).text());
    } finally {
      const code = await tg.interrupt(120_000);
      assert.equal(code, 0, tg.output().slice(-3000));
    }
    try {
      await waitFor('every process gone', 10_000, () => pids.every((p) => !alive(p)));
      for (const port of [KAFKA_PORT, CLICKHOUSE_PORT, 20880]) assert.equal(await portOpen(port), false, `port ${port} still open`);
      assert.match(tg.output(), /"msg":"stopped"\}\s*$/);
      assert.match(tg.output(), /tollgate is running:/);
      assertNoSecret('npm start output (every log line and the banner)', tg.output());
    } finally {
      for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
      rmSync(stackDir, { recursive: true, force: true });
    }
  });
});
