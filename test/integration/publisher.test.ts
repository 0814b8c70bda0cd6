import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { pino } from 'pino';
import { localStackParts } from '../../scripts/stack/index.ts';
import { createKafkaPart } from '../../scripts/stack/kafka.ts';
import type { StackContext } from '../../scripts/stack/part.ts';
import { DiskSpool, KafkaPublisher, KafkaRecordProducer, PlatformaticRecordProducer } from '../../services/collector/publish/index.ts';
import type { CaptureRecord, RecordProducer } from '../../services/collector/publish/index.ts';
import { createKafka } from '../../services/shared/kafka/client.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const log = pino({ level: 'silent' });
const PARTITIONS = 6;

/** Both producer adapters run the same scenarios; `outage` asks for the short timeouts of the outage test. */
const ADAPTERS: Record<string, (brokers: string[], clientId: string, outage: boolean) => RecordProducer> = {
  platformatic: (brokers, clientId, outage) => new PlatformaticRecordProducer({ brokers, clientId, log, ...(outage ? { connectTimeoutMs: 1_000 } : {}) }),
  kafkajs: (brokers, clientId, outage) => new KafkaRecordProducer({
    kafka: createKafka({ brokers, clientId, log, ...(outage ? { connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 } : {}) }),
    log,
  }),
};

function record(topic: string, key: string, seq: number, pad: number): CaptureRecord {
  return {
    topic,
    key: Buffer.from(key),
    value: Buffer.from(`${key}:${seq}:${'h'.repeat(pad)}`),
    headers: { src: '192.0.2.1:5060', dst: '192.0.2.2:5060', node: 'it', seq: String(seq) },
    receivedAtNs: process.hrtime.bigint(),
  };
}

interface Consumed {
  total: number;
  unique: number;
  duplicates: number;
  outOfOrder: string[];
  missing: number;
}

/** Reads the topic from the beginning until `expected` distinct key:seq ids arrived, then a second more for duplicates. */
async function consumeAll(kafka: Kafka, topic: string, expected: Map<string, number>, timeoutMs: number): Promise<Consumed> {
  const want = [...expected.values()].reduce((a, b) => a + b, 0);
  const seen = new Set<string>();
  const last = new Map<string, number>();
  const outOfOrder: string[] = [];
  let total = 0;
  const consumer = kafka.consumer({ groupId: uniqueName('publisher_it'), sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${want} distinct records within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              total++;
              const [key, seqText] = (m.value?.toString('latin1') ?? '').split(':') as [string, string];
              assert.equal(m.key?.toString(), key, 'message key and value agree');
              const id = `${key}:${seqText}`;
              if (seen.has(id)) continue;
              seen.add(id);
              const seq = Number(seqText);
              // First occurrences must rise per key; a re-sent batch only repeats ids already seen.
              if (seq <= (last.get(key) ?? -1)) outOfOrder.push(`${id} after ${key}:${last.get(key)}`);
              last.set(key, seq);
            }
            if (seen.size >= want) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await sleep(1_000);
  } finally {
    await consumer.disconnect();
  }
  return { total, unique: seen.size, duplicates: total - seen.size, outOfOrder, missing: want - seen.size };
}

