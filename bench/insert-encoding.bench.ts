/**
 * CPU cost of turning the analyzer's rows into an insert body, per row, in one process. The rows are real: the
 * analyzer's own decode (envelope → HEP → SIP → `sip_messages` row) and trackers (→ `calls`, `registrations` rows)
 * over the analyzer bench's scenario mix (answered / busy / cancelled / unanswered INVITEs, REGISTER with a 401
 * challenge, a refused REGISTER, OPTIONS). Variants, per table:
 *
 *   - json: what `ANALYZER_INSERT_FORMAT=json` does (positional arrays with DateTime64 text, then the client's
 *     JSONCompactEachRow encoding: one `JSON.stringify` per row, joined);
 *   - json before: the path before rows carried µs numbers and bytes (rows with text times and `raw` text, made as
 *     the row builder made them, → `toCompactRows` → the same JSON);
 *   - rowbinary: what `ANALYZER_INSERT_FORMAT=rowbinary` does (`encodeRowBinary` from the column spec).
 *
 * Method: interleaved rounds (each variant once per round, order rotated), CPU time of this process
 * (`process.cpuUsage`, user+system) per variant per round; median over the rounds, µs per row; the per-message
 * figure weighs each table by its rows per SIP message in this mix. CPU time, not wall time: the box is shared.
 *
 *   npx tsx bench/insert-encoding.bench.ts [--sets 3000] [--rounds 15]
 */
import { parseArgs } from 'node:util';
import { decodeRecord } from '../services/analyzer/consumer/decode.ts';
import { DialogTracker, RegistrationTracker } from '../services/analyzer/correlation/index.ts';
import { callRow, formatUs, registrationRow, type TableName } from '../services/analyzer/store/rows.ts';
import { CODECS, jsonValues } from '../services/analyzer/store/table-writer.ts';
import { encodeRowBinary } from '../services/analyzer/store/row-binary.ts';
import { toCompactRows } from '../services/shared/clickhouse/client.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import { byTime, callScenario, optionsScenario, registerScenario, sipEnvelope, type Scenario } from '../test/support/sip-scenarios.ts';

const { values: a } = parseArgs({ options: { sets: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '15' } } });
const SETS = Number(a.sets);
const ROUNDS = Number(a.rounds);
const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'b.example' };

const sc: Scenario[] = [];
const t0 = Date.UTC(2026, 10, 30, 11) * 1000;
for (let i = 0; i < SETS; i++) {
  const t = t0 + i * 50_000;
  sc.push(callScenario('answered', `ans-${i}`, t, A, B), callScenario('busy', `bsy-${i}`, t + 1, A, B),
    callScenario('cancelled', `can-${i}`, t + 2, A, B), callScenario('no_answer', `noa-${i}`, t + 3, A, B),
    registerScenario(`reg-${i}`, t + 4, A), registerScenario(`rgf-${i}`, t + 5, A, true), optionsScenario(`opt-${i}`, t + 6, A));
}
const tenants = TenantMap.parse('a.example=acme', 'default');
const rows: Record<'sip_messages' | 'calls' | 'registrations', Record<string, unknown>[]> = { sip_messages: [], calls: [], registrations: [] };
const dialogs = new DialogTracker();
const regs = new RegistrationTracker();
let offset = 0;
for (const p of byTime(sc)) {
  const d = decodeRecord(sipEnvelope(p), { topic: 'hep.sip', topicKind: 'sip', partition: 0, offset: offset++, kafkaTimestampMs: 0 }, tenants);
  if (d.kind !== 'sip') continue;
  rows.sip_messages.push(d.row);
  for (const c of dialogs.observe(d.observed)) rows.calls.push(callRow(c, tenants, 0, d.receivedUs));
  for (const g of regs.observe(d.observed)) rows.registrations.push(registrationRow(g, tenants, 0, d.receivedUs));
}
for (const c of dialogs.advanceTo(Number.MAX_SAFE_INTEGER)) rows.calls.push(callRow(c, tenants, 0, 0));
for (const g of regs.advanceTo(Number.MAX_SAFE_INTEGER)) rows.registrations.push(registrationRow(g, tenants, 0, 0));
const messages = rows.sip_messages.length;

