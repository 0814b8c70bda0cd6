/**
 * One Kafka record → what it becomes: a SIP message row (plus the tracker input and the detector event), QoS rows,
 * or a quarantine row with a stable reason. Pure and total: every input ends somewhere, nothing throws.
 */
import { decodeEnvelope, type Envelope } from '../../shared/hep/envelope.ts';
import { decodeHep, HepDecodeError, HepPayloadType, type HepPacket } from '../../shared/hep/index.ts';
import { isTollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';
import type { ObservedSip } from '../correlation/index.ts';
import type { SipEventLines } from '../event-records.ts';
import { eventKindOf, quarantineEvent, sipEvent, eventId, type QuarantineEvent, type SipEvent } from '../events.ts';
import { parseQosJson } from '../qos/json.ts';
import { parseRtcp } from '../qos/rtcp.ts';
import { parseSip, type SipMessage } from '../sip/index.ts';
import { EncodedRows, type EncodedRowsBuilder } from '../store/encoded-rows.ts';
import { compileValuesWriter } from '../store/row-binary.ts';
import { type QosRow, type QuarantineRow, type SipMessageRow } from '../store/rows.ts';
import { CODECS } from '../store/table-writer.ts';
import type { TenantMap } from '../tenants.ts';

export type TopicKind = 'sip' | 'rtcp' | 'qos';

/** Read while a record is decoded, never kept (the partition worker moves one context along its batch). */
export interface RecordContext {
  readonly topic: string;
  readonly topicKind: TopicKind;
  readonly partition: number;
  readonly offset: number;
  /** Kafka record timestamp (ms): the time of a record whose envelope cannot be read. Stable across replays,
   * unlike the wall clock, so a replayed row lands in the same day partition and insert block. */
  readonly kafkaTimestampMs: number;
}

/**
 * Where the hot path writes a SIP message instead of making its row and event objects (bench/PROFILE.md, "Rows
 * without row objects"): the `sip_messages` row straight into the batch's RowBinary, the event straight as its v2
 * line, or no event at all when events are off. What is not given is made as objects, as without `DirectSip`.
 */
export interface DirectSip {
  readonly rows?: EncodedRowsBuilder;
  readonly events?: SipEventLines | 'none';
}

/**
 * The `sip_messages` columns in the order `sipDirect` passes their values. Checked against the column spec when
 * this module loads: a migration that changes the table stops the analyzer here until the hot path follows.
 */
const SIP_MESSAGE_COLUMNS = [
  'ts', 'received_at', 'tenant', 'domain', 'kind', 'method', 'status', 'reason', 'call_id', 'cseq_num', 'cseq_method',
  'from_user', 'from_domain', 'from_tag', 'to_user', 'to_domain', 'to_tag', 'ruri_user', 'ruri_domain', 'src_ip', 'src_port',
  'dst_ip', 'dst_port', 'transport', 'via_branch', 'user_agent', 'auth_user', 'capture_id', 'node', 'correlation_id', 'warnings',
  'raw', 'kafka_partition', 'kafka_offset',
] as const;
if (CODECS.sip_messages.columns.join() !== SIP_MESSAGE_COLUMNS.join()) {
  throw new Error(`sip_messages columns changed (${CODECS.sip_messages.columns.join(', ')}): update SIP_MESSAGE_COLUMNS and sipDirect in services/analyzer/consumer/decode.ts`);
}
const SIP_MESSAGE_VALUES = compileValuesWriter(CODECS.sip_messages);

/** A batch's `sip_messages` rows, written as they are decoded (`DirectSip.rows`). */
export function sipMessageRows(expectedRows: number): EncodedRowsBuilder {
  return EncodedRows.builder(CODECS.sip_messages, SIP_MESSAGE_VALUES, expectedRows < 64 ? 16 * 1024 : 1 << 20);
}

type NotSip =
  | { readonly kind: 'qos'; readonly rows: QosRow[] }
  | { readonly kind: 'quarantine'; readonly row: QuarantineRow; readonly event: QuarantineEvent };

export type Decoded =
  | { readonly kind: 'sip'; readonly row: SipMessageRow; readonly observed: ObservedSip; readonly event: SipEvent; readonly receivedUs: number }
  | NotSip;

/** With `DirectSip`: `row` / `event` are undefined when it took them. */
export type DecodedDirect =
  | { readonly kind: 'sip'; readonly row: SipMessageRow | undefined; readonly observed: ObservedSip; readonly event: SipEvent | undefined; readonly receivedUs: number }
  | NotSip;

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

function hepUs(p: HepPacket): number {
  return p.timestampSec * 1_000_000 + p.timestampUsec;
}

function envUs(e: Envelope): number {
  return Number(e.receivedAtNs / 1000n);
}

function quarantine(
  ctx: RecordContext, reason: string, detail: string, raw: Buffer, env: Envelope | undefined, hep: HepPacket | undefined,
  tenants: TenantMap, callId = '',
): Decoded {
  const recv = env ? envUs(env) : ctx.kafkaTimestampMs * 1000;
  const row: QuarantineRow = {
    ts: hep ? hepUs(hep) : recv,
    received_at: recv,
    tenant: tenants.defaultTenant,
    domain: '',
    reason,
    detail: detail.slice(0, 1000),
    call_id: callId || hep?.correlationId || '',
    src_ip: hep?.srcIp ?? env?.senderIp ?? '',
    src_port: hep?.srcPort ?? env?.senderPort ?? 0,
    dst_ip: hep?.dstIp ?? '',
    dst_port: hep?.dstPort ?? 0,
    transport: hep ? (PROTO[hep.protocol] ?? String(hep.protocol)) : '',
    capture_id: hep?.captureId ?? 0,
    node: hep?.nodeName ?? '',
    payload_type: hep?.payloadType ?? 0,
    raw_base64: raw.toString('base64'),
    kafka_topic: ctx.topic,
    kafka_partition: ctx.partition,
    kafka_offset: ctx.offset,
  };
  return { kind: 'quarantine', row, event: quarantineEvent(row, eventId(ctx.topic, ctx.partition, ctx.offset)) };
}

function sipRow(ctx: RecordContext, env: Envelope, hep: HepPacket, m: SipMessage, warnings: readonly string[], tenants: TenantMap): SipMessageRow {
  const isReq = m.kind === 'request';
  const ruri = isReq && m.requestUri?.kind === 'sip' ? m.requestUri : undefined;
  const fromDomain = m.from.host?.toLowerCase() ?? '';
  const toDomain = m.to.host?.toLowerCase() ?? '';
  const ruriDomain = ruri?.host.toLowerCase() ?? '';
  const { tenant, domain } = tenants.pick(m.cseq.method === 'REGISTER' ? [toDomain, fromDomain, ruriDomain] : [fromDomain, toDomain, ruriDomain]);
  const auth = m.authorization ?? m.proxyAuthorization;
  return {
    ts: hepUs(hep),
    received_at: envUs(env),
    tenant,
    domain,
    kind: m.kind,
    method: isReq ? m.method : m.cseq.method,
    status: isReq ? 0 : m.statusCode,
    reason: isReq ? '' : m.reasonPhrase,
    call_id: m.callId,
    cseq_num: m.cseq.seq,
    cseq_method: m.cseq.method,
    from_user: m.from.user ?? '',
    from_domain: fromDomain,
    from_tag: m.from.tag ?? '',
    to_user: m.to.user ?? '',
    to_domain: toDomain,
    to_tag: m.to.tag ?? '',
    ruri_user: ruri?.user ?? '',
    ruri_domain: ruriDomain,
    src_ip: hep.srcIp,
    src_port: hep.srcPort,
    dst_ip: hep.dstIp,
    dst_port: hep.dstPort,
    transport: m.topVia?.transport ?? PROTO[hep.protocol] ?? String(hep.protocol),
    via_branch: m.topVia?.branch ?? '',
    user_agent: m.userAgent ?? m.server ?? '',
    auth_user: auth?.username ?? '',
    capture_id: hep.captureId,
    node: hep.nodeName ?? '',
    correlation_id: hep.correlationId ?? '',
    // Shared, not copied: nothing downstream changes a row (one array less per message).
    warnings: warnings as string[],
    raw: hep.payload,
    kafka_partition: ctx.partition,
    kafka_offset: ctx.offset,
  };
}

function qosBase(ctx: RecordContext, env: Envelope, hep: HepPacket, tenants: TenantMap, report: string): QosRow {
  return {
    ts: hepUs(hep),
    received_at: envUs(env),
    // Media reports carry no SIP domain; their tenant is the call's, found by joining `calls` on call_id.
    tenant: tenants.defaultTenant,
    domain: '',
    call_id: hep.correlationId ?? '',
    report,
    src_ip: hep.srcIp,
    src_port: hep.srcPort,
    dst_ip: hep.dstIp,
    dst_port: hep.dstPort,
    capture_id: hep.captureId,
    node: hep.nodeName ?? '',
    reporter_ssrc: 0,
    source_ssrc: 0,
    direction: `${hep.srcIp}:${hep.srcPort}>${hep.dstIp}:${hep.dstPort}`,
    fraction_lost: null,
    cumulative_lost: null,
    highest_seq: null,
    jitter_ts_units: null,
    sr_ntp_ts: null,
    sr_packets: null,
    sr_octets: null,
    mos: hep.mos !== undefined ? hep.mos / 100 : null,
    r_factor: null,
    jitter_ms: null,
    packets_lost: null,
    packets_sent: null,
    packets_received: null,
    delay_ms: null,
    raw_json: '',
    kafka_topic: ctx.topic,
    kafka_partition: ctx.partition,
    kafka_offset: ctx.offset,
  };
}

function rtcpRows(ctx: RecordContext, env: Envelope, hep: HepPacket, tenants: TenantMap): QosRow[] {
  const rows: QosRow[] = [];
  for (const r of parseRtcp(hep.payload)) {
    const base = qosBase(ctx, env, hep, tenants, r.type === 'sr' ? 'rtcp_sr' : 'rtcp_rr');
    base.reporter_ssrc = r.reporterSsrc;
    if (r.sender) {
      base.sr_ntp_ts = r.sender.ntpTs.toString();
      base.sr_packets = r.sender.packets;
      base.sr_octets = r.sender.octets;
    }
    // An SR without blocks still says how much the sender sent: keep it as one row.
    if (r.blocks.length === 0) rows.push(base);
    for (const b of r.blocks) {
      rows.push({
        ...base,
        source_ssrc: b.sourceSsrc,
        fraction_lost: b.fractionLost / 256,
        cumulative_lost: b.cumulativeLost,
        highest_seq: b.highestSeq,
        jitter_ts_units: b.jitter,
      });
    }
  }
  return rows;
}

function qosJsonRow(ctx: RecordContext, env: Envelope, hep: HepPacket, tenants: TenantMap): QosRow {
  const { fields, raw } = parseQosJson(hep.payload);
  const row = qosBase(ctx, env, hep, tenants, `hep_${hep.payloadType}`);
  return { ...row, ...fields, mos: fields.mos ?? row.mos, raw_json: raw };
}

/**
 * `sipRow` and `sipEvent` + `eventLine` without the objects: each value computed once, the row written into the
 * batch's RowBinary, the event line made from the same values. The same bytes as the object path (proved by
 * test/unit/analyzer/direct-rows.test.ts).
 */
function sipDirect(ctx: RecordContext, env: Envelope, hep: HepPacket, m: SipMessage, warnings: readonly string[], tenants: TenantMap,
  direct: DirectSip): DecodedDirect {
  const isReq = m.kind === 'request';
  const ruri = isReq && m.requestUri?.kind === 'sip' ? m.requestUri : undefined;
  const from = m.from;
  const to = m.to;
  const cseq = m.cseq;
  const fromDomain = from.host?.toLowerCase() ?? '';
  const toDomain = to.host?.toLowerCase() ?? '';
  const ruriDomain = ruri?.host.toLowerCase() ?? '';
  const { tenant, domain } = tenants.pick(cseq.method === 'REGISTER' ? [toDomain, fromDomain, ruriDomain] : [fromDomain, toDomain, ruriDomain]);
  const auth = m.authorization ?? m.proxyAuthorization;
  const ts = hepUs(hep);
  const recv = envUs(env);
  const method = isReq ? m.method : cseq.method;
  const status = isReq ? 0 : m.statusCode;
  const via = m.topVia;
  const transport = via?.transport ?? PROTO[hep.protocol] ?? String(hep.protocol);
  const fromUser = from.user ?? '';
  const toUser = to.user ?? '';
  const toTag = to.tag ?? '';
  const ruriUser = ruri?.user ?? '';
  const userAgent = m.userAgent ?? m.server ?? '';
  const authUser = auth?.username ?? '';
  let row: SipMessageRow | undefined;
  const b = direct.rows;
  if (b === undefined) row = sipRow(ctx, env, hep, m, warnings, tenants);
  else if (b.values(b.writer, ts, recv, tenant, domain, m.kind, method, status, isReq ? '' : m.reasonPhrase, m.callId, cseq.seq, cseq.method,
    fromUser, fromDomain, from.tag ?? '', toUser, toDomain, toTag, ruriUser, ruriDomain, hep.srcIp, hep.srcPort, hep.dstIp, hep.dstPort,
    transport, via?.branch ?? '', userAgent, authUser, hep.captureId, hep.nodeName ?? '', hep.correlationId ?? '', warnings, hep.payload,
    ctx.partition, ctx.offset)) b.ended();
  // A value the positional writer does not take plainly: the row object, for the table's writer to write or refuse.
  else b.keep(sipRow(ctx, env, hep, m, warnings, tenants));
  const events = direct.events;
  let event: SipEvent | undefined;
  if (events === undefined) event = sipEvent(row ?? sipRow(ctx, env, hep, m, warnings, tenants), eventId(ctx.topic, ctx.partition, ctx.offset));
  else if (events !== 'none') {
    events.addSip(hep.srcIp, ctx.topic, ctx.partition, ctx.offset, eventKindOf(m.kind, method, status, toTag), ts,
      hep.srcIp, hep.dstIp, method, status, m.callId, cseq.seq, fromUser, fromDomain, toUser, ruriUser, userAgent, authUser, tenant);
  }
  return { kind: 'sip', row, observed: observedOf(ctx, hep, m, transport, ts), event, receivedUs: recv };
}

/** What the trackers get of a message (two literals rather than a spread: no temporary object per message). */
function observedOf(ctx: RecordContext, hep: HepPacket, m: SipMessage, transport: string, ts: number): ObservedSip {
  const node = hep.nodeName ?? '';
  const correlationId = hep.correlationId;
  return correlationId === undefined
    ? { message: m, tsUs: ts, srcIp: hep.srcIp, srcPort: hep.srcPort, dstIp: hep.dstIp, dstPort: hep.dstPort, transport, captureId: hep.captureId, node, seq: ctx.offset }
    : {
      message: m, tsUs: ts, srcIp: hep.srcIp, srcPort: hep.srcPort, dstIp: hep.dstIp, dstPort: hep.dstPort, transport, captureId: hep.captureId, node,
      correlationId, seq: ctx.offset,
    };
}

export function decodeRecord(value: Buffer | null, ctx: RecordContext, tenants: TenantMap): Decoded;
export function decodeRecord(value: Buffer | null, ctx: RecordContext, tenants: TenantMap, direct: DirectSip | undefined): DecodedDirect;
export function decodeRecord(value: Buffer | null, ctx: RecordContext, tenants: TenantMap, direct?: DirectSip): DecodedDirect {
  const raw = value ?? Buffer.alloc(0);
  let env: Envelope;
  try {
    env = decodeEnvelope(raw);
  } catch (err) {
    return quarantine(ctx, 'envelope_invalid', (err as Error).message, raw, undefined, undefined, tenants);
  }
  let hep: HepPacket;
  try {
    hep = decodeHep(env.hep);
  } catch (err) {
    const reason = err instanceof HepDecodeError ? `hep_${err.reason}` : 'hep_invalid';
    return quarantine(ctx, reason, (err as Error).message, env.hep, env, undefined, tenants);
  }
  if (ctx.topicKind === 'sip') {
    if (hep.payloadType !== HepPayloadType.SIP) {
      return quarantine(ctx, 'not_sip', `HEP payload type ${hep.payloadType} on the SIP topic`, hep.payload, env, hep, tenants);
    }
    const parsed = parseSip(hep.payload);
    if (!parsed.ok) return quarantine(ctx, `sip_${parsed.reason}`, parsed.detail, hep.payload, env, hep, tenants, parsed.callId ?? '');
    const m = parsed.message;
    if (direct !== undefined) return sipDirect(ctx, env, hep, m, parsed.warnings, tenants, direct);
    const row = sipRow(ctx, env, hep, m, parsed.warnings, tenants);
    const event = sipEvent(row, eventId(ctx.topic, ctx.partition, ctx.offset));
    return { kind: 'sip', row, observed: observedOf(ctx, hep, m, row.transport, row.ts), event, receivedUs: row.received_at };
  }
  try {
    if (hep.payloadType === HepPayloadType.RTCP) return { kind: 'qos', rows: rtcpRows(ctx, env, hep, tenants) };
    if (hep.payloadType === HepPayloadType.QOS_REPORT || hep.payloadType === HepPayloadType.QOS_RTPAGENT
      || hep.payloadType === HepPayloadType.QOS_RTCPXR) {
      return { kind: 'qos', rows: [qosJsonRow(ctx, env, hep, tenants)] };
    }
  } catch (err) {
    const reason = isTollgateError(err, AnalyzerErrors.rtcpInvalid) ? 'rtcp_invalid'
      : isTollgateError(err, AnalyzerErrors.qosJsonInvalid) ? 'qos_json_invalid' : 'qos_invalid';
    return quarantine(ctx, reason, (err as Error).message, hep.payload, env, hep, tenants);
  }
  return quarantine(ctx, 'unexpected_payload_type', `HEP payload type ${hep.payloadType} on the ${ctx.topicKind} topic`,
    hep.payload, env, hep, tenants);
}
