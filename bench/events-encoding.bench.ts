/**
 * CPU cost of encoding `sip.events` values, per event, in one process (the analyzer's publish step does
 * `Buffer.from(JSON.stringify(event))` per event, plus `Buffer.from(src_ip)` for the key). 20,000 events of the
 * `SipEvent` shape (services/analyzer/events.ts), three ways:
 *   - today: an object per event, `JSON.stringify`, a Buffer per value and per key;
 *   - one slab: the same JSON text, written into one Buffer per batch and cut with `subarray` (no Buffer per event);
 *   - fixed shape: a template literal per event, `JSON.stringify` only on the string fields, into one slab;
 *   - the analyzer's encoders (services/analyzer/event-records.ts): v1 records, and v2 containers for 3 partitions
 *     (grouping by the key hash, a template line with the detector fields only, written into slabs).
 * Method: interleaved rounds (order rotated), `process.cpuUsage` (user+system) per variant per round, median µs per
 * event.
 *
 *   npx tsx bench/events-encoding.bench.ts [--events 20000] [--rounds 15]
 */
import { parseArgs } from 'node:util';
import { containerRecords, singleEventRecords } from '../services/analyzer/event-records.ts';
import type { SipEvent } from '../services/analyzer/events.ts';

const { values: a } = parseArgs({ options: { events: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '15' } } });
const N = Number(a.events);
const ROUNDS = Number(a.rounds);

const events: SipEvent[] = Array.from({ length: N }, (_, i) => ({
  v: 1, id: `tollgate.hep.sip/${i % 3}/${1_000_000 + i}`, kind: i % 2 ? 'response_ok' : 'invite',
  ts: '2026-11-30 11:00:00.123456', src_ip: `198.51.100.${i % 250}`, src_port: 5060, dst_ip: '203.0.113.5', dst_port: 5060,
  transport: 'udp', method: 'INVITE', status: i % 2 ? 200 : 0, call_id: `${(i * 2654435761 >>> 0).toString(16)}-${i}@10.0.0.5`,
  from_user: 'alice', from_domain: 'a.example', to_user: '+4930123456', to_domain: 'b.example', ruri_user: '+4930123456',
  ruri_domain: 'b.example', user_agent: 'Asterisk PBX 18.12.1', auth_user: '', tenant: 'acme', domain: 'a.example',
}));

interface Rec { key: Buffer; value: Buffer }

function today(es: readonly SipEvent[]): Rec[] {
  return es.map((e) => ({ key: Buffer.from(e.src_ip), value: Buffer.from(JSON.stringify(e)) }));
}

/** Writes strings into one growing slab and hands out views of it. */
class Slab {
  #buf = Buffer.allocUnsafe(1 << 20);
  #o = 0;
  put(s: string): Buffer {
    const max = s.length * 3;
    if (this.#o + max > this.#buf.length) {
      this.#buf = Buffer.allocUnsafe(Math.max(1 << 20, max));
      this.#o = 0;
    }
    const start = this.#o;
    this.#o += this.#buf.write(s, start, 'utf8');
    return this.#buf.subarray(start, this.#o);
  }
}

function slab(es: readonly SipEvent[]): Rec[] {
  const s = new Slab();
  return es.map((e) => ({ key: s.put(e.src_ip), value: s.put(JSON.stringify(e)) }));
}

const q = JSON.stringify;
function fixedShape(es: readonly SipEvent[]): Rec[] {
  const s = new Slab();
  return es.map((e) => ({
    key: s.put(e.src_ip),
    value: s.put(`{"v":${e.v},"id":${q(e.id)},"kind":"${e.kind}","ts":"${e.ts}","src_ip":"${e.src_ip}","src_port":${e.src_port},` +
      `"dst_ip":"${e.dst_ip}","dst_port":${e.dst_port},"transport":${q(e.transport)},"method":${q(e.method)},"status":${e.status},` +
      `"call_id":${q(e.call_id)},"from_user":${q(e.from_user)},"from_domain":${q(e.from_domain)},"to_user":${q(e.to_user)},` +
      `"to_domain":${q(e.to_domain)},"ruri_user":${q(e.ruri_user)},"ruri_domain":${q(e.ruri_domain)},"user_agent":${q(e.user_agent)},` +
      `"auth_user":${q(e.auth_user)},"tenant":${q(e.tenant)},"domain":${q(e.domain)}}`),
  }));
}

// Same bytes: the fixed-shape encoder must produce exactly the JSON of today's path.
for (const [x, y] of today(events.slice(0, 100)).map((r, i) => [r, fixedShape(events.slice(i, i + 1))[0]!] as const)) {
  if (!x.value.equals(y.value) || !x.key.equals(y.key)) throw new Error(`fixed-shape encoding differs:\n${x.value}\n${y.value}`);
}

let sink = 0;
const variants: [string, () => void][] = [
  ['today: JSON.stringify + Buffer per value and key', () => { sink += today(events).length; }],
  ['one slab per batch (same JSON, views)', () => { sink += slab(events).length; }],
  ['fixed shape + one slab', () => { sink += fixedShape(events).length; }],
  ['v1 records (event-records.ts)', () => { sink += singleEventRecords(events).length; }],
  ['v2 containers, 3 partitions (event-records.ts)', () => { sink += containerRecords(events, 3).length; }],
];
const samples = variants.map(() => [] as number[]);
for (let w = 0; w < 3; w++) for (const [, f] of variants) f();
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < variants.length; k++) {
    const idx = (k + r) % variants.length;
    const c0 = process.cpuUsage();
    variants[idx]![1]();
    const c = process.cpuUsage(c0);
    samples[idx]!.push((c.user + c.system) / N);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
console.log(`${N} sip.events values, ${ROUNDS} interleaved rounds, CPU µs per event (median, min-max), node ${process.version}`);
for (const [k, [name]] of variants.entries()) {
  const s = samples[k]!;
  console.log(`  ${name.padEnd(50)} ${median(s).toFixed(2).padStart(6)}  (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)})`);
}
if (sink < 0) console.log(sink);