/** What @clickhouse/client does with an array of rows in a JSON format (utils/encoder.js). */
const clientEncode = (values: unknown[]): string => values.map((v) => `${JSON.stringify(v)}\n`).join('');

const timeColumns = (table: TableName) => CODECS[table].columns.filter((_, j) => /DateTime64/.test(CODECS[table].types[j]!.text));

/**
 * The rows as the analyzer built them before (times as text, `raw` as a string), made again in every round as the
 * row builder made them (`formatUs` per time value, `toString` of the payload): the old encoding then ran on fresh
 * (unflattened) strings, as it did in the analyzer.
 */
function textRowsRemade(table: TableName, rs: readonly Record<string, unknown>[], into: Record<string, unknown>[]): void {
  const times = timeColumns(table);
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    const o = into[i]!;
    for (const c of times) if (typeof r[c] === 'number') o[c] = formatUs(r[c] as number);
    if (r['raw'] instanceof Uint8Array) o['raw'] = (r['raw'] as Buffer).toString('utf8');
  }
}

let sink = 0;
type Table = keyof typeof rows;
type Variant = { name: string; table: Table; n: number; run: () => void };
const variants: Variant[] = [];
for (const table of ['sip_messages', 'calls', 'registrations'] as const) {
  const rs = rows[table];
  const textRows = rs.map((r) => ({ ...r }));
  textRowsRemade(table, rs, textRows);
  variants.push(
    { name: 'json (ANALYZER_INSERT_FORMAT=json)', table, n: rs.length, run: () => { sink += clientEncode(jsonValues(table, rs)).length; } },
    { name: 'json before (text rows + toCompactRows + JSON)', table, n: rs.length, run: () => {
      textRowsRemade(table, rs, textRows);
      sink += clientEncode(toCompactRows(table, textRows).values).length;
    } },
    { name: 'rowbinary (default)', table, n: rs.length, run: () => { for (const c of encodeRowBinary(CODECS[table], rs)) sink += c.length; } },
  );
}
const samples = variants.map(() => [] as number[]);
for (let w = 0; w < 2; w++) for (const v of variants) v.run();
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + r) % variants.length]!;
    const c0 = process.cpuUsage();
    v.run();
    const c = process.cpuUsage(c0);
    samples[(k + r) % variants.length]!.push((c.user + c.system) / v.n);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const med = variants.map((_, k) => median(samples[k]!));
const size = (table: Table, f: 'json' | 'rb') => (f === 'json'
  ? Buffer.byteLength(clientEncode(jsonValues(table, rows[table])))
  : encodeRowBinary(CODECS[table], rows[table]).reduce((n, c) => n + c.length, 0)) / rows[table].length;

console.log(`${messages} SIP messages → ${rows.sip_messages.length} sip_messages, ${rows.calls.length} calls, ${rows.registrations.length} registrations rows; ` +
  `${ROUNDS} interleaved rounds, CPU µs per row (median, min-max), node ${process.version}`);
for (const table of ['sip_messages', 'calls', 'registrations'] as const) {
  console.log(`  ${table}: body ${size(table, 'json').toFixed(0)} B/row JSON, ${size(table, 'rb').toFixed(0)} B/row RowBinary`);
  for (const [k, v] of variants.entries()) {
    if (v.table !== table) continue;
    const s = samples[k]!;
    console.log(`    ${v.name.padEnd(48)} ${med[k]!.toFixed(2).padStart(6)}  (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)})`);
  }
}
// Per SIP message: every table's cost per row × its rows per message.
const perMessage = (name: string): number => variants.reduce((acc, v, k) => acc + (v.name === name ? med[k]! * rows[v.table].length / messages : 0), 0);
const json = perMessage('json (ANALYZER_INSERT_FORMAT=json)');
const before = perMessage('json before (text rows + toCompactRows + JSON)');
const rb = perMessage('rowbinary (default)');
console.log(`per SIP message (all three tables): json before ${before.toFixed(2)} µs, json now ${json.toFixed(2)} µs, rowbinary ${rb.toFixed(2)} µs; ` +
  `rowbinary / json before = ${(rb / before).toFixed(2)}, rowbinary / json = ${(rb / json).toFixed(2)}`);
if (sink < 0) console.log(sink);
