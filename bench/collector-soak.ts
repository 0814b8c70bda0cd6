/**
 * Memory soak: the collector (own process) under a steady HEP load for a long window; samples RSS and V8 heap every
 * 10 s and prints the trend. "Flat" means the heap after warm-up does not grow: the slope over the second half of
 * the run is reported in MB/min next to the first and last samples.
 * Run: npx tsx bench/collector-soak.ts --transport udp --rate 20000 --minutes 10
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ensureLocalStack } from '../test/support/stack.ts';
import { procStat, runLoad, startCollector } from './support/collector-process.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'udp' }, rate: { type: 'string', default: '20000' }, minutes: { type: 'string', default: '10' },
} });
const minutes = Number(values.minutes);
const { kafkaBrokers } = await ensureLocalStack();
const collector = await startCollector(kafkaBrokers, 'soak');
const { metricsPort } = collector;

function rssMb(): number {
  return procStat(collector.child.pid!).rssKb / 1024;
}
async function heapMb(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = /^tollgate_nodejs_heap_size_used_bytes\{[^}]*\} ([\d.e+]+)$/m.exec(text);
  return m ? Number(m[1]) / 1024 / 1024 : NaN;
}

const load = runLoad({ transport: values.transport!, rate: Number(values.rate), seconds: minutes * 60, port: collector.hepPort });

const samples: { min: number; rssMb: number; heapMb: number }[] = [];
const t0 = Date.now();
let finished = false;
void load.done.then(() => { finished = true; });
while (!finished) {
  await new Promise((r) => setTimeout(r, 10_000));
  const s = { min: (Date.now() - t0) / 60_000, rssMb: rssMb(), heapMb: await heapMb() };
  samples.push(s);
  process.stderr.write(`soak ${s.min.toFixed(1)} min: rss ${s.rssMb.toFixed(0)} MB, heap ${s.heapMb.toFixed(1)} MB\n`);
}

function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
const half = samples.slice(Math.floor(samples.length / 2));
const sent = await load.done;
const summary = {
  transport: values.transport, rate: Number(values.rate), minutes, sent: sent.sent, achievedRate: sent.achievedRate,
  rssFirstMb: Math.round(samples[0]?.rssMb ?? NaN), rssLastMb: Math.round(samples.at(-1)?.rssMb ?? NaN),
  heapFirstMb: Number(samples[0]?.heapMb.toFixed(1)), heapLastMb: Number(samples.at(-1)?.heapMb.toFixed(1)),
  rssSlopeSecondHalfMbPerMin: Number(slope(half.map((s) => ({ x: s.min, y: s.rssMb }))).toFixed(2)),
  heapSlopeSecondHalfMbPerMin: Number(slope(half.map((s) => ({ x: s.min, y: s.heapMb }))).toFixed(2)),
};
console.log(JSON.stringify(summary));
const kafka = new Kafka({ clientId: 'tollgate-soak', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await collector.stop(admin);
await admin.disconnect();
