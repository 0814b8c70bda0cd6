/**
 * End-to-end collector throughput: the collector runs in its own process (services/collector/main.ts) against the
 * Kafka of the local stack; bench/hep-load.ts sends at rising rates, one sustained window per rate. For each rate:
 * sent vs records in Kafka (sum of the topics' high watermarks), drops by reason, receive->Kafka-ack p50/p99 (the
 * publisher's histogram, bucket resolution), collector CPU (utime+stime over the window) and peak RSS (VmHWM).
 * Run: npx tsx bench/collector.bench.ts --transport udp --rates 10000,20000,40000 --duration 20
 * The collector inherits the environment, so PUBLISH_KAFKA_CLIENT / PUBLISH_HEADERS select what is measured.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { topicCatalogue } from '../services/shared/kafka/topics.ts';
import { ensureLocalStack } from '../test/support/stack.ts';
import { procStat, runLoad, startCollector } from './support/collector-process.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'udp' }, rates: { type: 'string', default: '10000,20000,40000' },
  duration: { type: 'string', default: '20' },
} });
const { kafkaBrokers } = await ensureLocalStack();
const kafka = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
function quantile(text: string, q: number): number | undefined {
  const rows = text.split('\n')
    .filter((l) => l.startsWith('tollgate_collector_receive_to_ack_seconds_bucket{') && l.includes('source="memory"'))
    .map((l) => {
      const le = /le="([^"]+)"/.exec(l)![1]!;
      return { le: le === '+Inf' ? Infinity : Number(le), n: Number(l.slice(l.lastIndexOf(' ') + 1)) };
    });
  const total = rows.at(-1)?.n ?? 0;
  if (total === 0) return undefined;
  return rows.find((r) => r.n >= q * total)?.le;
}

async function kafkaCount(prefix: string): Promise<number> {
  let n = 0;
  for (const t of topicCatalogue(prefix, 1, 1).filter((x) => x.name.includes('.hep.'))) {
    for (const p of await admin.fetchTopicOffsets(t.name)) n += Number(p.high);
  }
  return n;
}

const results = [];
for (const rate of values.rates!.split(',').map(Number)) {
  const collector = await startCollector(kafkaBrokers, 'bench');
  const { prefix, metricsPort } = collector;
  const before = procStat(collector.child.pid!);
  const sent = await runLoad({ transport: values.transport!, rate, seconds: Number(values.duration), port: collector.hepPort }).done;
  // Let the publisher drain, then read everything.
  let inKafka = 0;
  for (let i = 0; i < 60; i++) {
    inKafka = await kafkaCount(prefix);
    if (inKafka >= sent.sent) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const after = procStat(collector.child.pid!);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const drops = [...metrics.matchAll(/tollgate_collector_dropped_total\{reason="([^"]+)"[^}]*\} (\d+)/g)].map((m) => `${m[1]}=${m[2]}`);
  const row = {
    transport: values.transport, client: process.env.PUBLISH_KAFKA_CLIENT ?? 'default', headers: process.env.PUBLISH_HEADERS ?? 'default', rate, sent: sent.sent, achievedRate: sent.achievedRate, inKafka, lost: sent.sent - inKafka,
    drops: drops.join(',') || 'none', p50ms: (quantile(metrics, 0.5) ?? NaN) * 1000, p99ms: (quantile(metrics, 0.99) ?? NaN) * 1000,
    cpuPct: Math.round(((after.cpuSec - before.cpuSec) / sent.seconds) * 100), peakRssMb: Math.round(after.hwmKb / 1024),
  };
  results.push(row);
  console.log(JSON.stringify(row));
  await collector.stop(admin);
}
console.table(results);
await admin.disconnect();
