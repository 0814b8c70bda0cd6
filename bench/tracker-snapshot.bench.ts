/**
 * What a partition's tracker snapshot costs the analyzer: the production `PartitionWorker` of this checkout consumes
 * the analyzer bench's capture mix (`captureMix`: answered, busy, cancelled and unanswered calls, REGISTER with and
 * without a failed password, OPTIONS; 31 envelopes per set, one set per 50 ms of capture time) through a sink that
 * keeps nothing, and after every `--every` records its `snapshotState()` (the text a crash-recovery snapshot stores)
 * is taken and charged its own CPU time (`process.cpuUsage()` around the call; descheduled time does not count).
 * The worker's own timed snapshots are off, so the only snapshots are the measured ones, at a fixed cadence. A
 * second figure adds storing it: the checkout's `IngestState.saveSnapshot` into a store that makes the insert body
 * and sends nothing (a JSON insert body as @clickhouse/client makes it for JSONCompactEachRow: `JSON.stringify` of
 * each row and a newline, as UTF-8; a RowBinary body is already made by the caller).
 *
 * Figures, CPU µs per consumed message (snapshot CPU ÷ messages), median of `--rounds` rounds, each a fresh worker
 * over the whole mix, cases interleaved, with and without storing: every 20 000 records (one per analyzer batch, the bench's batch size)
 * and every 2 000 (a partition at 400 messages/s with the default 5 s interval). Also the state's size.
 *
 *   npx tsx bench/tracker-snapshot.bench.ts [--sets 3000] [--rounds 3] [--json]
 * Before/after against another checkout, interleaved: npx tsx bench/compare-base.ts --bench tracker-snapshot --base <dir>
 */
import { parseArgs } from 'node:util';
import { PartitionWorker, type BatchSink, type InputRecord } from '../services/analyzer/consumer/partition.ts';
import { IngestState } from '../services/analyzer/store/ingest-state.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import type { SqlStore } from '../services/shared/clickhouse/client.ts';
import { captureMix } from './support/analyzer-process.ts';
import { byTime, sipEnvelope } from '../test/support/sip-scenarios.ts';

const { values: opt } = parseArgs({ options: {
  sets: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false },
} });
const ROUNDS = Number(opt.rounds);
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) * 1000;
const records: InputRecord[] = byTime(captureMix(Number(opt.sets), T0, 'snap'))
  .map((p, i) => ({ offset: i, value: sipEnvelope(p), timestampMs: Math.floor(p.tsUs / 1000) }));

const nullSink: BatchSink = {
  recordRange: async () => {},
  recordAdvance: async () => {},
  advancesFrom: async () => [],
  insert: async () => {},
  publish: async () => {},
  commit: async () => {},
  saveSnapshot: async () => {},
  latestSnapshot: async () => undefined,
  rangesFrom: async () => [],
};
const hooks = { stopped: () => false, initialMs: 1, maxMs: 2 };
let bodyBytes = 0;
const bodyOnly: SqlStore = {
  command: async () => {},
  query: async () => [],
  stream: async function* () { return; },
  insert: async (_table, rows) => {
    for (const r of rows) bodyBytes += Buffer.from(`${JSON.stringify(Object.values(r))}\n`).length;
  },
  insertBody: async (_table, _columns, body) => {
    if (body.format === 'RowBinary') for (const c of body.chunks) bodyBytes += c.length;
  },
  ping: async () => true,
  close: async () => {},
};
const ingestState = new IngestState(bodyOnly);
const key = { group: 'bench', topic: 'bench.hep.sip', partition: 0 };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** One fresh worker over every record, a snapshot after each `every` records: snapshot CPU µs per message. */
async function once(every: number, store: boolean): Promise<{ usPerMessage: number; snapshots: number; bytes: number }> {
  const w = new PartitionWorker({
    group: 'bench', topic: 'bench.hep.sip', partition: 0, kind: 'sip', maxRows: every,
    tenants: TenantMap.parse('a.example=acme', 'default'), dialogs: {}, registrations: {},
    snapshotIntervalMs: Number.MAX_SAFE_INTEGER, sipRows: 'rowbinary', sipEvents: 'none',
  }, nullSink);
  await w.restore(undefined, 0, hooks);
  let cpuUs = 0;
  let snapshots = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i += every) {
    await w.process(records.slice(i, i + every), hooks);
    const c0 = process.cpuUsage();
    const state = w.snapshotState();
    if (store && state !== undefined) await ingestState.saveSnapshot(key, i + every, 1, state);
    const c = process.cpuUsage(c0);
    cpuUs += c.user + c.system;
    snapshots++;
    bytes += state?.length ?? 0;
  }
  return { usPerMessage: cpuUs / records.length, snapshots, bytes: bytes / snapshots };
}

const cases: Array<{ every: number; store: boolean }> = [
  { every: 20_000, store: false }, { every: 2_000, store: false }, { every: 20_000, store: true }, { every: 2_000, store: true },
];
const names = cases.map((c) => `snapshot${c.store ? ' + store' : ''} every ${c.every / 1000}k`);
for (const c of cases) await once(c.every, c.store);
const samples = cases.map(() => [] as number[]);
const shape = new Map<number, { snapshots: number; bytes: number }>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, c] of cases.entries()) {
    const x = await once(c.every, c.store);
    samples[k]!.push(x.usPerMessage);
    shape.set(k, x);
  }
}
const result: Record<string, number> = {};
names.forEach((name, k) => (result[name] = median(samples[k]!)));
if (opt.json) {
  console.log(JSON.stringify({ unit: 'cpu_us_per_message', rounds: ROUNDS, messages: records.length, result }));
  process.exit(0);
}
console.log(`node ${process.version}; ${records.length.toLocaleString('en-US')} capture envelopes, median of ${ROUNDS} rounds`);
process.stdout.write(`insert bodies made: ${(bodyBytes / 1e6).toFixed(0)} MB\n`);
names.forEach((name, k) => {
  const s = shape.get(k)!;
  const xs = samples[k]!;
  console.log(`${name.padEnd(30)} ${result[name]!.toFixed(3)} µs CPU/message (${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}); ` +
    `${s.snapshots} snapshots of ${Math.round(s.bytes).toLocaleString('en-US')} B on average, ` +
    `${((result[name]! * records.length) / s.snapshots / 1000).toFixed(2)} ms each`);
});
