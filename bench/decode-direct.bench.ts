/**
 * CPU cost per SIP message of what the analyzer does between a Kafka record and its `sip_messages` insert body and
 * `sip.events` containers, in one process, both ways the partition worker can do it (services/analyzer/consumer/
 * partition.ts, `sipRows` / `sipEvents`):
 *   - objects: `decodeRecord` makes a row object and an event object per message; the batch then encodes the rows
 *     (`encodeRowBinary`) and the events (`containerRecords`: a v2 line per event);
 *   - direct: `decodeRecord` writes the row into the batch's RowBinary and the event as its v2 line while the parsed
 *     message is at hand (`DirectSip`); the batch takes the body (`EncodedRows#body`) and the containers of the lines.
 * Both include the envelope, HEP and SIP decode (the same in both), so the difference is what the direct path saves;
 * no correlation, no I/O. Records: the analyzer bench's capture mix. Method: interleaved rounds (order alternated),
 * `process.cpuUsage` (user+system, GC included) per variant per round, median µs per message; the bodies and
 * containers of both are checked byte-equal once.
 *
 *   npx tsx bench/decode-direct.bench.ts [--sets 700] [--rounds 15]
 */
import { parseArgs } from 'node:util';
import { decodeRecord, sipMessageRows, type RecordContext } from '../services/analyzer/consumer/decode.ts';
import { containerRecords, SipEventLines } from '../services/analyzer/event-records.ts';
import type { SipEvent } from '../services/analyzer/events.ts';
import { encodeRowBinary } from '../services/analyzer/store/row-binary.ts';
import type { SipMessageRow } from '../services/analyzer/store/rows.ts';
import { CODECS } from '../services/analyzer/store/table-writer.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import { byTime, sipEnvelope } from '../test/support/sip-scenarios.ts';
import { captureMix } from './support/analyzer-process.ts';

const { values: a } = parseArgs({ options: { sets: { type: 'string', default: '700' }, rounds: { type: 'string', default: '15' } } });
const ROUNDS = Number(a.rounds);
const values = byTime(captureMix(Number(a.sets), Date.UTC(2026, 10, 30, 11) * 1000, 'dd')).map((p) => sipEnvelope(p));
const N = values.length;
const tenants = TenantMap.parse('a.example=acme', 'default');
const PARTITIONS = 3;
const ctx = (offset: number): RecordContext => ({ topic: 'tollgate.hep.sip', topicKind: 'sip', partition: 1, offset, kafkaTimestampMs: 0 });

function objects(): { body: Buffer[]; events: Buffer[] } {
  const rows: SipMessageRow[] = [];
  const events: SipEvent[] = [];
  for (let i = 0; i < N; i++) {
    const d = decodeRecord(values[i]!, ctx(i), tenants);
    if (d.kind !== 'sip') throw new Error('not SIP');
    rows.push(d.row);
    events.push(d.event);
  }
  return { body: encodeRowBinary(CODECS.sip_messages, rows), events: containerRecords(events, PARTITIONS).map((r) => r.value) };
}

function direct(): { body: Buffer[]; events: Buffer[] } {
  const b = sipMessageRows(N);
  const lines = new SipEventLines();
  const out = { rows: b, events: lines };
  for (let i = 0; i < N; i++) {
    const d = decodeRecord(values[i]!, ctx(i), tenants, out);
    if (d.kind !== 'sip') throw new Error('not SIP');
  }
  return { body: b.done().body(), events: containerRecords(lines, PARTITIONS).map((r) => r.value) };
}

const x = objects();
const y = direct();
if (!Buffer.concat(x.body).equals(Buffer.concat(y.body)) || !Buffer.concat(x.events).equals(Buffer.concat(y.events))) {
  throw new Error('the two paths differ');
}

const variants = { objects, direct };
const times: Record<string, number[]> = { objects: [], direct: [] };
let sink = 0;
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? (['objects', 'direct'] as const) : (['direct', 'objects'] as const);
  for (const name of order) {
    const c0 = process.cpuUsage();
    const out = variants[name]();
    const c = process.cpuUsage(c0);
    sink += out.body.length + out.events.length;
    times[name]!.push((c.user + c.system) / N);
  }
}
const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const mo = median(times.objects!);
const md = median(times.direct!);
console.log(`${N} messages per round, ${ROUNDS} interleaved rounds, CPU µs per message (median), decode + parse + sip_messages body + v2 event containers:`);
console.log(`  objects (row + event object per message): ${mo.toFixed(2)}`);
console.log(`  direct (RowBinary and event line at decode): ${md.toFixed(2)}`);
console.log(`  direct ÷ objects: ×${(md / mo).toFixed(2)}, objects − direct: ${(mo - md).toFixed(2)} µs per message${sink < 0 ? "" : ""}`);
