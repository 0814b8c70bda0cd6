/**
 * One Kafka record → what it becomes: a SIP message row (plus the tracker input and the detector event), QoS rows,
 * or a quarantine row with a stable reason. Pure and total: every input ends somewhere, nothing throws.
 */
import { decodeEnvelope, type Envelope } from '../../shared/hep/envelope.ts';
import { decodeHep, HepDecodeError, HepPayloadType, type HepPacket } from '../../shared/hep/index.ts';
import { isTollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';
import type { ObservedSip } from '../correlation/index.ts';
import { quarantineEvent, sipEvent, eventId, type QuarantineEvent, type SipEvent } from '../events.ts';
import { parseQosJson } from '../qos/json.ts';
import { parseRtcp } from '../qos/rtcp.ts';
import { parseSip, type SipMessage } from '../sip/index.ts';
import { type QosRow, type QuarantineRow, type SipMessageRow } from '../store/rows.ts';
import type { TenantMap } from '../tenants.ts';

export type TopicKind = 'sip' | 'rtcp' | 'qos';

export interface RecordContext {
  readonly topic: string;
  readonly topicKind: TopicKind;
  readonly partition: number;
  readonly offset: number;
  /** Kafka record timestamp (ms): the time of a record whose envelope cannot be read. Stable across replays,
   * unlike the wall clock, so a replayed row lands in the same day partition and insert block. */
  readonly kafkaTimestampMs: number;
}

export type Decoded =
  | { readonly kind: 'sip'; readonly row: SipMessageRow; readonly observed: ObservedSip; readonly event: SipEvent; readonly receivedUs: number }
  | { readonly kind: 'qos'; readonly rows: QosRow[] }
  | { readonly kind: 'quarantine'; readonly row: QuarantineRow; readonly event: QuarantineEvent };

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

export function decodeRecord(value: Buffer | null, ctx: RecordContext, tenants: TenantMap): Decoded {
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
    const row = sipRow(ctx, env, hep, m, parsed.warnings, tenants);
    const observed: ObservedSip = {
      message: m,
      tsUs: row.ts,
      srcIp: hep.srcIp,
      srcPort: hep.srcPort,
      dstIp: hep.dstIp,
      dstPort: hep.dstPort,
      transport: row.transport,
      captureId: hep.captureId,
      node: hep.nodeName ?? '',
      ...(hep.correlationId !== undefined ? { correlationId: hep.correlationId } : {}),
      seq: ctx.offset,
    };
    return { kind: 'sip', row, observed, event: sipEvent(row, eventId(ctx.topic, ctx.partition, ctx.offset)), receivedUs: row.received_at };
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