describe('KafkaPublisher against the local stack Kafka', () => {
  let kafka: Kafka;
  let admin: Admin;
  let brokers: string[];
  const topics: string[] = [];
  const dirs: string[] = [];

  before(async () => {
    brokers = (await ensureLocalStack()).kafkaBrokers;
    kafka = new Kafka({ clientId: 'tollgate-test-publisher', brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
    await admin.disconnect();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  for (const [adapter, makeProducer] of Object.entries(ADAPTERS)) test(`${adapter}: 50,000 records over 2,000 keys: exact count, no duplicates, per-key order`, { timeout: 180_000 }, async () => {
    const topic = uniqueName('publisher');
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }), true);
    topics.push(topic);
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-pub-it-'));
    dirs.push(dir);
    const producer = makeProducer(brokers, 'tollgate-publisher-it', false);
    const p = new KafkaPublisher({ producer, spool: new DiskSpool({ dir, fsync: 'interval:100' }), log });
    await p.start();
    const KEYS = 2_000;
    const TOTAL = 50_000;
    const expected = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < TOTAL; i++) {
      const key = `call-${i % KEYS}@it`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
      assert.notEqual(p.offer(record(topic, key, Math.floor(i / KEYS), 200)), 'dropped');
      // The socket loop yields between datagrams; so does this producer of test load.
      if (i % 2_000 === 0) await sleep(0);
    }
    await p.close();
    const elapsed = Date.now() - started;
    const s = p.stats();
    assert.equal(s.offered, TOTAL);
    assert.equal(s.droppedTotal, 0);
    assert.equal(s.acked + s.spooled, TOTAL);
    const got = await consumeAll(kafka, topic, expected, 90_000);
    assert.deepEqual(got.outOfOrder, []);
    assert.equal(got.missing, 0);
    assert.equal(got.duplicates, 0, 'no duplicates without send failures');
    assert.equal(got.total, TOTAL);
    process.stderr.write(`[publisher ${adapter}] ${TOTAL} records in ${elapsed} ms (${Math.round((TOTAL * 1000) / elapsed)}/s incl. close); acked ${s.acked}, spooled ${s.spooled}\n`);
  });

  describe('Kafka outage on a broker of its own', () => {
    const part = createKafkaPart({ port: 19192, controllerPort: 19193 });
    let ctx: StackContext;
    let runDir: string;

    before(async () => {
      runDir = await mkdtemp(join(tmpdir(), 'tollgate-outage-broker-'));
      ctx = { runDir, cacheDir: localStackParts(process.env).cacheDir, progress: (line) => process.stderr.write(`[outage-broker] ${line}\n`) };
    });

    after(async () => {
      await part.down(ctx).catch((err: unknown) => process.stderr.write(`[outage-broker] down failed: ${String(err)}\n`));
      await rm(runDir, { recursive: true, force: true });
    });

    for (const [adapter, makeProducer] of Object.entries(ADAPTERS)) test(`${adapter}: a 10-15 s broker outage mid-load: everything offered lands once per key order, via the spool`, { timeout: 400_000 }, async (t) => {
      await part.up(ctx);
      t.after(() => part.down(ctx));
      const outageBrokers = ['127.0.0.1:19192'];
      const k = new Kafka({ clientId: 'tollgate-test-outage', brokers: outageBrokers, logLevel: logLevel.NOTHING });
      const a = k.admin();
      await a.connect();
      const topic = uniqueName('outage');
      await a.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      await a.disconnect();

      const spoolDir = await mkdtemp(join(tmpdir(), 'tollgate-outage-spool-'));
      dirs.push(spoolDir);
      const producer = makeProducer(outageBrokers, 'tollgate-outage-it', true);
      const p = new KafkaPublisher({ producer, spool: new DiskSpool({ dir: spoolDir, fsync: 'interval:100' }), log, probeMaxMs: 1_000 });
      await p.start();

      const RATE = 2_000; // records/s
      const KEYS = 300;
      const expected = new Map<string, number>();
      let seq = 0;
      let stopLoad = false;
      let spoolingSeen = false;
      const load = (async () => {
        const t0 = Date.now();
        while (!stopLoad) {
          const due = Math.floor(((Date.now() - t0) * RATE) / 1000);
          while (seq < due) {
            const key = `call-${seq % KEYS}@outage`;
            expected.set(key, (expected.get(key) ?? 0) + 1);
            assert.notEqual(p.offer(record(topic, key, seq, 300)), 'dropped');
            seq++;
          }
          if (p.mode === 'spooling') spoolingSeen = true;
          await sleep(5);
        }
      })();

      await sleep(5_000);
      const downAt = Date.now();
      await part.down(ctx);
      const stoppedIn = Date.now() - downAt;
      await sleep(12_000);
      const upAt = Date.now();
      await part.up(ctx);
      const outageMs = Date.now() - downAt;
      const spooledAtUp = p.stats().spooled;
      await sleep(5_000);
      stopLoad = true;
      await load;
      const deadline = Date.now() + 120_000;
      while ((p.mode !== 'direct' || p.stats().inMemory > 0) && Date.now() < deadline) await sleep(100);
      await p.close();
      const s = p.stats();

      const got = await consumeAll(k, topic, expected, 120_000);
      process.stderr.write(
        `[outage ${adapter}] offered ${s.offered}, acked direct ${s.acked}, spooled ${s.spooled} (at restart ${spooledAtUp}), replayed ${s.replayed}, ` +
          `dropped ${s.droppedTotal}, send failures ${s.sendFailures}; consumed ${got.total}, unique ${got.unique}, duplicates ${got.duplicates}; ` +
          `broker unreachable for ${outageMs} ms (stop took ${stoppedIn} ms, restart began ${upAt - downAt} ms after the stop)\n`,
      );
      assert.ok(spoolingSeen && s.spooled > 0, 'the spool was used');
      assert.equal(s.droppedTotal, 0);
      assert.equal(s.offered, seq);
      assert.equal(s.acked + s.spooled, s.offered);
      assert.equal(s.replayed, s.spooled, 'the spool drained');
      assert.deepEqual(got.outOfOrder, []);
      assert.equal(got.missing, 0, 'nothing lost');
      // Duplicates can only come from batches whose send was reported failed (possibly after the broker wrote them).
      if (s.sendFailures === 0) assert.equal(got.duplicates, 0);
    });
  });
});
