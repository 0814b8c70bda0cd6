/** Builds synthetic SIP call and registration traffic as real wire text, parsed by the real parser. */
import { parseSip } from '../../../services/analyzer/sip/index.ts';
import type { ObservedSip } from '../../../services/analyzer/correlation/index.ts';

export interface Leg {
  callId: string;
  caller: string;
  callee: string;
  fromTag: string;
  toTag: string;
}

export interface MsgSpec {
  /** Request method, or the method a response answers. */
  method: string;
  cseq: number;
  code?: number;
  /** Request sent by the callee (BYE from the callee side). */
  fromCallee?: boolean;
  /** Include the To-tag (in-dialog requests, responses from the UAS). */
  toTag?: boolean;
  branch: string;
  extra?: string[];
}

const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 302: 'Moved Temporarily', 401: 'Unauthorized',
  407: 'Proxy Authentication Required', 480: 'Temporarily Unavailable', 486: 'Busy Here', 487: 'Request Terminated',
};

export function sipText(leg: Leg, s: MsgSpec): string {
  const a = `<sip:${leg.caller}@example.com>;tag=${leg.fromTag}`;
  const b = `<sip:${leg.callee}@example.net>${s.toTag === true ? `;tag=${leg.toTag}` : ''}`;
  const [from, to] = s.fromCallee === true ? [`<sip:${leg.callee}@example.net>;tag=${leg.toTag}`, `<sip:${leg.caller}@example.com>;tag=${leg.fromTag}`] : [a, b];
  const start = s.code === undefined
    ? `${s.method} sip:${s.fromCallee === true ? leg.caller : leg.callee}@example.net SIP/2.0`
    : `SIP/2.0 ${s.code} ${REASONS[s.code] ?? 'Whatever'}`;
  return [
    start,
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${s.branch}`,
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${leg.callId}`,
    `CSeq: ${s.cseq} ${s.method}`,
    'User-Agent: prop-ua',
    ...(s.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

let seq = 0;

export function obs(text: string, tsUs: number, extra: Partial<ObservedSip> = {}): ObservedSip {
  const r = parseSip(Buffer.from(text, 'utf8'));
  if (!r.ok) throw new Error(`test message does not parse: ${r.reason} ${r.detail}\n${text}`);
  const req = r.message.kind === 'request';
  return {
    message: r.message,
    tsUs,
    srcIp: req ? '192.0.2.10' : '192.0.2.20',
    srcPort: 5060,
    dstIp: req ? '192.0.2.20' : '192.0.2.10',
    dstPort: 5060,
    transport: 'UDP',
    captureId: 1,
    node: 'edge',
    seq: seq++,
    ...extra,
  };
}

export function leg(i: number): Leg {
  return { callId: `call-${i}@prop.test`, caller: `1000${i}`, callee: `2000${i}`, fromTag: `ft${i}`, toTag: `tt${i}` };
}

export interface RegSpec {
  callId: string;
  cseq: number;
  user: string;
  branch: string;
  contactHost?: string;
  expires?: number;
  auth?: string;
  code?: number;
  extra?: string[];
}

export function registerText(s: RegSpec): string {
  const start = s.code === undefined ? 'REGISTER sip:example.com SIP/2.0' : `SIP/2.0 ${s.code} ${REASONS[s.code] ?? 'X'}`;
  return [
    start,
    `Via: SIP/2.0/UDP ${s.contactHost ?? '192.0.2.30'}:5060;branch=z9hG4bK${s.branch}${s.code !== undefined ? ';received=203.0.113.7;rport=40000' : ';rport'}`,
    `From: <sip:${s.user}@example.com>;tag=r${s.cseq}`,
    `To: <sip:${s.user}@example.com>${s.code !== undefined ? ';tag=reg' : ''}`,
    `Call-ID: ${s.callId}`,
    `CSeq: ${s.cseq} REGISTER`,
    `Contact: <sip:${s.user}@${s.contactHost ?? '192.0.2.30'}:5060>${s.expires !== undefined ? `;expires=${s.expires}` : ''}`,
    ...(s.auth !== undefined && s.code === undefined ? [`Authorization: Digest username="${s.auth}", realm="example.com", nonce="n", uri="sip:example.com", response="r"`] : []),
    ...(s.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
