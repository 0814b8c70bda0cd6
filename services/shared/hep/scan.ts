/**
 * The collector's lazy reading of a HEP packet: one walk over the chunks that checks exactly what `decodeHep` checks
 * (same refusals, same reasons) but keeps only offsets and the few numbers routing needs: payload type, capture id,
 * timestamp, where the payload, correlation id and auth key chunks are. No packet object, no address or string
 * formatting: the bytes go to Kafka as they came, and consumers decode them fully (`decodeHep`).
 *
 * "Last chunk wins" as in `decodeHep` for every field read here; every auth key chunk is remembered so the envelope
 * writer can leave them all out (`withoutChunk` semantics).
 */
import { HEP_MAX_PACKET_SIZE, HepChunk, type HepDecodeReason } from './packet.ts';
import { FIXED_SIZE } from './decode.ts';

// Module-local copies of the imported constants: plain locals whatever the module format the file is loaded as (a
// CommonJS-compiled copy reads every imported binding through a getter, once per `case` per chunk).
const FIXED = FIXED_SIZE;
const MAX_PACKET = HEP_MAX_PACKET_SIZE;
const TIMESTAMP_SEC = HepChunk.TIMESTAMP_SEC;
const TIMESTAMP_USEC = HepChunk.TIMESTAMP_USEC;
const PAYLOAD_TYPE = HepChunk.PAYLOAD_TYPE;
const CAPTURE_ID = HepChunk.CAPTURE_ID;
const AUTH_KEY = HepChunk.AUTH_KEY;
const PAYLOAD = HepChunk.PAYLOAD;
const COMPRESSED_PAYLOAD = HepChunk.COMPRESSED_PAYLOAD;
const CORRELATION_ID = HepChunk.CORRELATION_ID;
const HEP3_MAGIC = 0x48455033;

/** Big-endian u32 without a Buffer method call (the walk reads three per packet). */
function u32(buf: Buffer, v: number): number {
  return buf[v]! * 0x1000000 + ((buf[v + 1]! << 16) | (buf[v + 2]! << 8) | buf[v + 3]!);
}
const AF_INET = 2;
const AF_INET6 = 10;

/** Filled by `scanHep`; reuse one per caller so the hot path allocates nothing. Offsets index the scanned buffer. */
export class HepView {
  version: 2 | 3 = 3;
  payloadType = 0;
  captureId = 0;
  timestampSec = 0;
  timestampUsec = 0;
  payloadStart = 0;
  payloadEnd = 0;
  /** True when the (last) payload came in chunk 16. */
  compressed = false;
  /** Value bounds of the last correlation id chunk; start -1 when there is none. */
  correlationStart = -1;
  correlationEnd = -1;
  /** Value bounds of the last auth key chunk; start -1 when there is none. */
  authStart = -1;
  authEnd = -1;
  /** Start and end (header included) of every auth key chunk, in order: `[s0, e0, s1, e1, ...]`. */
  readonly authChunks: number[] = [];
  /** Sum of the auth key chunks' lengths, headers included. */
  authBytes = 0;
}

/**
 * Scans one HEPv3 (or HEPv2) datagram or frame into `view`. Returns undefined when `decodeHep` would accept the
 * bytes, else the reason `decodeHep` would throw with; `view` is only meaningful in the first case.
 */
export function scanHep(buf: Buffer, view: HepView, maxPacketSize: number = MAX_PACKET): HepDecodeReason | undefined {
  const size = buf.length;
  if (size > maxPacketSize) return 'too_large';
  if (size >= 4 && u32(buf, 0) === HEP3_MAGIC) return scanHep3(buf, size, view);
  if (size >= 1 && (buf[0] === 1 || buf[0] === 2)) return scanHep2(buf, size, view);
  return 'bad_magic';
}

function scanHep3(buf: Buffer, size: number, view: HepView): HepDecodeReason | undefined {
  if (size < 6) return 'bad_length';
  if (((buf[4]! << 8) | buf[5]!) !== size) return 'bad_length';
  view.version = 3;
  view.payloadType = 0;
  view.captureId = 0;
  view.timestampSec = 0;
  view.timestampUsec = 0;
  clearChunks(view);
  let payloadStart = -1;
  let payloadEnd = -1;

  let off = 6;
  while (off < size) {
    if (size - off < 6) return 'truncated_chunk';
    const vendor = (buf[off]! << 8) | buf[off + 1]!;
    const type = (buf[off + 2]! << 8) | buf[off + 3]!;
    const len = (buf[off + 4]! << 8) | buf[off + 5]!;
    if (len < 6) return 'bad_chunk_length';
    const end = off + len;
    if (end > size) return 'truncated_chunk';
    if (vendor === 0) {
      const v = off + 6;
      if (type < 256) {
        const fixed = FIXED[type]!;
        if (fixed !== 0 && len - 6 !== fixed) return 'bad_chunk_length';
      }
      switch (type) {
        case TIMESTAMP_SEC:
          view.timestampSec = u32(buf, v);
          break;
        case TIMESTAMP_USEC:
          view.timestampUsec = u32(buf, v);
          break;
        case PAYLOAD_TYPE:
          view.payloadType = buf[v]!;
          break;
        case CAPTURE_ID:
          view.captureId = u32(buf, v);
          break;
        case AUTH_KEY:
          view.authStart = v;
          view.authEnd = end;
          view.authChunks.push(off, end);
          view.authBytes += len;
          break;
        case PAYLOAD:
          payloadStart = v;
          payloadEnd = end;
          view.compressed = false;
          break;
        case COMPRESSED_PAYLOAD:
          payloadStart = v;
          payloadEnd = end;
          view.compressed = true;
          break;
        case CORRELATION_ID:
          view.correlationStart = v;
          view.correlationEnd = end;
          break;
        default:
      }
    }
    off = end;
  }
  if (payloadStart < 0) return 'missing_payload';
  view.payloadStart = payloadStart;
  view.payloadEnd = payloadEnd;
  return undefined;
}

/** HEPv2: the same checks as `decodeHep`'s (see decode.ts for the layout); it carries only SIP and no key chunks. */
function scanHep2(buf: Buffer, size: number, view: HepView): HepDecodeReason | undefined {
  if (buf[0] !== 2) return 'unsupported_version';
  if (size < 8) return 'truncated_header';
  const family = buf[2]!;
  let addrLen: number;
  if (family === AF_INET) addrLen = 8;
  else if (family === AF_INET6) addrLen = 32;
  else return 'bad_ip_family';
  if (buf[1] !== 8 + addrLen) return 'bad_length';
  const timeOff = 8 + addrLen;
  const payloadOff = timeOff + 12;
  if (size < payloadOff) return 'truncated_header';
  view.version = 2;
  view.payloadType = 1;
  view.captureId = buf.readUInt16LE(timeOff + 8);
  view.timestampSec = buf.readUInt32LE(timeOff);
  view.timestampUsec = buf.readUInt32LE(timeOff + 4);
  view.payloadStart = payloadOff;
  view.payloadEnd = size;
  clearChunks(view);
  return undefined;
}

/** Forgets the chunk positions of the previous packet. */
function clearChunks(view: HepView): void {
  view.compressed = false;
  view.correlationStart = -1;
  view.correlationEnd = -1;
  view.authStart = -1;
  view.authEnd = -1;
  view.authChunks.length = 0;
  view.authBytes = 0;
}
