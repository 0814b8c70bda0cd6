/**
 * The hot path, pure: bytes + sender + receive time -> an accepted CaptureRecord or a drop reason. No I/O, no
 * logging, no metrics objects; the listener counts what it gets back. Returning a string for a drop keeps the
 * accepted path free of wrapper allocations.
 */
import { isUtf8 } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { decodeHep, HepChunk, HepDecodeError, HepErrors, HepView, scanHep, withoutChunk, type HepDecodeReason, type HepPacket } from '../shared/hep/index.ts';
import type { CaptureRecord } from './publish/record.ts';
import { topicName, type TopicKey } from '../shared/kafka/topics.ts';
import { encodeEnvelope, FLAG_TS_FIXED, type EnvelopeSender, type Transport } from '../shared/hep/envelope.ts';
import { findCallId } from './sip-call-id.ts';
import { Slab } from '../shared/slab.ts';

export type DropReason = `decode:${HepDecodeReason}` | 'auth' | 'capture_id' | 'source_not_allowed';

/** A sender as the listeners see it, prepared once per address so the per-packet work is a lookup. */
export interface Sender extends EnvelopeSender {
  /** `ip:port` (IPv6 in brackets); the key of last resort and the malformed-sender label. */
  readonly text: string;
  readonly keyBytes: Buffer;
  /** Allowlist verdict, decided when the sender was first seen. */
  readonly allowed: boolean;
}

export type HeaderMode = 'full' | 'minimal' | 'none';
/**
 * `lazy` (the default) reads only what routing needs and forwards the bytes (scan.ts); `full` builds the decoded
 * packet first, as before: kept selectable so benches can measure both in one run. Full headers need the decoded
 * addresses and node name, so they always take the `full` path.
 */
export type DecodeMode = 'lazy' | 'full';

