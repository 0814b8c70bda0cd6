/**
 * The production guard (`services/guard/main.ts`, its own process) on the `sip.events` stream `npm start` makes under
 * `bench/hep-load.ts`: the load's SIP mix (`sipMix(4000, 42)`: INVITE dialogs, REGISTER with a challenge, OPTIONS, from
 * two client addresses, one IPv4 and one IPv6) decoded by the analyzer's own `decodeRecord`, replayed at 40,000
 * messages/s of event time with fresh ids, as v2 containers on a 3-partition topic, 20,000 events per batch as the
 * analyzer publishes them. With so few sources the flood, toll-fraud and scanner windows fill and fire as they do
 * under that load; the guard blocks, alerts and writes to ClickHouse as in production.
 *
 * Per run: a fresh database and topic prefix (the guard restores firing alerts and reads the blocklist topic at
 * start, so runs must not share them), the guard started with warm-up off and left idle until its group is stable,
 * then its kernel CPU (utime + stime, /proc/<pid>/stat) from just before the events are produced until its
 * `tollgate_guard_events_total` counts them all, less its idle CPU rate measured over a few seconds before.
 *
 * `--base <dir>` runs a second checkout (e.g. `git archive main | tar -x -C <dir>`, node_modules linked) the same way,
 * alternating sides and flipping the order each pair: medians and the ratio this ÷ base. `GUARD_CPU_PROF=<dir>`
 * makes every guard started write a V8 CPU profile there when it stops (`bench/profile-summary.ts --kind guard`).
 *
 * `--paced` produces each batch when the analyzer would publish it at `--rate` instead of all at once, and counts the
 * guard's idle work in between (its fetch loop, timers) as part of an event's cost, as under `npm start`.
 *
 *   npx tsx bench/guard-process.bench.ts [--events 200000] [--runs 3] [--base <dir>] [--paced] [--batch 20000] [--rate 40000]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sliceByBytes } from '../services/analyzer/consumer/consumer.ts';
import { decodeRecord } from '../services/analyzer/consumer/decode.ts';
import { containerRecords } from '../services/analyzer/event-records.ts';
import type { SipEvent } from '../services/analyzer/events.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import { partitionFor } from '../services/shared/kafka/partition.ts';
import { sipMix } from '../test/support/hep-sender.ts';
import { envelopeOf } from '../test/support/sip-scenarios.ts';
import { freePort } from '../test/support/ports.ts';
import { AnalyzerEnv, PARTITIONS } from '../test/integration/analyzer-harness.ts';
import { cpuSeconds, waitJoined } from './support/analyzer-process.ts';

const { values: a } = parseArgs({ options: {
  events: { type: 'string', default: '200000' }, runs: { type: 'string', default: '3' }, base: { type: 'string' },
  rate: { type: 'string', default: '40000' }, idle: { type: 'string', default: '3' }, paced: { type: 'boolean', default: false },
  batch: { type: 'string', default: '20000' },
} });
const N = Number(a.events);
const RUNS = Number(a.runs);
const RATE = Number(a.rate);
const HERE = fileURLToPath(new URL('..', import.meta.url));
const BATCH = Number(a.batch);

/** `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), the analyzer's event time. */
function eventTs(us: number): string {
  const d = new Date(Math.floor(us / 1000)).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** The load's packets as the analyzer's events, in send order, once. */
function poolEvents(): SipEvent[] {
  const tenants = TenantMap.parse('', 'default');
  const out: SipEvent[] = [];
  sipMix(4000, 42).forEach((m, i) => {
    const d = decodeRecord(envelopeOf(m.bytes, Date.now() * 1000), { topic: 'hep.sip', topicKind: 'sip', partition: 0, offset: i, kafkaTimestampMs: 0 }, tenants);
    if (d.kind === 'sip' && d.event !== undefined) out.push(d.event);
  });
  return out;
}

/** `N` events cycling through the pool, `1e6 / RATE` µs apart from `t0Us`, ids unique per run. */
function stream(pool: readonly SipEvent[], prefix: string, t0Us: number): SipEvent[] {
  const out: SipEvent[] = [];
  const step = 1e6 / RATE;
  for (let i = 0; i < N; i++) {
    const e = pool[i % pool.length]!;
    out.push({ ...e, id: `${prefix}hep.sip/${i % PARTITIONS}/${i}`, ts: eventTs(t0Us + Math.floor(i * step)) });
  }
  return out;
}

async function metricSum(port: number, name: string, topic: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(`topic="${topic}"`)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

interface RunResult { readonly usPerEvent: number; readonly idleUsPerS: number; readonly seconds: number; readonly alerts: number; readonly blocks: number; readonly peakRssMb: number; readonly rssMb: number }

/** `VmHWM` (peak RSS) and `VmRSS` of a process, MB. */
function rssMb(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

async function run(dir: string, pool: readonly SipEvent[]): Promise<RunResult> {
  const env = new AnalyzerEnv();
  await env.setup();
  const port = await freePort();
  const groupId = `${env.groupId}-guard`;
  const prof = process.env.GUARD_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GUARD_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'services/guard/main.ts'], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env.env({ GUARD_GROUP_ID: groupId, GUARD_WARMUP: '0s', METRICS_PORT: String(port) }) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  try {
    await waitJoined(env, groupId);
    await new Promise((r) => setTimeout(r, 2000));
    const i0 = cpuSeconds(child.pid!);
    const idleMs = Number(a.idle) * 1000;
    await new Promise((r) => setTimeout(r, idleMs));
    const idleUsPerS = ((cpuSeconds(child.pid!) - i0) * 1e6) / (idleMs / 1000);
    const events = stream(pool, env.prefix, Date.now() * 1000);
    const batches = [];
    for (let i = 0; i < events.length; i += BATCH) batches.push(containerRecords(events.slice(i, i + BATCH), PARTITIONS));
    const c0 = cpuSeconds(child.pid!);
    const w0 = performance.now();
    for (const [b, records] of batches.entries()) {
      // --paced: each batch when the analyzer would publish it at RATE messages/s (the guard then reads as they come,
      // as under `npm start`, and its idle work between batches is part of what an event costs).
      if (a.paced) await new Promise((r) => setTimeout(r, Math.max(0, w0 + (b * BATCH * 1000) / RATE - performance.now())));
      for (const slice of sliceByBytes(records, 512 * 1024)) {
        await env.producer.send({ topic: env.topic('sipEvents'), acks: -1, messages: slice.map((r) => ({ key: r.key, value: r.value, partition: partitionFor(Buffer.from(r.key), PARTITIONS) })) });
      }
    }
    const deadline = Date.now() + 600_000;
    while ((await metricSum(port, 'tollgate_guard_events_total', 'sip.events')) < N) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`guard in ${dir} did not read ${N} events:\n${err}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - w0) / 1000;
    const used = (cpuSeconds(child.pid!) - c0) * 1e6 - (a.paced ? 0 : idleUsPerS * seconds);
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    const sum = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const mem = rssMb(child.pid!);
    return { usPerEvent: used / N, idleUsPerS, seconds, alerts: sum('tollgate_guard_alert_changes_total'), blocks: sum('tollgate_guard_blocks_total'), peakRssMb: mem.peak, rssMb: mem.now };
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await env.cleanup();
  }
}

const pool = poolEvents();
const sides = a.base === undefined ? [{ label: 'this', dir: HERE }] : [{ label: 'base', dir: a.base }, { label: 'this', dir: HERE }];
const results = new Map<string, RunResult[]>(sides.map((s) => [s.label, []]));
console.log(`${N} events per run (${pool.length}-event pool of the load's SIP mix, ${RATE}/s event time, batches of ${BATCH}${a.paced ? `, produced at ${RATE}/s` : ', all at once'}), `
  + `${RUNS} run(s) per side, node ${process.version}`);
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const s of order) {
    const x = await run(s.dir, pool);
    results.get(s.label)!.push(x);
    console.log(`  run ${r + 1} ${s.label.padEnd(4)}: ${x.usPerEvent.toFixed(2)} µs CPU per event (idle ${(x.idleUsPerS / 1000).toFixed(1)} ms/s subtracted, `
      + `${x.seconds.toFixed(1)} s to read all; alert changes ${x.alerts}, block decisions ${x.blocks}; RSS ${x.rssMb.toFixed(0)} MB, peak ${x.peakRssMb.toFixed(0)} MB)`.replace('subtracted', a.paced ? 'not subtracted: paced' : 'subtracted'));
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const med = new Map([...results].map(([k, v]) => [k, median(v.map((x) => x.usPerEvent))]));
for (const [k, v] of med) console.log(`${k.padEnd(4)} median ${v.toFixed(2)} µs per event (${Math.round(1e6 / v).toLocaleString('en-US')} events per guard CPU second)`);
if (med.has('base')) console.log(`this ÷ base: ×${(med.get('this')! / med.get('base')!).toFixed(2)}`);
for (const [k, v] of results) console.log(`${k.padEnd(4)} median peak RSS ${median(v.map((x) => x.peakRssMb)).toFixed(0)} MB, RSS after the last event ${median(v.map((x) => x.rssMb)).toFixed(0)} MB`);
