/**
 * The guard's CPU per event reading `sip.events` as v1 records and as v2 containers, in one run. 60,000 events (the
 * shapes of an INVITE dialog, a REGISTER with a challenge and OPTIONS from 250 sources) are written once in each
 * format to a 3-partition topic; then, in interleaved rounds, a kafkajs consumer like the guard's (`eachBatch`,
 * four partitions concurrently) reads a topic from the start on a fresh group and runs every record through the
 * guard's reader (services/guard/event-records.ts) and a detector engine with the default rules. CPU is this
 * process's user+system time from the first record to the last (the group join is left out), per event; also the
 * reader alone on the same values, without Kafka.
 *
 *   npx tsx bench/guard-events.bench.ts [--rounds 5] [--events 60000]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { sliceByBytes } from '../services/analyzer/consumer/consumer.ts';
import { containerRecords, singleEventRecords, type EventRecord } from '../services/analyzer/event-records.ts';
import type { SipEvent } from '../services/analyzer/events.ts';
import { Allowlist } from '../services/guard/detect/allowlist.ts';
import { DetectorEngine } from '../services/guard/detect/engine.ts';
import { PrefixList } from '../services/guard/detect/numbers.ts';
import { loadRules } from '../services/guard/detect/rules.ts';
import { readEventRecord } from '../services/guard/event-records.ts';
import { partitionFor } from '../services/shared/kafka/partition.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const { values: a } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, events: { type: 'string', default: '60000' } } });
const ROUNDS = Number(a.rounds);
const N = Number(a.events);
const P = 3;
const HIGH_RISK = PrefixList.parse(readFileSync(new URL('../services/guard/high-risk-prefixes.txt', import.meta.url), 'utf8'));
const T0 = Date.UTC(2026, 10, 30, 10, 0, 0);

function ts(ms: number): string {
  const d = new Date(ms).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 23)}123`;
}

/** Dialogs, registrations and pings in turn, each message 10 ms after the one before. */
function events(): SipEvent[] {
  const shapes: [string, number][][] = [
    [['INVITE', 0], ['INVITE', 100], ['INVITE', 180], ['INVITE', 200], ['ACK', 0], ['BYE', 0], ['BYE', 200]],
    [['REGISTER', 0], ['REGISTER', 401], ['REGISTER', 0], ['REGISTER', 200]],
    [['OPTIONS', 0], ['OPTIONS', 200]],
  ];
  const out: SipEvent[] = [];
  for (let c = 0; out.length < N; c++) {
    const client = `198.51.100.${c % 250}`;
    for (const [method, status] of shapes[c % 3]!) {
      if (out.length === N) break;
      const i = out.length;
      const request = status === 0;
      out.push({
        v: 1, id: `tollgate.hep.sip/${c % P}/${1_000_000 + i}`, ts: ts(T0 + i * 10), src_ip: request ? client : '203.0.113.1', src_port: 5060,
        dst_ip: request ? '203.0.113.1' : client, dst_port: 5060, transport: 'UDP', method, status, call_id: `call-${c}@example.test`, cseq: method === 'BYE' ? 2 : 1,
        kind: request ? (method === 'REGISTER' ? 'register' : method === 'INVITE' ? 'invite' : 'request') : status < 200 ? 'provisional'
          : method === 'REGISTER' ? (status === 401 ? 'register_challenge' : 'register_ok') : method === 'INVITE' ? 'invite_answered' : 'response_ok',
        from_user: `user${c % 500}`, from_domain: 'pbx.example', to_user: '+4930123456', to_domain: 'pbx.example', ruri_user: '+4930123456',
        ruri_domain: 'pbx.example', user_agent: 'Yealink SIP-T46S 66.86.0.15', auth_user: status === 0 && method === 'REGISTER' ? `user${c % 500}` : '',
        tenant: 'default', domain: 'pbx.example',
      });
    }
  }
  return out;
}