export interface IntakeOptions {
  readonly topicPrefix: string;
  readonly authKey?: string | undefined;
  readonly captureIds?: ReadonlySet<number> | undefined;
  readonly maxPacketSize?: number;
  /** How far in the future a HEP timestamp may be before it is replaced by the receive time. */
  readonly timestampSkewMs?: number;
  /**
   * `minimal` drops the per-packet address/timestamp headers, `none` every header (see bench/README.md for what
   * they cost); all of it is in the record value anyway.
   */
  readonly headers?: HeaderMode;
  readonly decode?: DecodeMode;
  /** Bytes of the slab the lazy path carves envelopes from (slab.ts); 0: one `Buffer.allocUnsafe` per envelope. */
  readonly envelopeSlabBytes?: number;
  /**
   * Lazy path: a key read from the packet (Call-ID, correlation id) is handed on as a view of the same bytes in the
   * envelope rather than of the received buffer, so the socket's buffer (a whole TCP read, or the datagram) is free
   * once the packet is processed instead of living until Kafka acknowledges the record. Default true.
   */
  readonly keyInEnvelope?: boolean;
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
/**
 * Minimal headers are one of 512 constant objects, shared by every record of that type: nothing to build per packet,
 * and frozen, so the Kafka adapter may cache their encoded form by identity.
 */
const MINIMAL_HEADERS: ReadonlyArray<Readonly<Record<string, string>>> = TYPE_TEXT.map((t) => Object.freeze({ type: t }));
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const MINIMAL_HEADERS_TS_FIXED: ReadonlyArray<Readonly<Record<string, string>>> = TYPE_TEXT.map((t) => Object.freeze({ type: t, ts_fixed: '1' }));
// Module-local copies of what the lazy path calls per packet (see scan.ts for why).
const scan = scanHep;
const envelope = encodeEnvelope;
const callId = findCallId;
const TS_FIXED = FLAG_TS_FIXED;
export const DEFAULT_ENVELOPE_SLAB_BYTES = 256 * 1024;
const DECODE_DROP = Object.fromEntries(Object.keys(HepErrors).map((r) => [r, `decode:${r}`])) as Record<HepDecodeReason, DropReason>;

/**
 * `key` as a view of `value` (the envelope made from `hep` with the `skip` chunks left out) when it is a view of
 * `hep`; anything else (the sender's key, a copy made for a folded Call-ID or invalid UTF-8) is returned as it is.
 * Keys lie in the payload or correlation chunk, never in a skipped (auth key) chunk; skipped chunks before the key
 * shift it left by their length.
 */
function keyInEnvelope(key: Buffer, hep: Buffer, value: Buffer, skip: readonly number[], skipBytes: number): Buffer {
  const at = key.byteOffset - hep.byteOffset;
  if (key.buffer !== hep.buffer || at < 0 || at + key.length > hep.length) return key;
  let shift = 0;
  for (let i = 0; i < skip.length; i += 2) if (skip[i + 1]! <= at) shift += skip[i + 1]! - skip[i]!;
  const start = value.length - (hep.length - skipBytes) + at - shift;
  return value.subarray(start, start + key.length);
}

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
  readonly #noHeaders: boolean;
  readonly #lazy: boolean;
  readonly #maxPacketSize: number;
  /** Reused by every lazy scan: the intake is synchronous, so one view is never read by two packets at once. */
  readonly #view = new HepView();
  readonly #slab: Slab;
  readonly #keyInEnvelope: boolean;
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
    this.#noHeaders = opts.headers === 'none';
    this.#lazy = (opts.decode ?? 'lazy') === 'lazy' && !this.#fullHeaders;
    this.#maxPacketSize = this.#decodeOptions.maxPacketSize;
    this.#slab = new Slab(opts.envelopeSlabBytes ?? DEFAULT_ENVELOPE_SLAB_BYTES);
    this.#keyInEnvelope = opts.keyInEnvelope ?? true;
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
    if (this.#lazy) return this.#processLazy(bytes, sender, hrNs, transport);
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
      : this.#noHeaders ? {} : { type: TYPE_TEXT[type]! };
    if (flags & FLAG_TS_FIXED && !this.#noHeaders) headers['ts_fixed'] = '1';

    return {
      topic: this.#topics[route]!,
      key,
      // The auth key proves the sender to us; it is not kept in Kafka for the topic's retention.
      value: encodeEnvelope(p.authKey === undefined ? bytes : withoutChunk(bytes, HepChunk.AUTH_KEY), sender, wall, transport, flags),
      headers,
      receivedAtNs: hrNs,
    };
  }

  /**
   * The same decisions and the same record as the `full` path with minimal headers (intake tests compare them byte
   * for byte), from one chunk walk and no decoded packet.
   */
  #processLazy(bytes: Buffer, sender: Sender, hrNs: bigint, transport: Transport): CaptureRecord | DropReason {
    const v = this.#view;
    const reason = scan(bytes, v, this.#maxPacketSize);
    if (reason !== undefined) return DECODE_DROP[reason];
    if (this.#authKey !== undefined && !this.#authBytesOk(bytes, v.authStart, v.authEnd)) return 'auth';
    if (this.#captureIds !== undefined && !this.#captureIds.has(v.captureId)) return 'capture_id';

    const wall = hrNs + this.#wallOffsetNs;
    let flags = 0;
    if (v.timestampSec === 0) {
      flags = TS_FIXED;
    } else {
      // tsUs * 1000 > wall + skew, exactly, in doubles: tsUs < 2^53 and so is floor((wall + skew) / 1000).
      const tsUs = v.timestampSec * 1_000_000 + v.timestampUsec;
      if (tsUs > Number((wall + this.#skewNs) / 1000n)) flags = TS_FIXED;
    }

    const type = v.payloadType;
    const route = this.#routeIndex[type]!;
    this.lastRoute = route;
    let key: Buffer | undefined;
    if (v.correlationEnd > v.correlationStart) {
      key = bytes.subarray(v.correlationStart, v.correlationEnd);
      // The full path keys by the id's UTF-8 text; invalid sequences become U+FFFD there, so they do here too.
      if (!isUtf8(key)) key = Buffer.from(key.toString('utf8'), 'utf8');
    } else if (type === 1 && !v.compressed) {
      key = callId(bytes, v.payloadStart, v.payloadEnd);
    }
    key ??= sender.keyBytes;
    // The auth key chunks are left out while copying (see the full path).
    const value = envelope(bytes, sender, wall, transport, flags, v.authChunks, v.authBytes, this.#slab);
    if (this.#keyInEnvelope) key = keyInEnvelope(key, bytes, value, v.authChunks, v.authBytes);

    return {
      topic: this.#topics[route]!,
      key,
      value,
      headers: this.#noHeaders ? NO_HEADERS : (flags & TS_FIXED) === 0 ? MINIMAL_HEADERS[type]! : MINIMAL_HEADERS_TS_FIXED[type]!,
      receivedAtNs: hrNs,
    };
  }

  #authBytesOk(bytes: Buffer, start: number, end: number): boolean {
    if (start < 0) return false;
    const got = bytes.subarray(start, end);
    // Invalid UTF-8 is compared as the full path compares it: by its decoded text (U+FFFD for bad sequences).
    if (!isUtf8(got)) return this.#authOk(got.toString('utf8'));
    const want = this.#authKey!;
    return got.length === want.length && timingSafeEqual(got, want);
  }

  #authOk(got: string | undefined): boolean {
    const want = this.#authKey!;
    if (got === undefined || Buffer.byteLength(got, 'utf8') !== want.length) return false;
    return timingSafeEqual(Buffer.from(got, 'utf8'), want);
  }
}
