/**
 * Analyzer end to end: capture envelopes already in Kafka → the standalone analyzer (its production entry point,
 * in its own process) → ClickHouse rows, measured until the consumer group has committed everything. Reports
 * records/s, where the time went (the analyzer's own insert/batch histograms, its CPU, and a pure in-process run
 * of decode + parse + correlation over the same records), and ClickHouse bytes per stored message.
 *
 * CPU per message and per-core rate. The analyzer's user+system CPU comes from the kernel (/proc/<pid>/stat), read
 * just before it is stopped. Its start-up (tsx compile, migrations check, group join) is measured in the same run by
 * starting the same analyzer on a second, empty database and topic set, waiting until it has joined and is idle,
 * and reading its CPU: steady CPU = whole-life CPU − that start-up CPU. "Per core" =
 * messages ÷ steady CPU seconds: what one core of analyzer does, whatever else the shared box runs. "Total" =
 * messages ÷ wall seconds from the first ledger row.
 *
 * Before/after in one run: `--base <dir>` (a checkout of the base, e.g. `git archive main | tar -x -C <dir>` with
 * node_modules linked in) starts the base's analyzer alternately with this checkout's, `--runs` times each, every
 * run on a fresh database, topic prefix and group; medians over the runs and the ratio are printed at the end.
 *
 * Anchor: with heplify-server built (`bench/support/build-heplify.sh`, or `--heplify <binary>`), each run also gives
 * heplify-server (HOMER's collector: HEP + SIP decode, no database) a 10 s window of the collector bench's SIP mix
 * over TCP at `--heplifyRate`, its CPU per packet read from the kernel the same way; the medians sit beside the
 * analyzer's. It decodes and counts only, so it is the floor of what decoding SIP costs, not a like-for-like store.
 *
 * Node flags: `--nodeArgs "<flags>"` starts this checkout's analyzer (the "after" side) with them, e.g. a V8 heap
 * setting against the same code without it (`--base` a checkout of the same commit).
 *
 *   npx tsx bench/analyzer.bench.ts --sets 3000 --batch 20000 [--events false] [--runs 3 --base <dir>] [--heplify <binary>] [--nodeArgs "<flags>"]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeRecord } from '../services/analyzer/consumer/decode.ts';
import { DialogTracker, RegistrationTracker } from '../services/analyzer/correlation/index.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import { AnalyzerEnv, baseTimeUs, type Outgoing } from '../test/integration/analyzer-harness.ts';
import { captureMix, cpuSeconds, spawnAnalyzerFrom, stopChild, waitJoined } from './support/analyzer-process.ts';
import { HEPLIFY, HEPLIFY_HINT, heplifyBinary, runWindow, type Window } from './support/capture-sides.ts';
import { byTime, sipEnvelope } from '../test/support/sip-scenarios.ts';
import { freePort } from '../test/support/ports.ts';

const { values: args } = parseArgs({
  options: {
    sets: { type: 'string', default: '1000' }, batch: { type: 'string', default: '20000' }, keep: { type: 'boolean', default: false },
    events: { type: 'string', default: 'true' }, runs: { type: 'string', default: '1' }, base: { type: 'string' },
    heplify: { type: 'string' }, heplifyRate: { type: 'string', default: '40000' }, nodeArgs: { type: 'string', default: '' },
  },
});
const SETS = Number(args.sets);
const RUNS = Number(args.runs);
const HERE = fileURLToPath(new URL('..', import.meta.url));
const NODE_ARGS = args.nodeArgs!.split(/\s+/).filter((a) => a !== '');
const nodeArgsOf = (dir: string): string[] => (dir === HERE ? NODE_ARGS : []);

function metric(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (label !== undefined && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface RunFigures {
  messages: number;
  batches: number;
  wallS: number;
  steadyS: number;
  cpuS: number;
  startupCpuS: number;
  insertS: number;
  batchS: number;
  perTable: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Start-up CPU of an analyzer that has nothing to consume (see the file comment). */
async function startupCpu(dir: string, idleEnv: AnalyzerEnv, extra: Record<string, string>): Promise<number> {
  const port = await freePort();
  const idle = spawnAnalyzerFrom(dir, idleEnv, { ...extra, METRICS_PORT: String(port) }, nodeArgsOf(dir));
  try {
    await waitJoined(idleEnv);
    await new Promise((r) => setTimeout(r, 1000));
    return cpuSeconds(idle.pid!);
  } finally {
    await stopChild(idle);
  }
}

