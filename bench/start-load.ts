/**
 * `npm start` under UDP HEP load: starts the whole platform (an entry point: `scripts/start.ts` by default, or the
 * old all-in-one `services/main.ts` of an earlier checkout with --cwd) against the configured Kafka / ClickHouse on
 * a fresh database and topic prefix, then for each rate sends the SIP mix of bench/hep-load.ts for the window and
 * reports, per rate: packets sent, kernel drops on the HEP socket (the `drops` column of /proc/net/udp for that
 * port, so other programs' UDP traffic is not counted), records that reached Kafka (high watermarks of the run's
 * hep.* topics) and rows in `sip_messages` once the analyzer caught up (or what it had when the wait ended).
 * Every service process is sampled (CPU seconds, RSS) from /proc every `--sampleSeconds`: each line also gives the
 * rows written by the time the load ended, per-core rates (collectors: records in Kafka ÷ their CPU seconds over
 * the window; analyzers: rows ÷ their CPU seconds until caught up) and, per process, RSS first/last/peak and its
 * slope over the second half of the window (the memory soak: `--rates 30000 --duration 600`).
 *
 * KAFKA_BROKERS=127.0.0.1:9092 CLICKHOUSE_URL=http://127.0.0.1:8123 \
 *   npx tsx bench/start-load.ts --rates 10000,20000,30000 --duration 15 [--cwd DIR --entry services/main.ts]
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createClickhouseStore } from '../services/shared/clickhouse/client.ts';
import { topicCatalogue } from '../services/shared/kafka/topics.ts';
import { uniqueName } from '../test/support/stack.ts';
import { udpSockets } from '../test/support/ports.ts';
import { ProcessSampler } from './support/process-tree.ts';

const { values } = parseArgs({ options: {
  rates: { type: 'string', default: '10000,20000,30000' }, duration: { type: 'string', default: '15' },
  cwd: { type: 'string', default: process.cwd() }, entry: { type: 'string', default: 'scripts/start.ts' },
  port: { type: 'string', default: '20560' }, apiPort: { type: 'string', default: '20580' },
  catchUp: { type: 'string', default: '180' }, sampleSeconds: { type: 'string', default: '10' },
} });
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const chUrl = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const port = Number(values.port);
const database = uniqueName('tg_startload');
const prefix = `${database}.`;
const spool = `/tmp/${database}-spool`;

function udpDrops(p: number): number {
  return udpSockets(p).reduce((drops, f) => drops + Number(f[f.length - 1]), 0);
}

const child = spawn(process.execPath, ['--import', 'tsx', values.entry!], {
  cwd: values.cwd,
  env: { ...process.env, KAFKA_BROKERS: brokers.join(','), CLICKHOUSE_URL: chUrl, CLICKHOUSE_DATABASE: database, KAFKA_TOPIC_PREFIX: prefix,
    HEP_PORT: String(port), API_PORT: values.apiPort, PUBLISH_SPOOL_DIR: spool, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
const deadline = Date.now() + 180_000;
while (!out.includes('tollgate is running:')) {
  if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tollgate did not start:\n${out}`);
  await new Promise((r) => setTimeout(r, 200));
}
const sampler = new ProcessSampler(child.pid!, Number(values.sampleSeconds) * 1000);
const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const ch = createClickhouseStore({ url: chUrl, user: 'default', database });
const hepTopics = topicCatalogue(prefix, 1, 1).map((t) => t.name).filter((t) => t.includes('.hep.'));
const inKafka = async (): Promise<number> => {
  let n = 0;
  for (const topic of hepTopics) for (const o of await admin.fetchTopicOffsets(topic)) n += Number(o.high);
  return n;
};
const rows = async (): Promise<number> => Number((await ch.query<{ n: string }>('SELECT count() AS n FROM sip_messages'))[0]?.n ?? 0);

const results = [];
try {
  for (const rate of values.rates!.split(',').map(Number)) {
    const [d0, k0, r0] = [udpDrops(port), await inKafka(), await rows()];
    sampler.sample();
    const tLoad = Date.now();
    const load = spawn(process.execPath, ['--import', 'tsx', 'bench/hep-load.ts', '--rate', String(rate), '--duration', values.duration!, '--port', String(port)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let loadOut = '';
    load.stdout!.on('data', (d: Buffer) => (loadOut += d.toString()));
    await new Promise((r) => load.once('exit', r));
    sampler.sample();
    const tLoadEnd = Date.now();
    const rowsAtLoadEnd = (await rows()) - r0;
    const sent = (JSON.parse(loadOut.trim()) as { sent: number; achievedRate: number }).sent;
    const achievedRate = (JSON.parse(loadOut.trim()) as { achievedRate: number }).achievedRate;
    const drops = udpDrops(port) - d0;
    const expect = sent - drops;
    let k = 0;
    const kd = Date.now() + 60_000;
    while ((k = (await inKafka()) - k0) < expect && Date.now() < kd) await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    let r = 0;
    const rd = Date.now() + Number(values.catchUp) * 1000;
    while ((r = (await rows()) - r0) < k && Date.now() < rd) await new Promise((res) => setTimeout(res, 1000));
    sampler.sample();
    const tDone = Date.now();
    const window = sampler.cpuBetween(tLoad, tLoadEnd);
    const toDone = sampler.cpuBetween(tLoad, tDone);
    const cpu = Object.fromEntries(Object.entries(toDone).map(([svc, sec]) => [svc, Math.round(sec * 10) / 10]));
    const perCore = (n: number, sec: number | undefined): number | null => (sec === undefined || sec <= 0 ? null : Math.round(n / sec));
    const line = {
      rate, achievedRate, sent, kernelDrops: drops, inKafka: k, inSipMessages: r, rowsAtLoadEnd,
      analyzerCatchUpS: Math.round((Date.now() - t0) / 1000),
      cpuSecondsUntilCaughtUp: cpu,
      collectorPerCore: perCore(k, window['collector']), analyzerPerCore: perCore(r, toDone['analyzer']),
      memory: sampler.memory(tLoad, tLoadEnd),
    };
    results.push(line);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
} finally {
  sampler.stop();
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  await admin.deleteTopics({ topics: topicCatalogue(prefix, 1, 1).map((t) => t.name) }).catch(() => undefined);
  await admin.disconnect();
  await ch.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database }).catch(() => undefined);
  await ch.close();
  rmSync(spool, { recursive: true, force: true });
}
