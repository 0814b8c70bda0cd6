/**
 * The normalized event stream for the detectors (`sip.events`, keyed by source IP) and the quarantine events
 * (`sip.quarantine`). Versioned JSON; `id` is `topic/partition/offset` of the captured record, stable across
 * replays, so a detector de-duplicates the at-least-once delivery by it.
 */
import { formatUs, type SipMessageRow, type QuarantineRow } from './store/rows.ts';

export const SIP_EVENT_VERSION = 1;

export type SipEventKind =
  | 'register'
  | 'register_challenge'
  | 'register_ok'
  | 'register_failed'
  | 'invite'
  | 'invite_answered'
  | 'invite_failed'
  | 'request'
  | 'provisional'
  | 'response_ok'
  | 'response_failed';

export interface SipEvent {
  v: typeof SIP_EVENT_VERSION;
  id: string;
  kind: SipEventKind;
  ts: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  transport: string;
  method: string;
  status: number;
  call_id: string;
  /** CSeq number: pairs a response with its request (they travel on different partitions). Absent in older events. */
  cseq?: number;
  from_user: string;
  from_domain: string;
  to_user: string;
  to_domain: string;
  ruri_user: string;
  ruri_domain: string;
  user_agent: string;
  auth_user: string;
  tenant: string;
  domain: string;
}

export interface QuarantineEvent {
  v: typeof SIP_EVENT_VERSION;
  id: string;
  kind: 'quarantine';
  ts: string;
  reason: string;
  detail: string;
  call_id: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  payload_type: number;
}

export function eventId(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}/${offset}`;
}

export function sipEventKind(row: Pick<SipMessageRow, 'kind' | 'method' | 'status' | 'to_tag'>): SipEventKind {
  return eventKindOf(row.kind, row.method, row.status, row.to_tag);
}

/** `sipEventKind` from the values themselves (the hot path has no row object: consumer/decode.ts). */
export function eventKindOf(kind: string, method: string, status: number, toTag: string): SipEventKind {
  if (kind === 'request') {
    if (method === 'REGISTER') return 'register';
    if (method === 'INVITE' && toTag === '') return 'invite';
    return 'request';
  }
  const s = status;
  if (s < 200) return 'provisional';
  if (method === 'REGISTER') return s < 300 ? 'register_ok' : s === 401 || s === 407 ? 'register_challenge' : 'register_failed';
  if (method === 'INVITE') return s < 300 ? 'invite_answered' : 'invite_failed';
  return s < 300 ? 'response_ok' : 'response_failed';
}

export function sipEvent(row: SipMessageRow, id: string): SipEvent {
  return {
    v: SIP_EVENT_VERSION,
    id,
    kind: sipEventKind(row),
    ts: formatUs(row.ts),
    src_ip: row.src_ip,
    src_port: row.src_port,
    dst_ip: row.dst_ip,
    dst_port: row.dst_port,
    transport: row.transport,
    method: row.method,
    status: row.status,
    call_id: row.call_id,
    cseq: row.cseq_num,
    from_user: row.from_user,
    from_domain: row.from_domain,
    to_user: row.to_user,
    to_domain: row.to_domain,
    ruri_user: row.ruri_user,
    ruri_domain: row.ruri_domain,
    user_agent: row.user_agent,
    auth_user: row.auth_user,
    tenant: row.tenant,
    domain: row.domain,
  };
}

export function quarantineEvent(row: QuarantineRow, id: string): QuarantineEvent {
  return {
    v: SIP_EVENT_VERSION,
    id,
    kind: 'quarantine',
    ts: formatUs(row.ts),
    reason: row.reason,
    detail: row.detail,
    call_id: row.call_id,
    src_ip: row.src_ip,
    src_port: row.src_port,
    dst_ip: row.dst_ip,
    dst_port: row.dst_port,
    payload_type: row.payload_type,
  };
}
