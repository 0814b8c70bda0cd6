/**
 * The collector's hot path in one process, without the socket and without the load generator's process beside it:
 * received packets (each in its own buffer, as a datagram arrives) → intake (scan, route, envelope) → publisher
 * (memory queue, batches, linger) → the production Kafka adapter (idempotent, acks=all) into the local stack's
 * Kafka. Packets are fed at a fixed rate on a 1 ms timer; a window ends when every record is acknowledged. Variants
 * (intake and publisher settings) run interleaved, the order reversed every other round, each window with a fresh
 * intake, publisher and producer. Figure: CPU µs per packet of this process (process.cpuUsage) from the first packet
 * to the last acknowledgement, median over rounds, and records per produce request.
 *
 * Why beside bench/collector.bench.ts: on a shared 2-core box the end-to-end windows at 40k/s often fall into the
 * publisher's spool when the broker stalls (~2.5x CPU per packet), which buries differences of 5-10%. Here the
 * queue is large enough (512 MiB) to ride out a stall, and no second process competes for the same core.
 *
 * Run: npx tsx bench/capture-pipeline.bench.ts [--rate 20000] [--seconds 5] [--rounds 5] [--transport udp|tcp]
 *      [--match <substring>]
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Intake } from '../services/collector/intake.ts';
import { KafkaPublisher } from '../services/collector/publish/publisher.ts';
import { senderFromSocket } from '../services/shared/hep/index.ts';
import { PlatformaticRecordProducer } from '../services/shared/kafka/platformatic-producer.ts';
import { topicCatalogue } from '../services/shared/kafka/topics.ts';
import { sipMix } from '../test/support/hep-sender.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const { values } = parseArgs({ options: {
  rate: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '5' },
  match: { type: 'string', default: '' }, transport: { type: 'string', default: 'udp' },
} });
/** udp: every packet in its own buffer, as a datagram arrives; tcp: the packets of one tick in one buffer, as a read. */
const TCP = values.transport === 'tcp';
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);

interface Variant { readonly slab: number; readonly keyInEnvelope: boolean; readonly lingerMs: number }
const variants: Record<string, Variant> = {
  'before: no slab, keys in packets, linger 5 ms': { slab: 0, keyInEnvelope: false, lingerMs: 5 },
  'slab, keys in packets, linger 5 ms': { slab: 256 * 1024, keyInEnvelope: false, lingerMs: 5 },
  'slab, keys in envelope, linger 5 ms': { slab: 256 * 1024, keyInEnvelope: true, lingerMs: 5 },
  'now: slab, keys in envelope, linger 20 ms': { slab: 256 * 1024, keyInEnvelope: true, lingerMs: 20 },
  'slab, keys in envelope, linger 50 ms': { slab: 256 * 1024, keyInEnvelope: true, lingerMs: 50 },
};
const names = Object.keys(variants).filter((n) => n.includes(values.match!));

const { kafkaBrokers } = await ensureLocalStack();
const admin = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const prefix = `${uniqueName('pipeline')}.`;
const topics = topicCatalogue(prefix, 6, 1).filter((t) => t.name.includes('.hep.'));
await admin.createTopics({ topics: topics.map((t) => ({ topic: t.name, numPartitions: 6 })), waitForLeaders: true });

const mix = sipMix(4000, 42).map((m) => m.bytes);
const from = Intake.sender('127.0.0.1', 40000, senderFromSocket('127.0.0.1', 40000)!, true);

/** Like a datagram: its own ArrayBuffer, exactly its size. */
function received(bytes: Buffer): Buffer {
  const b = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(b);
  return b;
}

async function window(name: string): Promise<{ us: number; perRequest: number }> {
  const v = variants[name]!;
  const intake = new Intake({ topicPrefix: prefix, headers: 'none', decode: 'lazy', envelopeSlabBytes: v.slab, keyInEnvelope: v.keyInEnvelope });
  const producer = new PlatformaticRecordProducer({ brokers: kafkaBrokers, clientId: 'tollgate-bench' });
  let requests = 0;
  const counting = { connect: () => producer.connect(), disconnect: () => producer.disconnect(),
    send: (batch: Parameters<typeof producer.send>[0]) => { requests++; return producer.send(batch); } };
  const publisher = new KafkaPublisher({ producer: counting, lingerMs: v.lingerMs, maxQueueBytes: 512 * 1024 ** 2, maxQueueRecords: 1_000_000 });
  await publisher.start();
  const total = RATE * SECONDS;
  let sent = 0;
  let k = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      const hr = process.hrtime.bigint();
      if (TCP) {
        const packets: Buffer[] = [];
        for (; sent < due; sent++) packets.push(mix[k++ % mix.length]!);
        const chunk = received(Buffer.concat(packets));
        let at = 0;
        for (const p of packets) {
          const r = intake.process(chunk.subarray(at, at + p.length), from, hr, 'tcp');
          at += p.length;
          if (typeof r !== 'string') publisher.offer(r);
        }
      } else {
        for (; sent < due; sent++) {
          const r = intake.process(received(mix[k++ % mix.length]!), from, hr, 'udp');
          if (typeof r !== 'string') publisher.offer(r);
        }
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  while (publisher.stats().acked + publisher.stats().droppedTotal < publisher.stats().offered) await new Promise((r) => setTimeout(r, 2));
  const c = process.cpuUsage(c0);
  const s = publisher.stats();
  await publisher.close();
  if (s.droppedTotal > 0) console.log(`  ${name}: ${s.droppedTotal} dropped`);
  return { us: (c.user + c.system) / s.acked, perRequest: s.acked / requests };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`capture pipeline in one process (${TCP ? 'tcp: one buffer per tick' : 'udp: one buffer per packet'}): ${RATE}/s for ${SECONDS} s per window, the load mix, 6 partitions, ${ROUNDS} interleaved rounds; node ${process.version}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
for (const n of names) await window(n); // warm-up
const per = new Map<string, Array<{ us: number; perRequest: number }>>(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const n of r % 2 === 0 ? names : [...names].reverse()) per.get(n)!.push(await window(n));
  process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`);
}
const base = median(per.get(names[0]!)!.map((x) => x.us));
for (const n of names) {
  const xs = per.get(n)!;
  const us = median(xs.map((x) => x.us));
  console.log(`  ${n.padEnd(44)} ${us.toFixed(2).padStart(6)} µs/packet  ${(base / us).toFixed(2)}x of the first  ${Math.round(median(xs.map((x) => x.perRequest)))} records/request   rounds: ${xs.map((x) => x.us.toFixed(2)).join(', ')}`);
}
await admin.deleteTopics({ topics: topics.map((t) => t.name), timeout: 10_000 }).catch(() => undefined);
await admin.disconnect();
