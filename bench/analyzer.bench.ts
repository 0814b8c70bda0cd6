/**
 * Analyzer end to end: capture envelopes already in Kafka → the standalone analyzer (its production entry point,
 * in its own process) → ClickHouse rows, measured until the consumer group has committed everything. Reports
 * records/s, where the time went (the analyzer's own insert/batch histograms, its CPU, and a pure in-process run
 * of decode + parse + correlation over the same records), and ClickHouse bytes per stored message.
 *
 *   npx tsx bench/analyzer.bench.ts --sets 3000 --batch 20000 [--events false]
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { decodeRecord } from '../services/analyzer/consumer/decode.ts';
import { DialogTracker, RegistrationTracker } from '../services/analyzer/correlation/index.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import { AnalyzerEnv, baseTimeUs, type Outgoing } from '../test/integration/analyzer-harness.ts';
import { byTime, callScenario, optionsScenario, registerScenario, sipEnvelope, type Scenario } from '../test/support/sip-scenarios.ts';

const { values: args } = parseArgs({
  options: { sets: { type: 'string', default: '1000' }, batch: { type: 'string', default: '20000' }, keep: { type: 'boolean', default: false }, events: { type: 'string', default: 'true' } },
});
const SETS = Number(args.sets);
const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'b.example' };

function scenarios(t0: number, prefix: string): Scenario[] {
  const sc: Scenario[] = [];
  for (let i = 0; i < SETS; i++) {
    const t = t0 + i * 50_000;
    sc.push(
      callScenario('answered', `ans-${i}-${prefix}`, t, A, B),
      callScenario('busy', `bsy-${i}-${prefix}`, t + 1, A, B),
      callScenario('cancelled', `can-${i}-${prefix}`, t + 2, A, B),
      callScenario('no_answer', `noa-${i}-${prefix}`, t + 3, A, B),
      registerScenario(`reg-${i}-${prefix}`, t + 4, A),
      registerScenario(`rgf-${i}-${prefix}`, t + 5, A, true),
      optionsScenario(`opt-${i}-${prefix}`, t + 6, A),
    );
  }
  return sc;
}

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

const env = new AnalyzerEnv();
await env.setup();
try {
  const t0 = baseTimeUs();
  const records: Outgoing[] = byTime(scenarios(t0, env.prefix)).map((p) => ({ key: p.callId, value: sipEnvelope(p) }));
  const bytesIn = records.reduce((n, r) => n + (r.value?.length ?? 0), 0);
  await env.produce('hepSip', records, 500);
  process.stdout.write(`${records.length} capture envelopes (${(bytesIn / records.length).toFixed(0)} B average) in Kafka\n`);

  // Pure CPU path, in this process: envelope → HEP → SIP parse → rows → trackers, no I/O. The first pass warms
  // the JIT; the second is reported.
  const tenants = TenantMap.parse('a.example=acme', 'default');
  let cpuRate = 0;
  for (let pass = 0; pass < 2; pass++) {
    const d = new DialogTracker();
    const r = new RegistrationTracker();
    const c0 = performance.now();
    let i = 0;
    let decodeMs = 0;
    for (const rec of records) {
      const a = performance.now();
      const out = decodeRecord(rec.value, { topic: 't', topicKind: 'sip', partition: 0, offset: i++, kafkaTimestampMs: 0 }, tenants);
      decodeMs += performance.now() - a;
      if (out.kind === 'sip') {
        d.observe(out.observed);
        r.observe(out.observed);
      }
    }
    const ms = performance.now() - c0;
    cpuRate = records.length / (ms / 1000);
    if (pass === 1) {
      process.stdout.write(`in-process, one core: decode + parse + rows ${(records.length / (decodeMs / 1000)).toFixed(0)} records/s; ` +
        `with correlation ${cpuRate.toFixed(0)} records/s\n`);
    }
  }

  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const child = env.spawnAnalyzer({ METRICS_PORT: String(port), ANALYZER_BATCH_MAX_ROWS: String(args.batch), ANALYZER_SIP_EVENTS: String(args.events) });
  const start = performance.now();
  while ((await env.count('ingest_ledger')) === 0) await new Promise((r) => setTimeout(r, 20));
  const firstBatch = performance.now();
  await env.waitCaughtUp(1_800_000);
  const end = performance.now();
  const wallS = (end - start) / 1000;
  const steadyS = (end - firstBatch) / 1000;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  child.kill('SIGTERM');
  await once(child, 'exit');

  const messages = await env.count('sip_messages');
  const insertS = metric(metrics, 'tollgate_analyzer_insert_seconds_sum');
  const batchS = metric(metrics, 'tollgate_analyzer_batch_seconds_sum');
  const batches = metric(metrics, 'tollgate_analyzer_batch_seconds_count');
  const cpuS = metric(metrics, 'tollgate_process_cpu_seconds_total');
  const perTable = ['sip_messages', 'calls', 'registrations'].map((t) =>
    `${t} ${metric(metrics, 'tollgate_analyzer_insert_seconds_sum', `table="${t}"`).toFixed(1)} s`).join(', ');
  process.stdout.write(`end to end: ${messages} messages in ${wallS.toFixed(1)} s from process start ` +
    `(${(messages / wallS).toFixed(0)}/s), ${steadyS.toFixed(1)} s from the first ledger row (${(messages / steadyS).toFixed(0)}/s); ${batches} batches\n`);
  process.stdout.write(`time in batches ${batchS.toFixed(1)} s, of which ClickHouse inserts ${insertS.toFixed(1)} s (summed over concurrent ` +
    `table inserts: ${perTable}); analyzer CPU ${cpuS.toFixed(1)} s\n`);

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
} finally {
  if (!args.keep) await env.cleanup();
}
