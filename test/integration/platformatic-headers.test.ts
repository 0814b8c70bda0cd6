/**
 * The @platformatic/kafka adapter's header handling, read back from the real broker: frozen header objects shared by
 * many records (cached encoding), fresh objects per record, and empty headers (no header on the record), all land
 * exactly as given, with keys and values intact, in order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { PlatformaticRecordProducer } from '../../services/shared/kafka/platformatic-producer.ts';
import type { OutgoingRecord } from '../../services/shared/kafka/producer.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

let kafka: Kafka;
let admin: Admin;
let brokers: string[];
const topics: string[] = [];

before(async () => {
  brokers = (await ensureLocalStack()).kafkaBrokers;
  kafka = new Kafka({ clientId: 'tollgate-test-headers', brokers, logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
  await admin.disconnect();
});

test('frozen shared, per-record and empty headers arrive exactly as given', { timeout: 60_000 }, async () => {
  const topic = uniqueName('headers');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  topics.push(topic);
  const shared = [Object.freeze({ type: '1' }), Object.freeze({ type: '5', ts_fixed: '1' })];
  const none = Object.freeze({});
  const expected: Array<Record<string, string>> = [];
  const batch: OutgoingRecord[] = [];
  for (let i = 0; i < 300; i++) {
    const kind = i % 4;
    const headers = kind === 0 ? shared[0]! : kind === 1 ? shared[1]! : kind === 2 ? { type: String(i), node: `n${i}` } : none;
    expected.push({ ...headers });
    batch.push({ topic, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), headers });
  }
  const producer = new PlatformaticRecordProducer({ brokers, clientId: 'tollgate-test-headers' });
  try {
    // Twice: the second send reuses the cached encodings of the frozen objects.
    await producer.send(batch.slice(0, 150));
    await producer.send(batch.slice(150));
  } finally {
    await producer.disconnect();
  }

  const got: Array<{ key: string; value: string; headers: Record<string, string> }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('headers_group'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          got.push({ key: message.key!.toString(), value: message.value!.toString(), headers });
          if (got.length === batch.length) resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  assert.equal(got.length, 300);
  for (let i = 0; i < 300; i++) {
    assert.equal(got[i]!.key, `k${i}`);
    assert.equal(got[i]!.value, `v${i}`);
    assert.deepEqual(got[i]!.headers, expected[i], `record ${i}`);
  }
});