const stack = await ensureLocalStack();
const kafka = new Kafka({ clientId: 'tollgate-bench', brokers: [...stack.kafkaBrokers], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const all = events();
const batches: SipEvent[][] = [];
for (let i = 0; i < all.length; i += 20_000) batches.push(all.slice(i, i + 20_000));
const sides: { label: string; topic: string; encode: (es: SipEvent[]) => EventRecord[]; values: Buffer[] }[] = [
  { label: 'v1 records', topic: uniqueName('bench_guard_v1'), encode: singleEventRecords, values: [] },
  { label: 'v2 containers', topic: uniqueName('bench_guard_v2'), encode: (es) => containerRecords(es, P), values: [] },
];
try {
  await admin.createTopics({ topics: sides.map((s) => ({ topic: s.topic, numPartitions: P })), waitForLeaders: true });
  for (const s of sides) {
    for (const b of batches) {
      const records = s.encode(b);
      s.values.push(...records.map((r) => r.value));
      // In slices under the broker's 1 MiB per-partition batch, as the analyzer sends them.
      for (const slice of sliceByBytes(records, 512 * 1024)) {
        await producer.send({ topic: s.topic, acks: -1, messages: slice.map((r) => ({ key: r.key, value: r.value, partition: partitionFor(r.key, P) })) });
      }
    }
  }

  const engine = () => new DetectorEngine(loadRules(undefined), new Allowlist([]), HIGH_RISK);
  async function consume(topic: string): Promise<number> {
    const e = engine();
    const consumer = kafka.consumer({ groupId: uniqueName('bench-guard'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let read = 0;
    let c0: NodeJS.CpuUsage | undefined;
    let used = 0;
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        partitionsConsumedConcurrently: 4,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          c0 ??= process.cpuUsage();
          for (const m of batch.messages) {
            const r = readEventRecord(m.value, false);
            for (const ev of r.events) e.sip(ev);
            read += r.events.length;
            resolveOffset(m.offset);
          }
          await heartbeat();
          if (read === N) {
            const c = process.cpuUsage(c0);
            used = c.user + c.system;
            resolve();
          }
        },
      }).catch(reject);
    });
    await consumer.disconnect();
    return used / N;
  }
  function readerOnly(values: Buffer[]): number {
    const c0 = process.cpuUsage();
    let n = 0;
    for (const v of values) n += readEventRecord(v, false).events.length;
    const c = process.cpuUsage(c0);
    if (n !== N) throw new Error(`read ${n} of ${N}`);
    return (c.user + c.system) / N;
  }

  const kafkaCpu = sides.map(() => [] as number[]);
  const readerCpu = sides.map(() => [] as number[]);
  for (const s of sides) readerOnly(s.values); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < sides.length; j++) {
      const k = (j + r) % sides.length;
      kafkaCpu[k]!.push(await consume(sides[k]!.topic));
      readerCpu[k]!.push(readerOnly(sides[k]!.values));
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  console.log(`${N} events, ${ROUNDS} interleaved rounds, node ${process.version}; guard CPU µs per event (median, min-max)`);
  for (const [k, s] of sides.entries()) {
    console.log(`  ${s.label.padEnd(14)} ${s.values.length} records: Kafka fetch + reader + detectors ${median(kafkaCpu[k]!).toFixed(2)} `
      + `(${Math.min(...kafkaCpu[k]!).toFixed(2)}-${Math.max(...kafkaCpu[k]!).toFixed(2)}); reader alone ${median(readerCpu[k]!).toFixed(2)}`);
  }
  console.log(`  ratio v2 / v1: with Kafka ×${(median(kafkaCpu[1]!) / median(kafkaCpu[0]!)).toFixed(2)}, reader alone ×${(median(readerCpu[1]!) / median(readerCpu[0]!)).toFixed(2)}`);
} finally {
  await producer.disconnect();
  await admin.deleteTopics({ topics: sides.map((s) => s.topic) }).catch(() => undefined);
  await admin.disconnect();
}
