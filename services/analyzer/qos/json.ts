/**
 * HEP QoS JSON reports (payload types 32, 34, 35): every agent names its fields differently (rtpagent's `MOS`,
 * `JITTER`, `PACKET_LOSS`; FreeSWITCH and heplify's lower-case names). Keys are compared after lower-casing and
 * dropping everything but letters and digits, searched two levels deep; the JSON itself is stored as sent.
 */
import { TollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';

export interface QosJsonFields {
  mos: number | null;
  r_factor: number | null;
  jitter_ms: number | null;
  packets_lost: number | null;
  packets_sent: number | null;
  packets_received: number | null;
  delay_ms: number | null;
}

const ALIASES: Record<keyof QosJsonFields, readonly string[]> = {
  mos: ['mos', 'moslq', 'mosavg', 'mosvalue'],
  r_factor: ['rfactor', 'rfactoravg', 'rvalue'],
  jitter_ms: ['jitter', 'jitterms', 'avgjitter', 'meanjitter', 'iajitter'],
  packets_lost: ['packetslost', 'packetloss', 'pktlost', 'lostpackets', 'lost', 'cumulativelost'],
  packets_sent: ['packetssent', 'totalpk', 'expectedpk', 'sentpackets', 'sent'],
  packets_received: ['packetsreceived', 'receivedpackets', 'recvpk', 'received'],
  delay_ms: ['delay', 'delayms', 'rtt', 'roundtripdelay', 'avgdelay'],
};

function norm(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function collect(obj: Record<string, unknown>, depth: number, into: Map<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const n = norm(k);
    if (!into.has(n) && num(v) !== null) into.set(n, v);
  }
  if (depth === 0) return;
  for (const v of Object.values(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) collect(v as Record<string, unknown>, depth - 1, into);
  }
}

export interface QosJsonReport {
  readonly fields: QosJsonFields;
  /** The JSON text as sent (UTF-8). */
  readonly raw: string;
}

export function parseQosJson(payload: Buffer): QosJsonReport {
  const raw = payload.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new TollgateError(AnalyzerErrors.qosJsonInvalid, `QoS report is not JSON: ${(err as Error).message}`, {}, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TollgateError(AnalyzerErrors.qosJsonInvalid, 'QoS report JSON is not an object');
  }
  const found = new Map<string, unknown>();
  collect(parsed as Record<string, unknown>, 2, found);
  const fields = {} as QosJsonFields;
  for (const [field, names] of Object.entries(ALIASES) as Array<[keyof QosJsonFields, readonly string[]]>) {
    let value: number | null = null;
    for (const n of names) {
      const v = num(found.get(n));
      if (v !== null) {
        value = v;
        break;
      }
    }
    fields[field] = value;
  }
  return { fields, raw };
}
