/**
 * The ClickHouse row shapes of the analyzer's tables and the pure functions that build them. Column names match
 * the migrations in `sql/`; times are µs since the epoch (numbers), written as DateTime64(6) by the insert encoders
 * (table-writer.ts); `formatUs` makes the text form where text is needed (JSON inserts, events).
 */
import type { CallRecord, RegistrationRecord } from '../correlation/index.ts';
import type { TenantMap } from '../tenants.ts';
import type { EncodedRows, RowBlock } from './encoded-rows.ts';
import { ANALYZER_TABLES, type RowOf } from './column-spec.ts';
import type { COLUMNS } from './columns.ts';

export const TABLES = ANALYZER_TABLES;
export type TableName = (typeof TABLES)[number];

// Times of a batch fall in a handful of seconds, but not in order (three partitions, calls emitted minutes after
// their setup): the date-time part is cached per second in a small direct-mapped table rather than for the last
// second only (Date#toISOString per value was one of the analyzer's largest costs).
const PREFIX_SLOTS = 256;
const prefixSecond = new Float64Array(PREFIX_SLOTS).fill(Number.NaN);
const prefixText: string[] = new Array<string>(PREFIX_SLOTS).fill('');

/** µs since the epoch → DateTime64(6) text. */
export function formatUs(us: number): string {
  const t = Math.trunc(us);
  const frac = ((t % 1_000_000) + 1_000_000) % 1_000_000;
  return `${secondText((t - frac) / 1_000_000)}.${String(frac).padStart(6, '0')}`;
}

/** Whole seconds since the epoch → `YYYY-MM-DD hh:mm:ss` (UTC), cached: `formatUs` before the fraction. */
export function secondText(second: number): string {
  const slot = second & (PREFIX_SLOTS - 1);
  let prefix = prefixText[slot]!;
  if (prefixSecond[slot] !== second) {
    prefix = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ');
    prefixSecond[slot] = second;
    prefixText[slot] = prefix;
  }
  return prefix;
}

export interface KafkaPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Row types come from the column spec generated from sql/ (column-spec.ts): a drift fails type-checking. */
/** `raw` may be the captured bytes themselves: the RowBinary insert copies them, no string is made per message
 * (the JSON insert and the quarantine copy decode them: table-writer.ts). */
export type SipMessageRow = Omit<RowOf<typeof COLUMNS.sip_messages>, 'raw'> & { raw: string | Buffer };
export type QuarantineRow = RowOf<typeof COLUMNS.sip_quarantine>;
export type QosRow = RowOf<typeof COLUMNS.qos>;
export type CallRow = RowOf<typeof COLUMNS.calls>;
export type RegistrationRow = RowOf<typeof COLUMNS.registrations>;

export function callRow(r: CallRecord, tenants: TenantMap, partition: number, receivedUs: number): CallRow {
  const { tenant, domain } = tenants.pick([r.from_domain, r.to_domain, r.ruri_domain]);
  return {
    setup_ts: r.setup_us,
    tenant,
    domain,
    call_id: r.call_id,
    from_tag: r.from_tag,
    to_tag: r.to_tag ?? '',
    from_user: r.from_user ?? '',
    from_domain: r.from_domain ?? '',
    from_display: r.from_display ?? '',
    to_user: r.to_user ?? '',
    to_domain: r.to_domain ?? '',
    ruri_user: r.ruri_user ?? '',
    ruri_domain: r.ruri_domain ?? '',
    src_ip: r.src_ip,
    src_port: r.src_port,
    dst_ip: r.dst_ip,
    dst_port: r.dst_port,
    transport: r.transport,
    user_agent: r.user_agent ?? '',
    first_provisional_ts: r.first_provisional_us,
    ring_ts: r.ring_us,
    pdd_ms: r.pdd_ms,
    answer_ts: r.answer_us,
    ack_seen: r.ack_seen,
    end_ts: r.end_us,
    duration_ms: r.duration_ms,
    final_status: r.final_status,
    final_reason: r.final_reason ?? '',
    state: r.state,
    end_reason: r.end_reason,
    hangup_side: r.hangup_side,
    attempts: r.attempts,
    auth_challenges: r.auth_challenges,
    redirects: r.redirects,
    reinvites: r.reinvites,
    linked_call_id: r.linked_call_id ?? '',
    linked_source: r.linked_source ?? '',
    capture_ids: r.capture_ids,
    nodes: r.nodes,
    hops: r.hops,
    retransmissions: r.retransmissions,
    messages: r.messages,
    kafka_partition: partition,
    received_at: receivedUs,
  };
}

export function registrationRow(r: RegistrationRecord, tenants: TenantMap, partition: number, receivedUs: number): RegistrationRow {
  const { tenant, domain } = tenants.pick([r.aor_domain]);
  return {
    ts: r.ts_us,
    response_ts: r.response_us,
    tenant,
    domain,
    call_id: r.call_id,
    cseq: r.cseq,
    aor_user: r.aor_user ?? '',
    aor_domain: r.aor_domain ?? '',
    contacts: r.contacts,
    expires_requested: r.expires_requested,
    expires_granted: r.expires_granted,
    status: r.status,
    reason: r.reason ?? '',
    outcome: r.outcome,
    challenged: r.challenged,
    deregistration: r.deregistration,
    auth_user: r.auth_user ?? '',
    user_agent: r.user_agent ?? '',
    src_ip: r.src_ip,
    src_port: r.src_port,
    dst_ip: r.dst_ip,
    dst_port: r.dst_port,
    transport: r.transport,
    capture_id: r.capture_id,
    node: r.node,
    contact_host: r.contact_host ?? '',
    nat_private_contact: r.nat_private_contact,
    nat_contact_mismatch: r.nat_contact_mismatch,
    via_received: r.via_received ?? '',
    via_rport: r.via_rport,
    behind_nat: r.behind_nat,
    hops: r.hops,
    retransmissions: r.retransmissions,
    messages: r.messages,
    kafka_partition: partition,
    received_at: receivedUs,
  };
}

/** Rows of one batch, per table, in input order (the order is part of what a replay must reproduce). */
export class TableRows {
  readonly sip_messages: SipMessageRow[] = [];
  readonly sip_quarantine: QuarantineRow[] = [];
  readonly qos: QosRow[] = [];
  readonly calls: CallRow[] = [];
  readonly registrations: RegistrationRow[] = [];
  /** A table's rows already encoded (the hot path's `sip_messages`: encoded-rows.ts), in place of its objects. */
  readonly encoded: Partial<Record<TableName, EncodedRows>> = {};

  entries(): Array<[TableName, RowBlock]> {
    return TABLES.map((t) => [t, this.encoded[t] ?? this[t] as readonly Record<string, unknown>[]]);
  }

  get total(): number {
    return TABLES.reduce((n, t) => n + (this.encoded[t] ?? this[t]).length, 0);
  }
}
