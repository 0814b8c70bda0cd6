/** Rows of the call tables → the API's item shapes (RFC 3339 times, nested parties), masked when required. */
import { maskSipText, maskUser } from '../mask.ts';
import { chToUs, isoTime } from '../paging.ts';
import type { CallRowOut, MessageRowOut } from './queries.ts';
import { splitSip } from './sip-text.ts';
import { endpointSchema } from '../schemas.ts';

export function callPath(callId: string): string {
  return `/v1/calls/${encodeURIComponent(callId)}`;
}

export function callItem(r: CallRowOut, mask: boolean) {
  const u = (s: string) => (mask ? maskUser(s) : s);
  const self = callPath(r.call_id);
  return {
    call_id: r.call_id,
    from_tag: r.from_tag,
    to_tag: r.to_tag,
    tenant: r.tenant,
    domain: r.domain,
    state: r.state,
    final_status: r.final_status,
    final_reason: r.final_reason,
    end_reason: r.end_reason,
    hangup_side: r.hangup_side,
    setup_time: isoTime(r.setup_ts)!,
    first_provisional_time: isoTime(r.first_provisional_ts),
    ring_time: isoTime(r.ring_ts),
    answer_time: isoTime(r.answer_ts),
    end_time: isoTime(r.end_ts)!,
    pdd_ms: r.pdd_ms,
    duration_ms: r.duration_ms,
    caller: { user: u(r.from_user), domain: r.from_domain, display: u(r.from_display) },
    callee: { user: u(r.to_user), domain: r.to_domain },
    request_uri: { user: u(r.ruri_user), domain: r.ruri_domain },
    source: { ip: r.src_ip, port: r.src_port },
    destination: { ip: r.dst_ip, port: r.dst_port },
    transport: r.transport,
    user_agent: r.user_agent,
    ack_seen: r.ack_seen,
    attempts: r.attempts,
    auth_challenges: r.auth_challenges,
    redirects: r.redirects,
    reinvites: r.reinvites,
    linked_call_id: r.linked_call_id,
    linked_source: r.linked_source,
    nodes: r.nodes,
    capture_ids: r.capture_ids,
    hops: r.hops,
    retransmissions: r.retransmissions,
    messages: r.messages,
    links: { self, messages: `${self}/messages`, ladder: `${self}/ladder.svg`, ladder_html: `${self}/ladder.svg?format=html`, pcap: `${self}/pcap` },
  };
}
export type CallItem = ReturnType<typeof callItem>;

const party = { type: 'object', required: ['user', 'domain'], properties: { user: { type: 'string' }, domain: { type: 'string' }, display: { type: 'string' } } } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

export const callItemSchema = {
  type: 'object',
  required: ['call_id', 'from_tag', 'tenant', 'state', 'setup_time', 'end_time', 'caller', 'callee', 'source', 'destination', 'links'],
  properties: {
    call_id: { type: 'string' },
    from_tag: { type: 'string' },
    to_tag: { type: 'string' },
    tenant: { type: 'string' },
    domain: { type: 'string' },
    state: { type: 'string', description: 'answered, timeout_without_bye, busy, cancelled, no_answer, rejected, auth_failed, redirected, failed, timeout' },
    final_status: { type: ['integer', 'null'] },
    final_reason: { type: 'string' },
    end_reason: { type: 'string' },
    hangup_side: { type: 'string' },
    setup_time: { type: 'string', format: 'date-time' },
    first_provisional_time: nullableTime,
    ring_time: nullableTime,
    answer_time: nullableTime,
    end_time: { type: 'string', format: 'date-time' },
    pdd_ms: { ...nullableNumber, description: 'Post-dial delay: INVITE → first 18x (else answer, else final)' },
    duration_ms: nullableNumber,
    caller: party,
    callee: party,
    request_uri: party,
    source: endpointSchema,
    destination: endpointSchema,
    transport: { type: 'string' },
    user_agent: { type: 'string' },
    ack_seen: { type: 'boolean' },
    attempts: { type: 'integer' },
    auth_challenges: { type: 'integer' },
    redirects: { type: 'integer' },
    reinvites: { type: 'integer' },
    linked_call_id: { type: 'string', description: 'A-leg Call-ID (X-CID, HEP correlation id) or P-Charging-Vector icid' },
    linked_source: { type: 'string' },
    nodes: { type: 'array', items: { type: 'string' } },
    capture_ids: { type: 'array', items: { type: 'integer' } },
    hops: { type: 'integer' },
    retransmissions: { type: 'integer' },
    messages: { type: 'integer' },
    links: {
      type: 'object',
      required: ['self', 'messages', 'ladder', 'ladder_html', 'pcap'],
      properties: { self: { type: 'string' }, messages: { type: 'string' }, ladder: { type: 'string' }, ladder_html: { type: 'string' }, pcap: { type: 'string' } },
    },
  },
} as const;

