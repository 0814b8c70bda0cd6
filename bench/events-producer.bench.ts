/**
 * The analyzer's event producer alone: the publish step without the consumer and ClickHouse around it. Three
 * partitions' batches of 20,000 `sip.events` events (a mix of requests and responses from 250 sources) are encoded
 * by the analyzer's own functions (services/analyzer/events.ts) and sent concurrently through one producer wrapped
 * in `oneAtATime`, in 512 KiB slices, exactly as the consumer's publish closure does:
 *   - v1: one record per event (`singleEventRecords`: JSON.stringify, a Buffer per value and per key);
 *   - v2: one container per target partition and 256 Ki characters (`containerRecords`).
 * Interleaved rounds (order alternated), `process.cpuUsage` (user+system) of this process per event, medians and the
 * v2/v1 ratio; "of which encoding" is the CPU of building the records alone (the rest is the producer). `--client kafkajs` uses the kafkajs adapter instead of @platformatic/kafka (the analyzer's default).
 *
 * Run: npx tsx bench/events-producer.bench.ts [--rounds 7] [--events 20000] [--client platformatic|kafkajs]
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { sliceByBytes } from '../services/analyzer/consumer/consumer.ts';
import { containerRecords, singleEventRecords, type EventRecord } from '../services/analyzer/event-records.ts';
import { SIP_EVENT_VERSION, type SipEvent } from '../services/analyzer/events.ts';
import { KafkaRecordProducer } from '../services/shared/kafka/kafkajs-producer.ts';
import { oneAtATime } from '../services/shared/kafka/one-at-a-time.ts';
import { PlatformaticRecordProducer } from '../services/shared/kafka/platformatic-producer.ts';
import type { OutgoingRecord, RecordProducer } from '../services/shared/kafka/producer.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const { values: a } = parseArgs({ options: {
  rounds: { type: 'string', default: '7' }, events: { type: 'string', default: '20000' }, client: { type: 'string', default: 'platformatic' },
} });
const ROUNDS = Number(a.rounds);
const PER_BATCH = Number(a.events);
const PARTITIONS = 3;

/** One INVITE dialog's worth of shapes, rotating: request, provisional, final, ACK/BYE and their answers. */
function event(i: number): SipEvent {
  const src = `10.0.${i % 50}.${i % 250}`;
  const request = i % 7 === 0 || i % 7 === 4 || i % 7 === 5;
  const status = request ? 0 : [100, 180, 200, 200][i % 4]!;
  const method = i % 7 === 4 ? 'ACK' : i % 7 === 5 ? 'BYE' : 'INVITE';
  return {
    v: SIP_EVENT_VERSION, id: `tollgate.hep.sip/${i % PARTITIONS}/${1_000_000 + i}`, kind: request ? (method === 'INVITE' ? 'invite' : 'request') : status < 200 ? 'provisional' : 'invite_answered',
    ts: '2026-01-01 12:00:00.123456', src_ip: request ? src : '192.0.2.10', src_port: 5060, dst_ip: request ? '192.0.2.10' : src, dst_port: 5060, transport: 'udp',
    method, status, call_id: `${(i >> 3).toString(36)}-0123456789abcdef@10.0.0.1`, cseq: 1,
    from_user: `user${i % 1000}`, from_domain: 'tenant.example', to_user: '+4930123456', to_domain: 'tenant.example',
    ruri_user: '+4930123456', ruri_domain: 'tenant.example', user_agent: 'Yealink SIP-T46S 66.86.0.15', auth_user: `user${i % 1000}`,
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
const producer = oneAtATime(a.client === 'kafkajs'
  ? new KafkaRecordProducer({ kafka })
  : new PlatformaticRecordProducer({ brokers, clientId: 'tollgate-bench' }));

const variants: [string, (es: readonly SipEvent[]) => EventRecord[]][] = [
  ['v1: one record per event', (es) => singleEventRecords(es)],
  ['v2: containers per partition', (es) => containerRecords(es, PARTITIONS)],
];
const cpu = variants.map(() => [] as number[]);
const encodeCpu = variants.map(() => [] as number[]);
const records = variants.map(() => 0);

async function run(k: number): Promise<void> {
  const encode = variants[k]![1];
  const c0 = process.cpuUsage();
  let n = 0;
  let encodeUs = 0;
  await Promise.all(batches.map(async (events) => {
    const e0 = process.cpuUsage();
    const out: OutgoingRecord[] = encode(events).map((r) => ({ topic, key: r.key, value: r.value }));
    const e = process.cpuUsage(e0);
    encodeUs += e.user + e.system;
    n += out.length;
    for (const slice of sliceByBytes(out, 512 * 1024)) await producer.send(slice);
  }));
  const used = process.cpuUsage(c0);
  encodeCpu[k]!.push(encodeUs / (PARTITIONS * PER_BATCH));
  cpu[k]!.push((used.user + used.system) / (PARTITIONS * PER_BATCH));
  records[k] = n;
}

try {
  await producer.connect();
  for (let k = 0; k < variants.length; k++) await run(k); // warm-up, not counted
  for (const s of [...cpu, ...encodeCpu]) s.length = 0;
  for (let r = 0; r < ROUNDS; r++) for (let j = 0; j < variants.length; j++) await run((j + r) % variants.length);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  console.log(`${PARTITIONS} × ${PER_BATCH} events per round, ${ROUNDS} interleaved rounds, client ${a.client}, node ${process.version}; CPU µs per event (median, min-max)`);
  for (const [k, [name]] of variants.entries()) {
    const s = cpu[k]!;
    console.log(`  ${name.padEnd(32)} ${median(s).toFixed(2).padStart(6)}  (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)}), of which encoding `
      + `${median(encodeCpu[k]!).toFixed(2)}; ${records[k]} records per round`);
  }
  console.log(`  ratio v2 / v1: ${(median(cpu[1]!) / median(cpu[0]!)).toFixed(2)}`);
} finally {
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
}
