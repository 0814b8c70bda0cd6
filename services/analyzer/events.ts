/**
 * The normalized event stream for the detectors (`sip.events`, keyed by source IP) and the quarantine events
 * (`sip.quarantine`). Versioned JSON; `id` is `topic/partition/offset` of the captured record, stable across
 * replays, so a detector de-duplicates the at-least-once delivery by it.
 */
import { partitionFor } from '../shared/kafka/partition.ts';
import type { SipMessageRow, QuarantineRow } from './store/rows.ts';

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
  if (row.kind === 'request') {
    if (row.method === 'REGISTER') return 'register';
    if (row.method === 'INVITE' && row.to_tag === '') return 'invite';
    return 'request';
  }
  const s = row.status;
  if (s < 200) return 'provisional';
  if (row.method === 'REGISTER') return s < 300 ? 'register_ok' : s === 401 || s === 407 ? 'register_challenge' : 'register_failed';
  if (row.method === 'INVITE') return s < 300 ? 'invite_answered' : 'invite_failed';
  return s < 300 ? 'response_ok' : 'response_failed';
}

export function sipEvent(row: SipMessageRow, id: string): SipEvent {
  return {
    v: SIP_EVENT_VERSION,
    id,
    kind: sipEventKind(row),
    ts: row.ts,
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
    ts: row.ts,
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

/**
 * Version 2 of a `sip.events` / `sip.quarantine` record: a container of events instead of one event per record.
 * Each Kafka record costs the producer a fixed amount of work (record object, varints, its share of the request and
 * of the broker's bookkeeping) and the guard's consumer as much again, so the analyzer packs a batch's events per
 * target partition into as few records as the size limit allows (bench/PROFILE.md, "sip.events cost").
 *
 * The value is newline-delimited JSON: a header line `{"v":2,"n":<events>}`, then `n` lines, each exactly the JSON of
 * a version-1 event (`JSON.stringify` escapes every newline inside a string, so a raw 0x0A only ever separates
 * lines, and it never occurs inside a multi-byte UTF-8 sequence). A reader can therefore hand each line on as a
 * version-1 record (the guard's re-keying forwarder does). Event ids stay those of the captured records, so the
 * detectors' de-duplication is unchanged. A container holds events of one partition only, in the analyzer's order,
 * and is keyed by the source IP of its first event: the producer's key hash sends it to exactly the partition every
 * one of its events would have gone to as a version-1 record (per-source order and partition affinity hold).
 */
export const EVENT_CONTAINER_VERSION = 2;

const HEADER_PREFIX = '{"v":2,"n":';
const HEADER_PREFIX_BYTES = Buffer.from(HEADER_PREFIX);
const NEWLINE = 0x0a;

/** Most UTF-16 units of event JSON in one container: ≤ 3 bytes each, so a record stays below the broker's 1 MiB default. */
export const CONTAINER_MAX_CHARS = 256 * 1024;

/** The record format the analyzer writes: `v2` containers (default) or `v1` single events (readers not yet upgraded). */
export type EventFormat = 'v1' | 'v2';

export interface EventRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Events in the record (1 for a version-1 record). */
  readonly events: number;
}

/** The one place an event leaves the analyzer as bytes: version 1, one record per event, keyed by source IP. */
export function singleEventRecords(events: readonly (SipEvent | QuarantineEvent)[]): EventRecord[] {
  return events.map((e) => ({ key: Buffer.from(e.src_ip), value: Buffer.from(JSON.stringify(e)), events: 1 }));
}

/**
 * Version 2: the events grouped by the partition their source IP's key hash picks among `partitions`, each group in
 * input order, cut into containers of at most `maxChars` characters of event JSON (an event larger than that gets a
 * container of its own). Records come out partition by partition, each partition's in order.
 */
export function containerRecords(events: readonly (SipEvent | QuarantineEvent)[], partitions: number, maxChars = CONTAINER_MAX_CHARS): EventRecord[] {
  const byPartition = new Map<number, { key: string; lines: string[]; chars: number }[]>();
  const partitionOf = new Map<string, number>();
  for (const e of events) {
    let p = partitionOf.get(e.src_ip);
    if (p === undefined) partitionOf.set(e.src_ip, (p = partitionFor(Buffer.from(e.src_ip), partitions)));
    let list = byPartition.get(p);
    if (list === undefined) byPartition.set(p, (list = []));
    const line = JSON.stringify(e);
    let cur = list[list.length - 1];
    if (cur === undefined || (cur.lines.length > 0 && cur.chars + line.length > maxChars)) list.push((cur = { key: e.src_ip, lines: [], chars: 0 }));
    cur.lines.push(line);
    cur.chars += line.length + 1;
  }
  const out: EventRecord[] = [];
  for (const list of byPartition.values()) {
    for (const c of list) out.push({ key: Buffer.from(c.key), value: encodeContainer(c.lines), events: c.lines.length });
  }
  return out;
}

/** A container of the given event JSON lines (each the JSON of a version-1 event, without newlines). */
export function encodeContainer(lines: readonly string[]): Buffer {
  return Buffer.from(`${HEADER_PREFIX}${lines.length}}\n${lines.join('\n')}`);
}

/** Whether a record value is a version-2 container (it may still be malformed: `containerLines` checks). */
export function isContainer(value: Buffer): boolean {
  return value.length >= HEADER_PREFIX_BYTES.length && value.compare(HEADER_PREFIX_BYTES, 0, HEADER_PREFIX_BYTES.length, 0, HEADER_PREFIX_BYTES.length) === 0;
}

/**
 * The event lines of a version-2 container as views of `value` (no copy), or undefined when the value is not a
 * well-formed container: a header other than `{"v":2,"n":<1..>}`, or a line count other than `n` (a cut record).
 * The lines themselves are not checked here: each is one version-1 event for the reader's own validation.
 */
export function containerLines(value: Buffer): Buffer[] | undefined {
  if (!isContainer(value)) return undefined;
  const end = value.indexOf(NEWLINE);
  if (end < 0) return undefined;
  const digits = value.toString('latin1', HEADER_PREFIX_BYTES.length, end);
  if (!/^[1-9][0-9]{0,8}\}$/.test(digits)) return undefined;
  const n = Number(digits.slice(0, -1));
  const lines: Buffer[] = [];
  let start = end + 1;
  for (let i = 0; i < n - 1; i++) {
    const nl = value.indexOf(NEWLINE, start);
    if (nl < 0) return undefined;
    lines.push(value.subarray(start, nl));
    start = nl + 1;
  }
  // The last line runs to the end: another newline means more lines than the header says (a concatenation).
  if (value.indexOf(NEWLINE, start) >= 0) return undefined;
  lines.push(value.subarray(start));
  return lines;
}
