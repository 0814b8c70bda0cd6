/**
 * The CDR writer against the real ClickHouse and Kafka: every revision lands in `cdrs` and on the topic; a replayed
 * journal (the same revisions again) and a later revision still leave exactly one row per leg.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createKafka } from '../../services/shared/kafka/client.ts';
import { KafkaRecordProducer } from '../../services/shared/kafka/kafkajs-producer.ts';
import { ensureTopics } from '../../services/shared/kafka/topics.ts';
import type { CdrRecord } from '../../services/rating/core/cdr.ts';
import { cdrRow } from '../../services/rating/store/cdr-rows.ts';
import { CdrWriter } from '../../services/rating/store/cdr-writer.ts';
import { JsonCdrConsumer, kafkaJsonCdrIngest } from '../../services/rating/json-cdr-feed.ts';
import { ratingDatabase, type RatingDb } from '../support/rating-harness.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const log = pino({ level: 'silent' });

function rec(i: number, cost: number): CdrRecord {
  const base = Date.UTC(2026, 10, 30, 9, 0, 0) * 1000 + i;
  return {
    facts: { uniqueId: `w-${i}`, node: 'fs1', originHost: 'fs1', tenant: 'cgrates.org', account: '1003', subject: '1003', destination: '4420', category: 'call',
      reqtype: '*postpaid', sipCallId: `c${i}@h`, caller: '1003', callee: '4420', direction: 'inbound', dialplan: 'XML', context: 'default', createdUs: base },
    timing: { createdUs: base, answeredUs: base + 1_000_123, endedUs: base + 31_000_456, progressMediaMs: 300, hangupCause: 'NORMAL_CLEARING', q850: 16, sipDisposition: 'recv_bye', sipTermStatus: '200', source: 'event' },
    decision: 'not_prepaid', maxUsageMs: 0, sessionInitiated: false, sessionTerminated: false, ratingStatus: cost < 0 ? 'pending' : 'rated', ratingError: '', ratingAttempts: 1,
    cost: cost < 0 ? null : cost, costSource: '*cdrs', cgrId: `g${i}`, ratingDetails: '',
  };
}

describe('CDR writer into ClickHouse and Kafka', () => {
  let db: RatingDb;
  let spool: string;
  const topic = uniqueName('tg_rating_cdrs');
  let kafka: ReturnType<typeof createKafka>;

  before(async () => {
    const brokers = process.env['KAFKA_BROKERS']?.split(',') ?? (await ensureLocalStack()).kafkaBrokers;
    db = await ratingDatabase();
    spool = await mkdtemp(path.join(tmpdir(), 'tollgate-cdr-writer-'));
    kafka = createKafka({ brokers, clientId: 'rating-writer-test', log });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ name: topic, partitions: 2, retentionMs: 3_600_000, doc: 'test' }]);
    await admin.disconnect();
  });
  after(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
    await rm(spool, { recursive: true, force: true });
  });

  it('writes each revision to both, and keeps one row per leg across replays and revisions', async () => {
    const producer = new KafkaRecordProducer({ kafka, log });
    const writer = new CdrWriter({ store: db.store, producer, topic, spoolDir: spool, log, flushIntervalMs: 10 });
    await writer.start();
    const first = Array.from({ length: 200 }, (_, i) => cdrRow(rec(i, -1), 1_000 + i));
    for (const r of first) writer.write(r);
    await writer.drain();
    for (const r of first) writer.write(r); // a journal replay: the very same revisions again
    for (let i = 0; i < 50; i++) writer.write(cdrRow(rec(i, 0.3), 5_000 + i)); // re-rated later
    await writer.drain();
    await writer.close();
    await producer.disconnect();

    const rows = await db.store.query<{ n: string; rated: string; pending: string }>(
      "SELECT count() AS n, countIf(rating_status = 'rated') AS rated, countIf(rating_status = 'pending') AS pending FROM cdrs FINAL");
    // UInt64 comes back as a string from a ClickHouse server and as a number from some endpoints: compare numbers.
    assert.deepEqual(Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)])), { n: 200, rated: 50, pending: 150 });
    const [one] = await db.store.query<Record<string, unknown>>("SELECT * FROM cdrs FINAL WHERE unique_id = 'w-7'");
    assert.equal(Number(one!['billmsec']), 30_000);
    assert.equal(one!['answered_at'], '2026-11-30 09:00:01.000130');

    const consumer = kafka.consumer({ groupId: uniqueName('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.key!.toString()); } });
    const deadline = Date.now() + 20_000;
    while (seen.length < 450 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.disconnect();
    assert.equal(seen.length, 450, 'every revision published (consumers keep the latest per key)');
    assert.equal(new Set(seen).size, 200);
  });

  it('carries mod_json_cdr posts from the API route to the rating service through Kafka', async () => {
    const jtopic = uniqueName('tg_rating_json_cdr');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ name: jtopic, partitions: 2, retentionMs: 3_600_000, doc: 'test' }]);
    await admin.disconnect();
    const producer = new KafkaRecordProducer({ kafka, log });
    const ingest = kafkaJsonCdrIngest(producer, jtopic);
    for (let i = 0; i < 20; i++) await ingest({ variables: { uuid: `j-${i}`, billsec: String(i) } });
    const got: string[] = [];
    const consumer = new JsonCdrConsumer({ kafka, groupId: uniqueName('jg'), topic: jtopic, log, ingest: async (doc) => {
      got.push((doc as { variables: { uuid: string } }).variables.uuid);
    } });
    await consumer.start();
    const deadline = Date.now() + 20_000;
    while (got.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await consumer.close();
    await producer.disconnect();
    const a2 = kafka.admin();
    await a2.connect();
    await a2.deleteTopics({ topics: [jtopic] }).catch(() => undefined);
    await a2.disconnect();
    assert.deepEqual([...got].sort(), Array.from({ length: 20 }, (_, i) => `j-${i}`).sort());
  });
});