export const CALL_CSV_COLUMNS = [
  ['call_id', (c: CallItem) => c.call_id], ['from_tag', (c: CallItem) => c.from_tag], ['tenant', (c: CallItem) => c.tenant],
  ['state', (c: CallItem) => c.state], ['final_status', (c: CallItem) => c.final_status], ['final_reason', (c: CallItem) => c.final_reason],
  ['setup_time', (c: CallItem) => c.setup_time], ['answer_time', (c: CallItem) => c.answer_time], ['end_time', (c: CallItem) => c.end_time],
  ['pdd_ms', (c: CallItem) => c.pdd_ms], ['duration_ms', (c: CallItem) => c.duration_ms],
  ['caller', (c: CallItem) => c.caller.user], ['caller_domain', (c: CallItem) => c.caller.domain],
  ['callee', (c: CallItem) => c.callee.user], ['callee_domain', (c: CallItem) => c.callee.domain], ['ruri_user', (c: CallItem) => c.request_uri.user],
  ['src_ip', (c: CallItem) => c.source.ip], ['src_port', (c: CallItem) => c.source.port],
  ['dst_ip', (c: CallItem) => c.destination.ip], ['dst_port', (c: CallItem) => c.destination.port],
  ['transport', (c: CallItem) => c.transport], ['hangup_side', (c: CallItem) => c.hangup_side], ['end_reason', (c: CallItem) => c.end_reason],
  ['linked_call_id', (c: CallItem) => c.linked_call_id], ['nodes', (c: CallItem) => c.nodes], ['messages', (c: CallItem) => c.messages],
].map(([name, get]) => ({ name: name as string, get: get as (c: CallItem) => unknown }));

export function messageItem(m: MessageRowOut, index: number, leg: number, mask: boolean) {
  const raw = mask ? maskSipText(m.raw) : m.raw;
  const parts = splitSip(raw);
  const u = (s: string) => (mask ? maskUser(s) : s);
  return {
    index,
    leg,
    time: isoTime(m.ts)!,
    time_us: chToUs(m.ts),
    call_id: m.call_id,
    kind: m.kind,
    method: m.method,
    status: m.status === 0 ? null : m.status,
    reason: m.reason,
    cseq: m.cseq_num,
    cseq_method: m.cseq_method,
    from_user: u(m.from_user),
    to_user: u(m.to_user),
    ruri_user: u(m.ruri_user),
    source: { ip: m.src_ip, port: m.src_port },
    destination: { ip: m.dst_ip, port: m.dst_port },
    transport: m.transport,
    node: m.node,
    capture_id: m.capture_id,
    correlation_id: m.correlation_id,
    user_agent: m.user_agent,
    warnings: m.warnings,
    start_line: parts.startLine,
    headers: parts.headers,
    body: parts.body,
    raw,
  };
}

export const messageItemSchema = {
  type: 'object',
  required: ['index', 'leg', 'time', 'call_id', 'kind', 'method', 'status', 'source', 'destination', 'transport', 'start_line', 'headers', 'body', 'raw'],
  properties: {
    index: { type: 'integer', description: 'Position in capture order across every leg' },
    leg: { type: 'integer', description: 'Index of the Call-ID in `legs`' },
    time: { type: 'string', format: 'date-time' },
    time_us: { type: 'integer', description: 'Capture time, µs since the epoch' },
    call_id: { type: 'string' },
    kind: { type: 'string', enum: ['request', 'response'] },
    method: { type: 'string' },
    status: { type: ['integer', 'null'] },
    reason: { type: 'string' },
    cseq: { type: 'integer' },
    cseq_method: { type: 'string' },
    from_user: { type: 'string' },
    to_user: { type: 'string' },
    ruri_user: { type: 'string' },
    source: endpointSchema,
    destination: endpointSchema,
    transport: { type: 'string' },
    node: { type: 'string' },
    capture_id: { type: 'integer' },
    correlation_id: { type: 'string' },
    user_agent: { type: 'string' },
    warnings: { type: 'array', items: { type: 'string' } },
    start_line: { type: 'string' },
    headers: { type: 'array', items: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: { type: 'string' } } } },
    body: { type: 'string' },
    raw: { type: 'string', description: 'The message as captured (decoded as UTF-8)' },
  },
} as const;