async function runOnce(dir: string, label: string, report: boolean, idleEnv: AnalyzerEnv): Promise<RunFigures> {
  const env = new AnalyzerEnv();
  await env.setup();
  try {
    const t0 = baseTimeUs();
    const records: Outgoing[] = byTime(captureMix(SETS, t0, env.prefix)).map((p) => ({ key: p.callId, value: sipEnvelope(p) }));
    const bytesIn = records.reduce((n, r) => n + (r.value?.length ?? 0), 0);
    await env.produce('hepSip', records, 500);
    if (report) process.stdout.write(`${records.length} capture envelopes (${(bytesIn / records.length).toFixed(0)} B average) in Kafka\n`);
    if (report) inProcess(records);

    const port = await freePort();
    const extra = { ANALYZER_BATCH_MAX_ROWS: String(args.batch), ANALYZER_SIP_EVENTS: String(args.events) };
    const child = spawnAnalyzerFrom(dir, env, { ...extra, METRICS_PORT: String(port) }, nodeArgsOf(dir));
    const start = performance.now();
    while ((await env.count('ingest_ledger')) === 0) await new Promise((r) => setTimeout(r, 20));
    const firstBatch = performance.now();
    await env.waitCaughtUp(1_800_000);
    const end = performance.now();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const cpuS = cpuSeconds(child.pid!);
    await stopChild(child);

    const startupCpuS = await startupCpu(dir, idleEnv, extra);

    const f: RunFigures = {
      messages: await env.count('sip_messages'),
      batches: metric(metrics, 'tollgate_analyzer_batch_seconds_count'),
      wallS: (end - start) / 1000,
      steadyS: (end - firstBatch) / 1000,
      cpuS,
      startupCpuS,
      insertS: metric(metrics, 'tollgate_analyzer_insert_seconds_sum'),
      batchS: metric(metrics, 'tollgate_analyzer_batch_seconds_sum'),
      perTable: ['sip_messages', 'calls', 'registrations'].map((t) =>
        `${t} ${metric(metrics, 'tollgate_analyzer_insert_seconds_sum', `table="${t}"`).toFixed(1)} s`).join(', '),
    };
    const steadyCpu = f.cpuS - f.startupCpuS;
    process.stdout.write(`[${label}] ${f.messages} messages in ${f.wallS.toFixed(1)} s from process start ` +
      `(${(f.messages / f.wallS).toFixed(0)}/s), ${f.steadyS.toFixed(1)} s from the first ledger row (${(f.messages / f.steadyS).toFixed(0)}/s total); ` +
      `${f.batches} batches; analyzer CPU ${f.cpuS.toFixed(2)} s − start-up ${f.startupCpuS.toFixed(2)} s = ${steadyCpu.toFixed(2)} s → ` +
      `${((steadyCpu * 1e6) / f.messages).toFixed(1)} µs/message, ${(f.messages / steadyCpu).toFixed(0)} messages/s per analyzer core\n`);
    if (report) {
      process.stdout.write(`time in batches ${f.batchS.toFixed(1)} s, of which ClickHouse inserts ${f.insertS.toFixed(1)} s (summed over concurrent ` +
        `table inserts: ${f.perTable})\n`);
      await storage(env, f.messages);
    }
    return f;
  } finally {
    if (!args.keep) await env.cleanup();
  }
}

/** Pure CPU path, in this process: envelope → HEP → SIP parse → rows → trackers, no I/O. The first pass warms the
 * JIT; the second is reported, as CPU time of this process. */
function inProcess(records: readonly Outgoing[]): void {
  const tenants = TenantMap.parse('a.example=acme', 'default');
  for (let pass = 0; pass < 2; pass++) {
    const d = new DialogTracker();
    const r = new RegistrationTracker();
    let i = 0;
    let decodeUs = 0;
    const c0 = process.cpuUsage();
    for (const rec of records) {
      const a = process.cpuUsage();
      const out = decodeRecord(rec.value, { topic: 't', topicKind: 'sip', partition: 0, offset: i++, kafkaTimestampMs: 0 }, tenants);
      const b = process.cpuUsage(a);
      decodeUs += b.user + b.system;
      if (out.kind === 'sip') {
        d.observe(out.observed);
        r.observe(out.observed);
      }
    }
    const c = process.cpuUsage(c0);
    const allUs = c.user + c.system;
    if (pass === 1) {
      process.stdout.write(`in-process, CPU time: decode + parse + rows ${(decodeUs / records.length).toFixed(1)} µs/record ` +
        `(coarse: per-record cpuUsage calls included); with correlation ${(allUs / records.length).toFixed(1)} µs/record ` +
        `(${(records.length / (allUs / 1e6)).toFixed(0)} records per CPU second)\n`);
    }
  }
}

