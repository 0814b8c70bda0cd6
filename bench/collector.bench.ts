/**
 * End-to-end collector throughput: the collector runs in its own process (services/collector/main.ts) against the
 * Kafka of the local stack; bench/hep-load.ts sends at rising rates, one sustained window per rate. For each rate:
 * sent vs records in Kafka (sum of the topics' high watermarks), drops by reason, receive->Kafka-ack p50/p99 (the
 * publisher's histogram, bucket resolution), collector CPU (utime+stime over the window) and peak RSS (VmHWM).
 * Run: npx tsx bench/collector.bench.ts --transport udp --rates 10000,20000,40000 --duration 20
 * The collector inherits the environment, so PUBLISH_KAFKA_CLIENT / PUBLISH_HEADERS select what is measured.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { topicCatalogue } from '../services/shared/kafka/topics.ts';
import { freePort } from '../test/support/kamailio.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'udp' }, rates: { type: 'string', default: '10000,20000,40000' },
  duration: { type: 'string', default: '20' },
} });
const { kafkaBrokers } = await ensureLocalStack();
const kafka = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const CLK = 100; // USER_HZ

function procStat(pid: number): { cpuSec: number; hwmKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuSec: (Number(f[11]) + Number(f[12])) / CLK, hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) };
}

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
  const prefix = `${uniqueName('bench')}.`;
  const hepPort = await freePort();
  const metricsPort = await freePort();
  const spool = mkdtempSync(join(tmpdir(), 'tg-bench-spool-'));
  const collector = spawn(process.execPath, ['--import', 'tsx', 'services/collector/main.ts'], {
    env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: prefix, HEP_PORT: String(hepPort),
      METRICS_PORT: String(metricsPort), PUBLISH_SPOOL_DIR: spool, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', KAFKA_PARTITIONS: '6' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    collector.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('collector is running')) resolve();
    });
    collector.once('exit', (c) => reject(new Error(`collector exited ${c}`)));
  });
  const before = procStat(collector.pid!);
  const load = spawn(process.execPath, ['--import', 'tsx', 'bench/hep-load.ts', '--transport', values.transport!, '--rate', String(rate),
    '--duration', values.duration!, '--port', String(hepPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let loadOut = '';
  load.stdout!.on('data', (d: Buffer) => { loadOut += d.toString(); });
  await new Promise((r) => load.once('exit', r));
  const sent = JSON.parse(loadOut.trim()) as { sent: number; achievedRate: number; seconds: number };
  // Let the publisher drain, then read everything.
  let inKafka = 0;
  for (let i = 0; i < 60; i++) {
    inKafka = await kafkaCount(prefix);
    if (inKafka >= sent.sent) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const after = procStat(collector.pid!);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const drops = [...metrics.matchAll(/tollgate_collector_dropped_total\{reason="([^"]+)"[^}]*\} (\d+)/g)].map((m) => `${m[1]}=${m[2]}`);
  const row = {
    transport: values.transport, client: process.env.PUBLISH_KAFKA_CLIENT ?? 'default', headers: process.env.PUBLISH_HEADERS ?? 'default', rate, sent: sent.sent, achievedRate: sent.achievedRate, inKafka, lost: sent.sent - inKafka,
    drops: drops.join(',') || 'none', p50ms: (quantile(metrics, 0.5) ?? NaN) * 1000, p99ms: (quantile(metrics, 0.99) ?? NaN) * 1000,
    cpuPct: Math.round(((after.cpuSec - before.cpuSec) / sent.seconds) * 100), peakRssMb: Math.round(after.hwmKb / 1024),
  };
  results.push(row);
  console.log(JSON.stringify(row));
  collector.kill('SIGTERM');
  await new Promise((r) => collector.once('exit', r));
  rmSync(spool, { recursive: true, force: true });
  await admin.deleteTopics({ topics: topicCatalogue(prefix, 1, 1).map((t) => t.name), timeout: 10_000 }).catch(() => undefined);
}
console.table(results);
await admin.disconnect();
