/**
 * The collector's produce stage alone, into the local stack's Kafka: capture records made by the real intake from the
 * load generator's SIP mix (envelope + HEP bytes, Call-ID keys), sent with the production adapter
 * (`PlatformaticRecordProducer`: idempotent, acks=all) in batches, one batch in flight as the publisher does. Variants,
 * interleaved round by round: the per-record header encoding of before (a Map and a Buffer per record), headers cached
 * per frozen object (now), no headers at all (for reference), and batch sizes. Figure: CPU µs per record of this
 * process (process.cpuUsage: the client's record encoding, CRC-32C, request build, socket writes, response parsing),
 * median over rounds. Wall-clock rates on a shared box are not reported.
 *
 * Run: npx tsx bench/capture-produce.bench.ts [--records 20000] [--rounds 5] [--match 'no headers'] (only variants whose
 * name contains it)
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Intake } from '../services/collector/intake.ts';
import type { CaptureRecord } from '../services/collector/publish/record.ts';
import { senderFromSocket } from '../services/shared/hep/index.ts';
import { PlatformaticRecordProducer } from '../services/shared/kafka/platformatic-producer.ts';
import type { OutgoingRecord } from '../services/shared/kafka/producer.ts';
import { topicCatalogue } from '../services/shared/kafka/topics.ts';
import { sipMix } from '../test/support/hep-sender.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const { values } = parseArgs({ options: {
  records: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' }, match: { type: 'string', default: '' },
} });
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);

const { kafkaBrokers } = await ensureLocalStack();
const admin = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const prefix = `${uniqueName('produce')}.`;
const topics = topicCatalogue(prefix, 6, 1).filter((t) => t.name.includes('.hep.'));
await admin.createTopics({ topics: topics.map((t) => ({ topic: t.name, numPartitions: 6 })), waitForLeaders: true });

const intake = new Intake({ topicPrefix: prefix, headers: 'minimal', decode: 'lazy' });
const from = Intake.sender('127.0.0.1', 40000, senderFromSocket('127.0.0.1', 40000)!, true);
const mix = sipMix(4000, 42).map((m) => m.bytes);
const records: CaptureRecord[] = [];
for (let i = 0; records.length < RECORDS; i++) {
  const r = intake.process(mix[i % mix.length]!, from, process.hrtime.bigint(), 'udp');
  if (typeof r !== 'string') records.push(r);
}
const avgValue = records.reduce((a, r) => a + r.value.length, 0) / records.length;

type Shape = (r: CaptureRecord) => OutgoingRecord;
const variants: Record<string, { batch: number; shape: Shape }> = {
  'headers per record, batch 2000': { batch: 2000, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value, headers: { ...r.headers } }) },
  'headers cached, batch 2000': { batch: 2000, shape: (r) => r },
  'no headers, batch 2000': { batch: 2000, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value }) },
  'no headers, batch 100': { batch: 100, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value }) },
  'no headers, batch 200': { batch: 200, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value }) },
  'no headers, batch 400': { batch: 400, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value }) },
  'no headers, batch 500': { batch: 500, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value }) },
  'no headers, batch 1000': { batch: 1000, shape: (r) => ({ topic: r.topic, key: r.key, value: r.value }) },
  'headers cached, batch 500': { batch: 500, shape: (r) => r },
  'headers cached, batch 5000': { batch: 5000, shape: (r) => r },
};
const producer = new PlatformaticRecordProducer({ brokers: kafkaBrokers, clientId: 'tollgate-bench' });
await producer.connect();

async function round(name: string): Promise<number> {
  const { batch, shape } = variants[name]!;
  // Shaping (the old per-record header objects) is part of what is measured: the old adapter made them per record.
  const c0 = process.cpuUsage();
  for (let i = 0; i < records.length; i += batch) {
    const out: OutgoingRecord[] = [];
    for (let j = i; j < Math.min(records.length, i + batch); j++) out.push(shape(records[j]!));
    await producer.send(out);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / records.length;
}

const names = Object.keys(variants).filter((n) => n.includes(values.match!));
for (const n of names) await round(n); // warm-up
const per = new Map<string, number[]>(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse();
  for (const n of order) per.get(n)!.push(await round(n));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`produce stage: ${RECORDS} capture records per round (value ${avgValue.toFixed(0)} B average), 6 partitions, acks=all, idempotent, ${ROUNDS} interleaved rounds; CPU µs/record (median)`);
const base = median(per.get(names[0]!)!);
for (const n of names) {
  const m = median(per.get(n)!);
  console.log(`  ${n.padEnd(32)} ${m.toFixed(2).padStart(6)} µs   (${(base / m).toFixed(2)}x of "${names[0]}")   rounds: ${per.get(n)!.map((x) => x.toFixed(2)).join(', ')}`);
}
await producer.disconnect();
await admin.deleteTopics({ topics: topics.map((t) => t.name), timeout: 10_000 }).catch(() => undefined);
await admin.disconnect();
