/**
 * Known SIP scenarios with exact capture timestamps, for the analyzer tests: each scenario is a list of HEP
 * packets (SIP text + addresses + µs timestamp) and the records the analyzer must produce from it.
 */
import { encodeEnvelope } from '../../services/shared/hep/envelope.ts';
import { encodeHep, type HepPacket } from '../../services/shared/hep/index.ts';

const CRLF = '\r\n';
export const CALLER = { ip: '192.0.2.10', port: 5060 };
export const PROXY = { ip: '192.0.2.1', port: 5060 };

export interface CapturedSip {
  readonly callId: string;
  readonly tsUs: number;
  readonly text: string;
  readonly fromUa: boolean;
}

export interface Scenario {
  readonly name: string;
  readonly callId: string;
  readonly packets: CapturedSip[];
  readonly calls: number;
  readonly registrations: number;
}

interface Party {
  user: string;
  domain: string;
}

function req(method: string, ruri: string, o: { cid: string; cseq: number; cseqMethod?: string; branch: string; from: Party; to: Party; fromTag: string; toTag?: string; extra?: string[] }): string {
  return [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${CALLER.ip}:${CALLER.port};branch=${o.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${o.from.user}@${o.from.domain}>;tag=${o.fromTag}`,
    `To: <sip:${o.to.user}@${o.to.domain}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.cid}`,
    `CSeq: ${o.cseq} ${o.cseqMethod ?? method}`,
    `Contact: <sip:${o.from.user}@${CALLER.ip}:${CALLER.port}>`,
    'User-Agent: scenario-ua/1.0',
    ...(o.extra ?? []),
    'Content-Length: 0',
    '', '',
  ].join(CRLF);
}

function resp(code: number, reason: string, o: { cid: string; cseq: number; method: string; branch: string; from: Party; to: Party; fromTag: string; toTag?: string; extra?: string[] }): string {
  return [
    `SIP/2.0 ${code} ${reason}`,
    `Via: SIP/2.0/UDP ${CALLER.ip}:${CALLER.port};branch=${o.branch};rport=${CALLER.port};received=${CALLER.ip}`,
    `From: <sip:${o.from.user}@${o.from.domain}>;tag=${o.fromTag}`,
    `To: <sip:${o.to.user}@${o.to.domain}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.cid}`,
    `CSeq: ${o.cseq} ${o.method}`,
    'Server: scenario-proxy',
    ...(o.extra ?? []),
    'Content-Length: 0',
    '', '',
  ].join(CRLF);
}

export type CallKind = 'answered' | 'busy' | 'cancelled' | 'no_answer';

/** An INVITE dialog. Offsets are µs after `t0`; PDD and duration come out as exact fractions of a millisecond. */
export function callScenario(kind: CallKind, cid: string, t0: number, from: Party, to: Party, talkUs = 60_000_750): Scenario {
  const ft = `ft-${cid.slice(0, 8)}`;
  const tt = `tt-${cid.slice(0, 8)}`;
  const b1 = `z9hG4bK-${cid.slice(0, 8)}-1`;
  const base = { cid, from, to, fromTag: ft };
  const inv = { ...base, cseq: 1, method: 'INVITE', branch: b1 };
  const ruri = `sip:${to.user}@${to.domain}`;
  const p: CapturedSip[] = [];
  const at = (us: number, text: string, fromUa: boolean) => p.push({ callId: cid, tsUs: t0 + us, text, fromUa });
  at(0, req('INVITE', ruri, { ...base, cseq: 1, branch: b1 }), true);
  at(20_000, resp(100, 'Trying', inv), false);
  if (kind === 'busy') {
    at(400_250, resp(486, 'Busy Here', { ...inv, toTag: tt }), false);
    at(410_000, req('ACK', ruri, { ...base, cseq: 1, branch: b1, toTag: tt }), true);
  } else {
    at(250_500, resp(180, 'Ringing', { ...inv, toTag: tt }), false);
    if (kind === 'answered') {
      at(2_000_000, resp(200, 'OK', { ...inv, toTag: tt }), false);
      at(2_010_000, req('ACK', ruri, { ...base, cseq: 1, branch: `z9hG4bK-${cid.slice(0, 8)}-ack`, toTag: tt }), true);
      at(2_000_000 + talkUs, req('BYE', ruri, { ...base, cseq: 2, branch: `z9hG4bK-${cid.slice(0, 8)}-2`, toTag: tt }), true);
      at(2_029_250 + talkUs, resp(200, 'OK', { ...base, cseq: 2, method: 'BYE', branch: `z9hG4bK-${cid.slice(0, 8)}-2`, toTag: tt }), false);
    } else if (kind === 'cancelled') {
      at(5_000_000, req('CANCEL', ruri, { ...base, cseq: 1, branch: b1 }), true);
      at(5_010_000, resp(200, 'OK', { ...base, cseq: 1, method: 'CANCEL', branch: b1, toTag: tt }), false);
      at(5_020_000, resp(487, 'Request Terminated', { ...inv, toTag: tt }), false);
      at(5_030_000, req('ACK', ruri, { ...base, cseq: 1, branch: b1, toTag: tt }), true);
    } else {
      at(30_000_000, resp(480, 'Temporarily Unavailable', { ...inv, toTag: tt }), false);
      at(30_010_000, req('ACK', ruri, { ...base, cseq: 1, branch: b1, toTag: tt }), true);
    }
  }
  return { name: kind, callId: cid, packets: p, calls: 1, registrations: 0 };
}

/** REGISTER → 401 → REGISTER with credentials → 200 (two transactions: a challenge and a registration). */
export function registerScenario(cid: string, t0: number, who: Party, wrongPassword = false): Scenario {
  const ft = `rt-${cid.slice(0, 8)}`;
  const o = { cid, from: who, to: who, fromTag: ft };
  const ruri = `sip:${who.domain}`;
  const contact = [`Expires: 3600`];
  const auth = `Authorization: Digest username="${who.user}", realm="${who.domain}", nonce="n0nce", uri="${ruri}", response="0123456789abcdef0123456789abcdef", algorithm=MD5`;
  const p: CapturedSip[] = [];
  const at = (us: number, text: string, fromUa: boolean) => p.push({ callId: cid, tsUs: t0 + us, text, fromUa });
  if (wrongPassword) {
    at(0, req('REGISTER', ruri, { ...o, cseq: 1, branch: `z9hG4bK-${cid.slice(0, 8)}-r1`, extra: [...contact, auth] }), true);
    at(15_000, resp(403, 'Forbidden', { ...o, cseq: 1, method: 'REGISTER', branch: `z9hG4bK-${cid.slice(0, 8)}-r1`, toTag: 'reg403' }), false);
    return { name: 'register_auth_failed', callId: cid, packets: p, calls: 0, registrations: 1 };
  }
  at(0, req('REGISTER', ruri, { ...o, cseq: 1, branch: `z9hG4bK-${cid.slice(0, 8)}-r1`, extra: contact }), true);
  at(10_000, resp(401, 'Unauthorized', {
    ...o, cseq: 1, method: 'REGISTER', branch: `z9hG4bK-${cid.slice(0, 8)}-r1`, toTag: 'reg401',
    extra: [`WWW-Authenticate: Digest realm="${who.domain}", nonce="n0nce", algorithm=MD5`],
  }), false);
  at(30_000, req('REGISTER', ruri, { ...o, cseq: 2, branch: `z9hG4bK-${cid.slice(0, 8)}-r2`, extra: [...contact, auth] }), true);
  at(45_000, resp(200, 'OK', {
    ...o, cseq: 2, method: 'REGISTER', branch: `z9hG4bK-${cid.slice(0, 8)}-r2`, toTag: 'reg200',
    extra: [`Contact: <sip:${who.user}@${CALLER.ip}:${CALLER.port}>;expires=3600`],
  }), false);
  return { name: 'register', callId: cid, packets: p, calls: 0, registrations: 2 };
}

export function optionsScenario(cid: string, t0: number, who: Party): Scenario {
  const o = { cid, from: who, to: who, fromTag: `ot-${cid.slice(0, 8)}` };
  return {
    name: 'options', callId: cid, calls: 0, registrations: 0,
    packets: [
      { callId: cid, tsUs: t0, text: req('OPTIONS', `sip:${who.domain}`, { ...o, cseq: 1, branch: `z9hG4bK-${cid.slice(0, 8)}-o` }), fromUa: true },
      { callId: cid, tsUs: t0 + 5_000, text: resp(200, 'OK', { ...o, cseq: 1, method: 'OPTIONS', branch: `z9hG4bK-${cid.slice(0, 8)}-o`, toTag: 'opt' }), fromUa: false },
    ],
  };
}

export interface HepFields {
  readonly payloadType?: number;
  readonly correlationId?: string;
  readonly captureId?: number;
  readonly nodeName?: string;
}

export function hepBytes(payload: Buffer, tsUs: number, fromUa: boolean, f: HepFields = {}): Buffer {
  const src = fromUa ? CALLER : PROXY;
  const dst = fromUa ? PROXY : CALLER;
  const p: HepPacket = {
    version: 3, ipFamily: 4, protocol: 17,
    srcIp: src.ip, dstIp: dst.ip, srcPort: src.port, dstPort: dst.port,
    timestampSec: Math.floor(tsUs / 1_000_000), timestampUsec: tsUs % 1_000_000,
    payloadType: f.payloadType ?? 1, captureId: f.captureId ?? 2001, payload,
    ...(f.correlationId !== undefined ? { correlationId: f.correlationId } : {}),
    nodeName: f.nodeName ?? 'scenario-node',
  };
  return encodeHep(p);
}

/** The Kafka value the collector would publish for a captured packet. */
export function envelopeOf(hep: Buffer, receivedUs: number): Buffer {
  const addr = Buffer.from([198, 51, 100, 2]);
  return encodeEnvelope(hep, { family: 4, addr, port: 40000 }, BigInt(receivedUs) * 1000n, 'udp', 0);
}

export function sipEnvelope(c: CapturedSip, f: HepFields = {}): Buffer {
  return envelopeOf(hepBytes(Buffer.from(c.text, 'utf8'), c.tsUs, c.fromUa, f), c.tsUs + 1_000);
}

/** Interleaves scenarios by timestamp (a realistic capture order; each call keeps its own order). */
export function byTime(scenarios: readonly Scenario[]): CapturedSip[] {
  return scenarios.flatMap((s) => s.packets).sort((a, b) => a.tsUs - b.tsUs);
}
