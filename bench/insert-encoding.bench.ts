/**
 * CPU cost of turning analyzer rows into an insert body, per row, in one process: 20,000 `sip_messages`-shaped rows
 * (35 columns, as the analyzer builds them), encoded the way `services/shared/clickhouse/client.ts` does
 * (object rows → positional arrays → the client's JSONCompactEachRow encoding: one `JSON.stringify` per row, joined)
 * and, for the ranking in bench/PROFILE.md, a TabSeparated body built by hand (the only non-JSON text format the
 * client accepts as a raw stream; it has no RowBinary/Native insert), and a RowBinary body written with Buffer calls.
 * Method: interleaved rounds (each variant once per round, order rotated), CPU time of this process
 * (`process.cpuUsage`, user+system) per variant per round; median over the rounds, µs per row. Run on a busy box,
 * so CPU time, not wall time.
 *
 *   npx tsx bench/insert-encoding.bench.ts [--rows 20000] [--rounds 15]
 */
import { parseArgs } from 'node:util';
import { toCompactRows } from '../services/shared/clickhouse/client.ts';

const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '15' } } });
const N = Number(a.rows);
const ROUNDS = Number(a.rounds);

function row(i: number): Record<string, unknown> {
  const callId = `${(i * 2654435761 >>> 0).toString(16)}-${i}@10.0.0.5`;
  return {
    ts: '2026-11-30 11:00:00.123456', received_at: '2026-11-30 11:00:00.124001', tenant: 'acme', domain: 'a.example',
    kind: i % 2 ? 'response' : 'request', method: 'INVITE', status: i % 2 ? 200 : 0, reason: i % 2 ? 'OK' : '',
    call_id: callId, cseq_num: 102, cseq_method: 'INVITE', from_user: 'alice', from_domain: 'a.example',
    from_tag: `as${i.toString(36)}`, to_user: '+4930123456', to_domain: 'b.example', to_tag: i % 2 ? `8a${i}` : '',
    ruri_user: '+4930123456', ruri_domain: 'b.example', src_ip: '198.51.100.10', src_port: 5060, dst_ip: '203.0.113.5',
    dst_port: 5060, transport: 'udp', via_branch: `z9hG4bK-${i}`, user_agent: 'Asterisk PBX 18.12.1', auth_user: '',
    capture_id: 2001, node: 'edge-1', correlation_id: '', warnings: i % 50 === 0 ? ['via_missing_branch'] : [],
    raw: `INVITE sip:+4930123456@b.example SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-${i}\r\nFrom: "Alice" <sip:alice@a.example>;tag=as${i}\r\nTo: <sip:+4930123456@b.example>\r\nCall-ID: ${callId}\r\nCSeq: 102 INVITE\r\nContent-Length: 0\r\n\r\n`.repeat(2),
    kafka_partition: i % 3, kafka_offset: 1_000_000 + i,
  };
}

/** What @clickhouse/client does with an array of rows in a JSON format (utils/encoder.js). */
const clientEncode = (values: unknown[]): string => values.map((v) => `${JSON.stringify(v)}\n`).join('');

function tsvEscape(s: string): string {
  return /[\t\n\\\r']/.test(s) ? s.replace(/[\t\n\\\r']/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`)) : s;
}
function tsv(rows: readonly Record<string, unknown>[]): string {
  const keys = Object.keys(rows[0]!);
  let out = '';
  for (const r of rows) {
    for (let j = 0; j < keys.length; j++) {
      const x = r[keys[j]!];
      const cell = typeof x === 'string' ? tsvEscape(x)
        : Array.isArray(x) ? `[${x.map((e) => `'${tsvEscape(String(e))}'`).join(',')}]` : String(x);
      out += j === 0 ? cell : `\t${cell}`;
    }
    out += '\n';
  }
  return out;
}

/**
 * RowBinary written with Buffer calls (estimate only: the client has no RowBinary insert; `exec` with a raw body
 * would carry it). Column kinds of sip_messages in order; DateTime64(6) as Int64 µs, taken from the µs integers the
 * analyzer has before it formats them as text.
 */
type Kind = 'dt64' | 'str' | 'enum8' | 'u16' | 'u32' | 'u64' | 'arrstr';
const KINDS: Kind[] = ['dt64', 'dt64', 'str', 'str', 'enum8', 'str', 'u16', 'str', 'str', 'u32', 'str', 'str', 'str', 'str', 'str', 'str', 'str',
  'str', 'str', 'str', 'u16', 'str', 'u16', 'str', 'str', 'str', 'str', 'u32', 'str', 'str', 'arrstr', 'str', 'u32', 'u64'];
function rowBinary(rows: readonly Record<string, unknown>[], tsUs: number): Buffer {
  const keys = Object.keys(rows[0]!);
  let buf = Buffer.allocUnsafe(1 << 20);
  let o = 0;
  const ensure = (n: number) => {
    if (o + n <= buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(buf.length * 2, o + n));
    buf.copy(b, 0, 0, o);
    buf = b;
  };
  const varint = (v: number) => {
    while (v >= 0x80) { buf[o++] = (v & 0x7f) | 0x80; v >>>= 7; }
    buf[o++] = v;
  };
  const str = (s: string) => {
    ensure(s.length * 3 + 10);
    const len = Buffer.byteLength(s);
    varint(len);
    o += buf.write(s, o, len, 'utf8');
  };
  for (const r of rows) {
    ensure(64);
    for (let j = 0; j < keys.length; j++) {
      const x = r[keys[j]!];
      switch (KINDS[j]!) {
        case 'dt64': buf.writeBigInt64LE(BigInt(tsUs), o); o += 8; break;
        case 'str': str(x as string); break;
        case 'enum8': buf[o++] = x === 'request' ? 1 : 2; break;
        case 'u16': buf.writeUInt16LE(x as number, o); o += 2; break;
        case 'u32': buf.writeUInt32LE(x as number, o); o += 4; break;
        case 'u64': buf.writeBigUInt64LE(BigInt(x as number), o); o += 8; break;
        case 'arrstr': varint((x as string[]).length); for (const e of x as string[]) str(e); break;
      }
      ensure(16);
    }
  }
  return buf.subarray(0, o);
}

const rows = Array.from({ length: N }, (_, i) => row(i));
let sink = 0;
const variants: [string, () => void][] = [
  ['toCompactRows (object rows → positional arrays)', () => { sink += toCompactRows('sip_messages', rows).values.length; }],
  ['toCompactRows + client JSONCompactEachRow (today)', () => { sink += clientEncode(toCompactRows('sip_messages', rows).values).length; }],
  ['JSONEachRow (object rows, no compaction)', () => { sink += clientEncode(rows).length; }],
  ['TabSeparated by hand (estimate only)', () => { sink += tsv(rows).length; }],
  ['RowBinary by hand (estimate only)', () => { sink += rowBinary(rows, 1_790_000_000_000_000).length; }],
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
console.log(`${N} sip_messages rows, ${ROUNDS} interleaved rounds, CPU µs per row (median, min-max), node ${process.version}`);
for (const [k, [name]] of variants.entries()) {
  const s = samples[k]!;
  console.log(`  ${name.padEnd(48)} ${median(s).toFixed(2).padStart(6)}  (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)})`);
}
if (sink < 0) console.log(sink);
