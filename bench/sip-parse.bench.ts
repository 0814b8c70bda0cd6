/**
 * parseSip throughput on one core: a typical INVITE with SDP, a 200 OK, a REGISTER.
 * Method: warm up, then time batches of N parses per message, report the median of RUNS runs (and min/max) in
 * messages per second. The "hot path" row reads only what the analyzer needs for every message (Call-ID, CSeq,
 * method/status, From/To user+tag, top Via branch); "all fields" also reads every lazy accessor and the SDP.
 * Run: npx tsx bench/sip-parse.bench.ts
 */
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

function allFields(buf: Buffer): void {
  const r = parseSip(buf);
  if (!r.ok) throw new Error(`bench input rejected: ${r.reason}`);
  const m = r.message;
  sink += m.via.length + m.contact.length + (m.sdp?.media.length ?? 0) + (m.expires ?? 0) + (m.maxForwards ?? 0) +
    (m.authorization?.user?.length ?? 0) + (m.requestUri === undefined ? 0 : 1) + (m.userAgent?.length ?? 0);
}

function measure(fn: (b: Buffer) => void, buf: Buffer, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(buf);
  const ns = Number(process.hrtime.bigint() - t0);
  return (n / ns) * 1e9;
}

const RUNS = 9;
const N = 50_000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(11);

console.log(`parseSip, node ${process.version}, ${RUNS} runs × ${N.toLocaleString('en-US')} messages, median (min–max) msg/s`);
for (const [label, fn] of [
  ['hot path', hotPath],
  ['all fields', allFields],
] as const) {
  for (const [name, buf] of [
    ['INVITE+SDP', INVITE_SDP],
    ['200 OK', OK_200],
    ['REGISTER', REGISTER],
  ] as const) {
    for (let i = 0; i < 3; i++) measure(fn, buf, 20_000);
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(measure(fn, buf, N));
    console.log(
      `${label.padEnd(10)} ${name.padEnd(11)} ${String(buf.length).padStart(5)} B ${fmt(median(runs))}  (${fmt(Math.min(...runs)).trim()}–${fmt(Math.max(...runs)).trim()})`,
    );
  }
}
if (sink === 42) console.log('');
