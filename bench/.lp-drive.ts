/**
 * parseSip CPU cost on one core: a typical INVITE with SDP, a 200 OK, a REGISTER.
 * Method: warm up, then `--rounds` rounds; in each round every case parses its message `--n` times and is charged
 * the process's user+system CPU time over those parses (`process.cpuUsage()`, so time the process was descheduled
 * does not count). The cases run interleaved within a round; the figure is the median over rounds, in µs of CPU per
 * parse. Three depths: "hot path" reads what every message needs (Call-ID, CSeq, method/status, From/To user+tag,
 * top Via branch); "analyzer" also what the analyzer reads for its row and trackers (Request-URI, hosts, transport,
 * User-Agent/Server, credentials, every Via, Contact of REGISTERs, the link headers); "all fields" every lazy
 * accessor and the SDP.
 * Run: npx tsx bench/sip-parse.bench.ts [--rounds 15] [--n 20000] [--json]
 * Before/after against another checkout, interleaved: npx tsx bench/compare-base.ts --bench sip-parse --base <dir>
 */
import { parseArgs } from 'node:util';
import { parseSip } from '../services/analyzer/sip/index.ts';

const INVITE = Buffer.from(
  [
    'INVITE sip:+4930123456@sbc.example.net;user=phone SIP/2.0',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f6;rport',
    'Via: SIP/2.0/UDP 10.0.0.5:5060;received=203.0.113.5;branch=z9hG4bK7f3a2b1c',
    'Max-Forwards: 69',
    'Record-Route: <sip:198.51.100.10;lr;ftag=as5f3c2d1e>',
    'Contact: <sip:alice@10.0.0.5:5060;transport=udp>',
    'To: <sip:+4930123456@sbc.example.net;user=phone>',
    'From: "Alice Ünïcode" <sip:alice@example.com>;tag=as5f3c2d1e',
    'Call-ID: 3c26700a7b5e4f5c8e9a2d7b1f0c6e4d@10.0.0.5',
    'CSeq: 102 INVITE',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE',
    'Supported: replaces, timer',
    'User-Agent: Asterisk PBX 18.12.1',
    'P-Asserted-Identity: "Alice" <sip:alice@example.com>',
    'Content-Type: application/sdp',
    'Content-Length: 0000',
  ].join('\r\n'),
);
const SDP = [
  'v=0',
  'o=- 1728391234 1728391234 IN IP4 10.0.0.5',
  's=Asterisk',
  'c=IN IP4 10.0.0.5',
  't=0 0',
  'm=audio 18422 RTP/AVP 8 0 9 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
  '',
].join('\r\n');
const inviteText = INVITE.toString('utf8').replace('Content-Length: 0000', `Content-Length: ${Buffer.byteLength(SDP)}`);
const INVITE_SDP = Buffer.from(`${inviteText}\r\n\r\n${SDP}`, 'utf8');

const OK_200 = Buffer.from(
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f6;rport=5060;received=198.51.100.10',
    'Record-Route: <sip:198.51.100.10;lr;ftag=as5f3c2d1e>',
    'From: "Alice" <sip:alice@example.com>;tag=as5f3c2d1e',
    'To: <sip:+4930123456@sbc.example.net;user=phone>;tag=8a7b6c5d',
    'Call-ID: 3c26700a7b5e4f5c8e9a2d7b1f0c6e4d@10.0.0.5',
    'CSeq: 102 INVITE',
    'Contact: <sip:+4930123456@198.51.100.20:5060>',
    'Server: FreeSWITCH-mod_sofia/1.10.9',
    'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REFER, NOTIFY',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
);

