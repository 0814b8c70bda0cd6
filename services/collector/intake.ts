/**
 * The hot path, pure: bytes + sender + receive time -> an accepted CaptureRecord or a drop reason. No I/O, no
 * logging, no metrics objects; the listener counts what it gets back. Returning a string for a drop keeps the
 * accepted path free of wrapper allocations.
 */
import { timingSafeEqual } from 'node:crypto';
import { decodeHep, HepChunk, HepDecodeError, withoutChunk, type HepDecodeReason, type HepPacket } from '../shared/hep/index.ts';
import type { CaptureRecord } from './publish/record.ts';
import { topicName, type TopicKey } from '../shared/kafka/topics.ts';
import { encodeEnvelope, FLAG_TS_FIXED, type EnvelopeSender, type Transport } from '../shared/hep/envelope.ts';
import { findCallId } from './sip-call-id.ts';

export type DropReason = `decode:${HepDecodeReason}` | 'auth' | 'capture_id' | 'source_not_allowed';

/** A sender as the listeners see it, prepared once per address so the per-packet work is a lookup. */
export interface Sender extends EnvelopeSender {
  /** `ip:port` (IPv6 in brackets); the key of last resort and the malformed-sender label. */
  readonly text: string;
  readonly keyBytes: Buffer;
  /** Allowlist verdict, decided when the sender was first seen. */
  readonly allowed: boolean;
}

export type HeaderMode = 'full' | 'minimal';

export interface IntakeOptions {
  readonly topicPrefix: string;
  readonly authKey?: string | undefined;
  readonly captureIds?: ReadonlySet<number> | undefined;
  readonly maxPacketSize?: number;
  /** How far in the future a HEP timestamp may be before it is replaced by the receive time. */
  readonly timestampSkewMs?: number;
  /** `minimal` drops the per-packet address/timestamp headers (see bench/README.md for what they cost). */
  readonly headers?: HeaderMode;
}

export const ROUTE_KEYS = ['hepSip', 'hepRtcp', 'hepQos', 'hepLog', 'hepOther'] as const satisfies readonly TopicKey[];
export type RouteKey = (typeof ROUTE_KEYS)[number];

export function routeOf(payloadType: number): RouteKey {
  switch (payloadType) {
    case 1:
      return 'hepSip';
    case 5:
      return 'hepRtcp';
    case 32:
    case 34:
    case 35:
      return 'hepQos';
    case 86:
    case 87:
    case 100:
      return 'hepLog';
    default:
      return 'hepOther';
  }
}

const TYPE_TEXT: string[] = Array.from({ length: 256 }, (_, i) => String(i));

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export class Intake {
  readonly #topics: string[];
  readonly #routeIndex = new Uint8Array(256);
  readonly #authKey: Buffer | undefined;
  readonly #captureIds: ReadonlySet<number> | undefined;
  readonly #decodeOptions: { maxPacketSize: number };
  readonly #skewNs: bigint;
  readonly #fullHeaders: boolean;
  /** Wall clock minus monotonic clock, refreshed by `syncClock()` so NTP steps reach the envelope times. */
  #wallOffsetNs = 0n;
  /** Route index of the last accepted packet, read by the listener for its per-type counter. */
  lastRoute = 0;

  constructor(opts: IntakeOptions) {
    this.#topics = ROUTE_KEYS.map((k) => topicName(opts.topicPrefix, k));
    for (let t = 0; t < 256; t++) this.#routeIndex[t] = ROUTE_KEYS.indexOf(routeOf(t));
    this.#authKey = opts.authKey === undefined ? undefined : Buffer.from(opts.authKey, 'utf8');
    this.#captureIds = opts.captureIds !== undefined && opts.captureIds.size > 0 ? opts.captureIds : undefined;
    this.#decodeOptions = { maxPacketSize: opts.maxPacketSize ?? 0xffff };
    this.#skewNs = BigInt(opts.timestampSkewMs ?? 5_000) * 1_000_000n;
    this.#fullHeaders = (opts.headers ?? 'full') === 'full';
    this.syncClock();
  }

  syncClock(): void {
    this.#wallOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  }

  /** `hrNs` is `process.hrtime.bigint()` at receive. */
  wallNs(hrNs: bigint): bigint {
    return hrNs + this.#wallOffsetNs;
  }

  static sender(ip: string, port: number, env: EnvelopeSender, allowed: boolean): Sender {
    const text = hostPort(ip, port);
    return { ...env, text, keyBytes: Buffer.from(text, 'latin1'), allowed };
  }

  process(bytes: Buffer, sender: Sender, hrNs: bigint, transport: Transport): CaptureRecord | DropReason {
    if (!sender.allowed) return 'source_not_allowed';
    let p: HepPacket;
    try {
      p = decodeHep(bytes, this.#decodeOptions);
    } catch (err) {
      if (err instanceof HepDecodeError) return `decode:${err.reason}`;
      throw err;
    }
    if (this.#authKey !== undefined && !this.#authOk(p.authKey)) return 'auth';
    if (this.#captureIds !== undefined && !this.#captureIds.has(p.captureId)) return 'capture_id';

    const wall = hrNs + this.#wallOffsetNs;
    let flags = 0;
    let tsUs: bigint;
    if (p.timestampSec === 0) {
      flags = FLAG_TS_FIXED;
      tsUs = wall / 1000n;
    } else {
      tsUs = BigInt(p.timestampSec) * 1_000_000n + BigInt(p.timestampUsec);
      if (tsUs * 1000n > wall + this.#skewNs) {
        flags = FLAG_TS_FIXED;
        tsUs = wall / 1000n;
      }
    }

    const type = p.payloadType & 0xff;
    const route = this.#routeIndex[type]!;
    this.lastRoute = route;
    let key: Buffer | undefined;
    if (p.correlationId !== undefined && p.correlationId !== '') key = Buffer.from(p.correlationId, 'utf8');
    else if (type === 1 && p.compressed !== true) key = findCallId(p.payload);
    key ??= sender.keyBytes;

    const headers: Record<string, string> = this.#fullHeaders
      ? {
          type: TYPE_TEXT[type]!,
          cid: String(p.captureId),
          node: p.nodeName ?? '',
          src: hostPort(p.srcIp, p.srcPort),
          dst: hostPort(p.dstIp, p.dstPort),
          ts: String(tsUs),
        }
      : { type: TYPE_TEXT[type]! };
    if (flags & FLAG_TS_FIXED) headers['ts_fixed'] = '1';

    return {
      topic: this.#topics[route]!,
      key,
      // The auth key proves the sender to us; it is not kept in Kafka for the topic's retention.
      value: encodeEnvelope(p.authKey === undefined ? bytes : withoutChunk(bytes, HepChunk.AUTH_KEY), sender, wall, transport, flags),
      headers,
      receivedAtNs: hrNs,
    };
  }

  #authOk(got: string | undefined): boolean {
    const want = this.#authKey!;
    if (got === undefined || Buffer.byteLength(got, 'utf8') !== want.length) return false;
    return timingSafeEqual(Buffer.from(got, 'utf8'), want);
  }
}
