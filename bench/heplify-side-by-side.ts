/**
 * The capture anchor side by side: heplify-server (HOMER's collector, built from its own source; pass the binary with
 * --heplify) with its cheapest output (no database: decode + Prometheus counters only) against our collector writing
 * to Kafka, on the same load, the same rates and the same machine, in one run. For each rate and each side: packets
 * sent, packets counted (heplify: `heplify_packets_total`; ours: records in Kafka), lost, process CPU share, and
 * packets/s per core of the collector process (packets counted per second ÷ CPU share).
 * Run: npx tsx bench/heplify-side-by-side.ts --heplify <path to heplify-server> --transport udp --rates 20000,40000 --duration 20
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { topicCatalogue } from '../services/shared/kafka/topics.ts';
import { freePort } from '../test/support/kamailio.ts';
import { ensureLocalStack } from '../test/support/stack.ts';
import { procStat, runLoad, startCollector } from './support/collector-process.ts';

const { values } = parseArgs({ options: {
  heplify: { type: 'string' }, transport: { type: 'string', default: 'udp' },
  rates: { type: 'string', default: '20000,40000,60000' }, duration: { type: 'string', default: '20' },
} });
if (!values.heplify) {
  process.stderr.write('usage: --heplify <path to a heplify-server binary> (build it from its source with go build ./cmd/heplify-server)\n');
  process.exit(2);
}
const seconds = Number(values.duration);
const { kafkaBrokers } = await ensureLocalStack();
const admin = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();

async function settle(read: () => Promise<number>, target: number): Promise<number> {
  let last = -1;
  let n = await read();
  for (let i = 0; i < 60 && n < target && n !== last; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    last = n;
    n = await read();
  }
  return n;
}

async function heplifyRun(rate: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-heplify-'));
  const udp = await freePort();
  const tcp = await freePort();
  const prom = await freePort();
  writeFileSync(join(dir, 'heplify-server.toml'), [
    `HEPAddr = "127.0.0.1:${udp}"`, `HEPTCPAddr = "127.0.0.1:${tcp}"`, 'HEPTLSAddr = ""', 'HEPWSAddr = ""',
    `PromAddr = "127.0.0.1:${prom}"`, 'DBAddr = ""', 'LogLvl = "error"', 'LogStd = true', '',
  ].join('\n'));
  const child = spawn(values.heplify!, ['-config', join(dir, 'heplify-server.toml')], { cwd: dir, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1_500));
  const count = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
    return [...text.matchAll(/^heplify_packets_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  };
  const before = procStat(child.pid!);
  const sent = await runLoad({ transport: values.transport!, rate, seconds, port: values.transport === 'tcp' ? tcp : udp }).done;
  const after = procStat(child.pid!);
  const counted = await settle(count, sent.sent);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  const cpu = (after.cpuSec - before.cpuSec) / sent.seconds;
  return { side: 'heplify-server (no DB)', rate, sent: sent.sent, counted, lost: sent.sent - counted,
    cpuPct: Math.round(cpu * 100), perCore: Math.round(counted / sent.seconds / Math.max(cpu, 0.01)), peakRssMb: Math.round(after.hwmKb / 1024) };
}

async function tollgateRun(rate: number): Promise<Record<string, unknown>> {
  const collector = await startCollector(kafkaBrokers, 'side');
  const count = async (): Promise<number> => {
    let n = 0;
    for (const t of topicCatalogue(collector.prefix, 1, 1).filter((x) => x.name.includes('.hep.'))) {
      for (const p of await admin.fetchTopicOffsets(t.name)) n += Number(p.high);
    }
    return n;
  };
  const before = procStat(collector.child.pid!);
  const sent = await runLoad({ transport: values.transport!, rate, seconds, port: collector.hepPort }).done;
  const after = procStat(collector.child.pid!);
  const counted = await settle(count, sent.sent);
  await collector.stop(admin);
  const cpu = (after.cpuSec - before.cpuSec) / sent.seconds;
  return { side: 'tollgate (into Kafka)', rate, sent: sent.sent, counted, lost: sent.sent - counted,
    cpuPct: Math.round(cpu * 100), perCore: Math.round(counted / sent.seconds / Math.max(cpu, 0.01)), peakRssMb: Math.round(after.hwmKb / 1024) };
}

const rows = [];
for (const rate of values.rates!.split(',').map(Number)) {
  for (const run of [heplifyRun, tollgateRun]) {
    const row = { transport: values.transport, ...(await run(rate)) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
console.table(rows);
await admin.disconnect();
