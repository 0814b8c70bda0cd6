import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const KEYS = 500;
const SEQS = 20;
const TOTAL = KEYS * SEQS;
const PARTITIONS = 6;

let kafka: Kafka;
let admin: Admin;
const topics: string[] = [];

before(async () => {
  const { kafkaBrokers } = await ensureLocalStack();
  kafka = new Kafka({ clientId: 'tollgate-test-roundtrip', brokers: kafkaBrokers, logLevel: logLevel.WARN });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  await admin.disconnect();
});

test('10,000 keyed messages through a 6-partition topic: exact count, no duplicates, per-key order', { timeout: 120_000 }, async () => {
  const topic = uniqueName('roundtrip');
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }), true);
  topics.push(topic);
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(meta.topics[0]?.partitions.length, PARTITIONS);

  const started = Date.now();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    // Sequence-major order: every key's messages go out in increasing seq, interleaved with the other keys.
    for (let seq = 0; seq < SEQS; seq++) {
      const messages = Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: JSON.stringify({ key: `key-${k}`, seq }) }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  const produced = Date.now();

  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  const outOfOrder: string[] = [];
  let count = 0;
  let firstAt = 0;
  let lastAt = 0;
  // A short fetch wait keeps disconnect quick: it waits for the fetch in flight.
  const consumer = kafka.consumer({ groupId: uniqueName('roundtrip_group'), sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${count} of ${TOTAL} within 60 s`)), 60_000);
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            const body = JSON.parse(message.value?.toString('utf8') ?? '{}') as { key: string; seq: number };
            assert.equal(message.key?.toString('utf8'), body.key, `partition ${partition}: key header and value disagree`);
            if (count++ === 0) firstAt = Date.now();
            seen.add(`${body.key}#${body.seq}`);
            const prev = lastSeq.get(body.key) ?? -1;
            if (body.seq <= prev) outOfOrder.push(`${body.key}: ${body.seq} after ${prev}`);
            lastSeq.set(body.key, body.seq);
            if (count === TOTAL) {
              lastAt = Date.now();
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    // Duplicates would arrive after the 10,000th message; give them a moment to show up.
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }

  assert.equal(count, TOTAL, 'exact message count');
  assert.equal(seen.size, TOTAL, 'no duplicates');
  assert.deepEqual(outOfOrder, [], 'seq strictly increasing per key');
  assert.equal(lastSeq.size, KEYS);
  for (const last of lastSeq.values()) assert.equal(last, SEQS - 1);
  process.stderr.write(`[roundtrip] produced ${TOTAL} in ${produced - started} ms, first message after ${firstAt - produced} ms (group join), all consumed after ${lastAt - produced} ms\n`);
});
