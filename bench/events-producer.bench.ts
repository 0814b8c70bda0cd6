/**
 * The analyzer's event producer alone: `sip.events`-shaped JSON (JSON.stringify + key and value Buffers included, as
 * in the analyzer), three partitions' batches of 20,000 events sent concurrently through one producer wrapped in
 * `oneAtATime`, 512 KiB slices — the analyzer's publish step without the consumer and ClickHouse around it.
 * Alternates the two adapters; prints events/s (wall) and process CPU per event.
 *
 * Run: npx tsx bench/events-producer.bench.ts [rounds, default 3]
 */
import { Kafka, logLevel } from 'kafkajs';
import { sliceByBytes } from '../services/analyzer/consumer/consumer.ts';
import { SIP_EVENT_VERSION, type SipEvent } from '../services/analyzer/events.ts';
import { KafkaRecordProducer } from '../services/shared/kafka/kafkajs-producer.ts';
import { oneAtATime } from '../services/shared/kafka/one-at-a-time.ts';
import { PlatformaticRecordProducer } from '../services/shared/kafka/platformatic-producer.ts';
import type { OutgoingRecord, RecordProducer } from '../services/shared/kafka/producer.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const ROUNDS = Number(process.argv[2] ?? 3);
const PARTITIONS = 3;
const PER_BATCH = 20_000;

function event(i: number): SipEvent {
  return {
    v: SIP_EVENT_VERSION, id: `hep.sip/${i % PARTITIONS}/${i}`, kind: 'register_challenge', ts: '2026-01-01 12:00:00.123456',
    src_ip: `10.0.${i % 50}.${i % 200}`, src_port: 5060, dst_ip: '192.0.2.10', dst_port: 5060, transport: 'udp',
    method: 'REGISTER', status: 401, call_id: `${i.toString(36)}-0123456789abcdef@10.0.0.1`,
    from_user: `user${i % 1000}`, from_domain: 'tenant.example', to_user: `user${i % 1000}`, to_domain: 'tenant.example',
    ruri_user: '', ruri_domain: 'tenant.example', user_agent: 'Yealink SIP-T46S 66.86.0.15', auth_user: `user${i % 1000}`,
    tenant: 'default', domain: 'tenant.example',
  };
}

const stack = await ensureLocalStack();
const brokers = [...stack.kafkaBrokers];
const kafka = new Kafka({ clientId: 'tollgate-bench', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const topic = uniqueName('bench_events');
await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
const batches = Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: PER_BATCH }, (_, i) => event(p * PER_BATCH + i)));

async function run(name: string, producer: RecordProducer): Promise<void> {
  await producer.connect();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(batches.map(async (events) => {
    const out: OutgoingRecord[] = events.map((e) => ({ topic, key: Buffer.from(e.src_ip), value: Buffer.from(JSON.stringify(e)) }));
    for (const slice of sliceByBytes(out, 512 * 1024)) await producer.send(slice);
  }));
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const n = PARTITIONS * PER_BATCH;
  process.stdout.write(`${name.padEnd(12)} ${Math.round((n / ms) * 1000)} events/s, ${((used.user + used.system) / n).toFixed(1)} µs CPU/event\n`);
  await producer.disconnect();
}

try {
  for (let r = 0; r < ROUNDS; r++) {
    await run('kafkajs', oneAtATime(new KafkaRecordProducer({ kafka })));
    await run('platformatic', oneAtATime(new PlatformaticRecordProducer({ brokers, clientId: 'tollgate-bench' })));
  }
} finally {
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
}