async function storage(env: AnalyzerEnv, messages: number): Promise<void> {
  const parts = await env.store.query<{ table: string; rows: string; disk: string; compressed: string; uncompressed: string }>(
    `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS disk, sum(data_compressed_bytes) AS compressed,
            sum(data_uncompressed_bytes) AS uncompressed
     FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table ORDER BY table`);
  for (const p of parts) {
    if (Number(p.rows) === 0) continue;
    process.stdout.write(`  ${p.table}: ${p.rows} rows, ${(Number(p.disk) / Number(p.rows)).toFixed(1)} B/row on disk ` +
      `(${(Number(p.uncompressed) / Number(p.rows)).toFixed(0)} B/row uncompressed)\n`);
  }
  // Small parts are written in the compact format (all columns in one file), which has no per-column sizes; merge
  // into one part per partition first so system.columns reports them where the parts are wide.
  await env.store.command('OPTIMIZE TABLE sip_messages FINAL');
  const cols = await env.store.query<{ name: string; c: string }>(
    `SELECT name, data_compressed_bytes AS c FROM system.columns WHERE database = currentDatabase() AND table = 'sip_messages'
     ORDER BY data_compressed_bytes DESC LIMIT 5`);
  const [disk] = await env.store.query<{ b: string }>(
    "SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE database = currentDatabase() AND table = 'sip_messages' AND active");
  process.stdout.write(`  sip_messages after merge: ${(Number(disk!.b) / messages).toFixed(1)} B/message on disk; largest columns (compressed B/message): ` +
    `${cols.map((c) => `${c.name} ${(Number(c.c) / messages).toFixed(1)}`).join(', ')}\n`);
}

const sides = args.base === undefined ? [{ label: 'this', dir: HERE }] : [{ label: 'before', dir: args.base }, { label: 'after', dir: HERE }];
const figures = new Map<string, RunFigures[]>(sides.map((s) => [s.label, []]));
const heplify = heplifyBinary(args.heplify);
if (heplify === undefined) process.stdout.write(`no anchor: ${HEPLIFY_HINT}\n`);
const anchor: Window[] = [];
const idleEnv = new AnalyzerEnv();
await idleEnv.setup();
try {
  for (let r = 0; r < RUNS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) figures.get(s.label)!.push(await runOnce(s.dir, s.label, r === 0 && s.label !== 'before', idleEnv));
    if (heplify !== undefined) {
      const w = await runWindow(HEPLIFY, Number(args.heplifyRate), r, { transport: 'tcp', seconds: 10, connections: 1, heplify, admin: undefined as never, kafkaBrokers: [] });
      anchor.push(w);
      process.stdout.write(`[anchor] heplify-server: ${w.counted} of ${w.sent} packets, ${w.cpuUsPerPacket.toFixed(1)} µs CPU/packet, ${w.perCore} packets/s per core\n`);
    }
  }
} finally {
  await idleEnv.cleanup();
}
if (RUNS > 1 || sides.length > 1) {
  process.stdout.write(`\nmedians over ${RUNS} run(s) per side (${args.events === 'false' ? 'events off' : 'events on'}, batch ${args.batch}):\n`);
  const summary = new Map<string, { us: number; perCore: number; total: number }>();
  for (const s of sides) {
    const fs = figures.get(s.label)!;
    const us = median(fs.map((f) => ((f.cpuS - f.startupCpuS) * 1e6) / f.messages));
    const perCore = median(fs.map((f) => f.messages / (f.cpuS - f.startupCpuS)));
    const total = median(fs.map((f) => f.messages / f.steadyS));
    const life = median(fs.map((f) => (f.cpuS * 1e6) / f.messages));
    summary.set(s.label, { us, perCore, total });
    process.stdout.write(`  ${s.label.padEnd(7)} ${us.toFixed(1)} µs CPU/message steady (${life.toFixed(1)} with start-up), ` +
      `${perCore.toFixed(0)} messages/s per analyzer core, ${total.toFixed(0)} messages/s total from the first batch\n`);
  }
  const b = summary.get('before');
  const a = summary.get('after');
  if (a !== undefined && b !== undefined) {
    process.stdout.write(`  after/before: CPU per message ×${(a.us / b.us).toFixed(2)}, per-core rate ×${(a.perCore / b.perCore).toFixed(2)}\n`);
  }
  if (anchor.length > 0) {
    const us = median(anchor.map((w) => w.cpuUsPerPacket));
    const mine = (a ?? summary.get('this'))!;
    process.stdout.write(`  anchor  heplify-server (decode only, no database) ${us.toFixed(1)} µs CPU/packet, ${(1e6 / us).toFixed(0)} packets/s per core; ` +
      `analyzer per core ÷ heplify-server per core ×${(mine.perCore / (1e6 / us)).toFixed(2)}\n`);
  }
}