const REGISTER = Buffer.from(
  [
    'REGISTER sip:registrar.example.com SIP/2.0',
    'Via: SIP/2.0/TLS 192.0.2.44:49532;branch=z9hG4bK.f8Q2r0x1;rport',
    'From: <sip:1001@registrar.example.com>;tag=5Fz0aN9QkU',
    'To: <sip:1001@registrar.example.com>',
    'CSeq: 21 REGISTER',
    'Call-ID: nV3lx2kq0X',
    'Max-Forwards: 70',
    'Supported: replaces, outbound, gruu',
    'Contact: <sip:1001@192.0.2.44:49532;transport=tls>;+sip.instance="<urn:uuid:bd5c5ce2-0a4a-4f6e-8b7e-22cbd9b3b6a1>";expires=600',
    'Authorization: Digest realm="registrar.example.com", nonce="Y2hhbGxlbmdl", algorithm=MD5, username="1001", uri="sip:registrar.example.com", response="0123456789abcdef0123456789abcdef"',
    'Expires: 600',
    'User-Agent: Linphone/5.2.0 (belle-sip/5.2.0)',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
);

let sink = 0;

function hotPath(buf: Buffer): void {
  const r = parseSip(buf);
  if (!r.ok) throw new Error(`bench input rejected: ${r.reason} ${r.detail}`);
  const m = r.message;
  sink += m.callId.length + m.cseq.seq + m.method.length + (m.statusCode ?? 0) + (m.from.user?.length ?? 0) +
    (m.from.tag?.length ?? 0) + (m.to.tag?.length ?? 0) + (m.topVia?.branch?.length ?? 0);
}

/** What consumer/decode.ts and the two trackers read of every message. */
function analyzerFields(buf: Buffer): void {
  const r = parseSip(buf);
  if (!r.ok) throw new Error(`bench input rejected: ${r.reason} ${r.detail}`);
  const m = r.message;
  const ruri = m.kind === 'request' ? m.requestUri : undefined;
  const vias = m.via;
  const auth = m.authorization ?? m.proxyAuthorization;
  sink += m.callId.length + m.cseq.seq + m.cseq.method.length + (m.statusCode ?? 0) + (m.reasonPhrase?.length ?? 0) +
    (m.from.user?.length ?? 0) + (m.from.host?.toLowerCase().length ?? 0) + (m.from.tag?.length ?? 0) +
    (m.to.user?.length ?? 0) + (m.to.host?.toLowerCase().length ?? 0) + (m.to.tag?.length ?? 0) +
    (ruri?.kind === 'sip' ? ruri.host.length : 0) + (m.topVia?.transport.length ?? 0) + (m.topVia?.branch?.length ?? 0) +
    ((m.userAgent ?? m.server)?.length ?? 0) + (auth?.username?.length ?? 0) + vias.length +
    (vias[vias.length - 1]?.received?.length ?? 0) + (m.header('X-CID')?.length ?? 0) + (m.icid?.length ?? 0) +
    (m.cseq.method === 'REGISTER' ? m.contact.length + (m.expires ?? 0) : 0) + (m.from.displayName?.length ?? 0);
}

function allFields(buf: Buffer): void {
  const r = parseSip(buf);
  if (!r.ok) throw new Error(`bench input rejected: ${r.reason}`);
  const m = r.message;
  sink += m.via.length + m.contact.length + (m.sdp?.media.length ?? 0) + (m.expires ?? 0) + (m.maxForwards ?? 0) +
    (m.authorization?.user?.length ?? 0) + (m.requestUri === undefined ? 0 : 1) + (m.userAgent?.length ?? 0);
}

/** CPU µs (user + system) per call of `fn`. */
function cpuUsPer(fn: (b: Buffer) => void, buf: Buffer, n: number): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(buf);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const { values: opt } = parseArgs({ options: {
  rounds: { type: 'string', default: '15' }, n: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false },
} });
const ROUNDS = Number(opt.rounds);
const N = Number(opt.n);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const cases: Array<{ name: string; fn: (b: Buffer) => void; buf: Buffer }> = [];
for (const [label, fn] of [['analyzer', analyzerFields]] as const) {
  for (const [name, buf] of [['INVITE+SDP', INVITE_SDP], ['200 OK', OK_200], ['REGISTER', REGISTER]] as const) {
    cases.push({ name: `${label} ${name}`, fn, buf });
  }
}
for (const c of cases) cpuUsPer(c.fn, c.buf, Math.min(N, 20_000));
const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++) for (const c of cases) samples.get(c.name)!.push(cpuUsPer(c.fn, c.buf, N));
const result: Record<string, number> = {};
for (const c of cases) result[c.name] = median(samples.get(c.name)!);

if (opt.json) {
  console.log(JSON.stringify({ unit: 'cpu_us_per_parse', rounds: ROUNDS, n: N, result }));
} else {
  console.log(`parseSip, node ${process.version}: CPU µs per parse, median of ${ROUNDS} interleaved rounds × ${N.toLocaleString('en-US')} parses`);
  for (const c of cases) {
    const xs = samples.get(c.name)!;
    console.log(`${c.name.padEnd(22)} ${String(c.buf.length).padStart(5)} B ${result[c.name]!.toFixed(2).padStart(7)} µs  (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})  ≈ ${Math.round(1e6 / result[c.name]!).toLocaleString('en-US')} parses per CPU second`);
  }
}
if (sink === 42) console.log('');
