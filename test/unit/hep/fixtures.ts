/** Real-looking SIP captures, as an edge proxy's siptrace would send them, for tests and the decode bench. */
import hepJs from 'hep-js';
import type { HepPacket } from '../../../services/shared/hep/index.ts';

const CRLF = '\r\n';

function sip(lines: string[], body = ''): string {
  const withLength = lines.concat(`Content-Length: ${Buffer.byteLength(body, 'utf8')}`);
  return withLength.join(CRLF) + CRLF + CRLF + body;
}

const SDP = [
  'v=0',
  'o=- 3912341234 3912341234 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 16384 RTP/AVP 0 8 101',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join(CRLF);

export const SIP_INVITE = sip(
  [
    'INVITE sip:+4930123456@sip.example.net SIP/2.0',
    'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---6e2b4c1d;rport',
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@example.net>;tag=8a3f1c',
    'To: <sip:+4930123456@sip.example.net>',
    'Call-ID: 5f0c7a1e9b2d4c3f@198.51.100.7',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@198.51.100.7:5060>',
    'Content-Type: application/sdp',
    'User-Agent: Yealink SIP-T46S 66.86.0.15',
  ],
  SDP,
);

export const SIP_200_OK = sip(
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---6e2b4c1d;rport=5060',
    'From: "Alice" <sip:alice@example.net>;tag=8a3f1c',
    'To: <sip:+4930123456@sip.example.net>;tag=as5d1e2f',
    'Call-ID: 5f0c7a1e9b2d4c3f@198.51.100.7',
    'CSeq: 1 INVITE',
    'Contact: <sip:+4930123456@203.0.113.20:5060>',
    'Content-Type: application/sdp',
    'Server: FreeSWITCH-mod_sofia/1.10.9',
  ],
  SDP.replace(/198\.51\.100\.7/g, '203.0.113.20'),
);

export const SIP_REGISTER = sip([
  'REGISTER sip:example.net SIP/2.0',
  'Via: SIP/2.0/TCP 192.0.2.33:49152;branch=z9hG4bK77ef;rport',
  'From: <sip:1001@example.net>;tag=reg1001',
  'To: <sip:1001@example.net>',
  'Call-ID: reg-1001-abcdef@192.0.2.33',
  'CSeq: 42 REGISTER',
  'Contact: <sip:1001@192.0.2.33:49152;transport=tcp>;expires=3600',
  'Authorization: Digest username="1001", realm="example.net", nonce="Y2FmZWJhYmU=", uri="sip:example.net", response="0f1e2d3c4b5a69788796a5b4c3d2e1f0"',
]);

export const SIP_OPTIONS_SCANNER = sip([
  'OPTIONS sip:100@203.0.113.5 SIP/2.0',
  'Via: SIP/2.0/UDP 45.95.147.11:5071;branch=z9hG4bK-1476212245;rport',
  'Max-Forwards: 70',
  'To: "sipvicious"<sip:100@1.1.1.1>',
  'From: "sipvicious"<sip:100@1.1.1.1>;tag=6236313530303666313363340131353930363238363934',
  'User-Agent: friendly-scanner',
  'Call-ID: 841246720736541867016985',
  'CSeq: 1 OPTIONS',
  'Accept: application/sdp',
]);

export const SIP_BYE_UTF8 = sip([
  'BYE sip:+4930123456@203.0.113.20:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-bye-1',
  'From: "Jürgen Müller" <sip:alice@example.net>;tag=8a3f1c',
  'To: <sip:+4930123456@sip.example.net>;tag=as5d1e2f',
  'Call-ID: 5f0c7a1e9b2d4c3f@198.51.100.7',
  'CSeq: 2 BYE',
  'Reason: Q.850;cause=16;text="Normal call clearing — 正常"',
]);

export interface SipFixture {
  name: string;
  packet: HepPacket;
}

function base(payload: string, overrides: Partial<HepPacket> = {}): HepPacket {
  return {
    version: 3,
    ipFamily: 4,
    protocol: 17,
    srcIp: '198.51.100.7',
    dstIp: '203.0.113.20',
    srcPort: 5060,
    dstPort: 5060,
    timestampSec: 1718000000,
    timestampUsec: 512345,
    payloadType: 1,
    captureId: 2001,
    payload: Buffer.from(payload, 'utf8'),
    nodeName: 'edge-fra-1',
    ...overrides,
  };
}

export const SIP_FIXTURES: SipFixture[] = [
  { name: 'INVITE', packet: base(SIP_INVITE, { authKey: 'myHep' }) },
  {
    name: '200 OK with correlation id',
    packet: base(SIP_200_OK, {
      srcIp: '203.0.113.20',
      dstIp: '198.51.100.7',
      correlationId: '5f0c7a1e9b2d4c3f@198.51.100.7',
    }),
  },
  { name: 'REGISTER over TCP', packet: base(SIP_REGISTER, { protocol: 6, srcIp: '192.0.2.33', srcPort: 49152 }) },
  {
    name: 'scanner OPTIONS',
    packet: base(SIP_OPTIONS_SCANNER, { srcIp: '45.95.147.11', srcPort: 5071, dstIp: '203.0.113.5', captureId: 7 }),
  },
  { name: 'BYE with UTF-8 display name', packet: base(SIP_BYE_UTF8, { captureId: 0xfffffffe }) },
  {
    name: 'RTCP report with MOS',
    packet: base('{"type":200,"ssrc":3735928559,"report_blocks":[{"fraction_lost":0,"jitter":12}]}', {
      payloadType: 5,
      srcPort: 16385,
      dstPort: 16385,
      correlationId: '5f0c7a1e9b2d4c3f@198.51.100.7',
      mos: 436,
    }),
  },
];

/**
 * A SIP INVITE HEP packet of exactly `size` bytes as hep-js encodes it, the bench's reference input. A padding
 * header absorbs the difference so the packet stays a plausible INVITE.
 */
export function hepJsInvite(size = 448): Buffer {
  const rcinfo = {
    protocolFamily: 2,
    protocol: 17,
    srcIp: '198.51.100.7',
    dstIp: '203.0.113.20',
    srcPort: 5060,
    dstPort: 5060,
    timeSeconds: 1718000000,
    timeUseconds: 512345,
    payloadType: 1,
    captureId: 2001,
    hepNodeName: 'edge-fra-1',
  };
  const head = [
    'INVITE sip:4930123456@example.net SIP/2.0',
    'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK-6e2b',
    'From: <sip:alice@example.net>;tag=8a3f',
    'To: <sip:4930123456@example.net>',
    'Call-ID: 5f0c7a1e@198.51.100.7',
    'CSeq: 1 INVITE',
    'Content-Type: application/sdp',
  ];
  const body = 'v=0\r\nc=IN IP4 198.51.100.7\r\nm=audio 16384 RTP/AVP 0\r\n';
  const build = (pad: string): Buffer =>
    hepJs.encapsulate(sip(head.concat(`X-Pad: ${pad}`), body), rcinfo);
  const overhead = build('').length;
  if (overhead > size) throw new Error(`an INVITE needs at least ${overhead} bytes`);
  const out = build('x'.repeat(size - overhead));
  if (out.length !== size) throw new Error(`built ${out.length} bytes, wanted ${size}`);
  return out;
}
