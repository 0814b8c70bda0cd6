/**
 * The spool's on-disk record frame: `u32 payloadLength | u32 crc32(payload) | payload`, payload =
 * `u8 version | u16 topic | u32 key | u32 value | u16 headerCount (u16 name, u16 value)* | u64 receivedAtNs`,
 * all big-endian, strings UTF-8. The CRC covers the payload only; the length is checked against the bounds and
 * against the payload's own field lengths, so a torn or flipped length is caught either way.
 */
import * as zlib from 'node:zlib';
import { TollgateError } from '../../shared/errors.ts';
import { SpoolErrors } from './errors.ts';
import type { CaptureRecord } from './record.ts';

export const FRAME_HEADER_BYTES = 8;
const VERSION = 1;
const FIXED_PAYLOAD_BYTES = 1 + 2 + 4 + 4 + 2 + 8;
const U16_MAX = 0xffff;

// zlib.crc32 arrived in Node 20.15; the table keeps older 20.x working with the same polynomial.
const nativeCrc32 = (zlib as Partial<typeof zlib>).crc32;
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function tableCrc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const crc32: (buf: Uint8Array) => number = nativeCrc32 === undefined ? tableCrc32 : (buf) => nativeCrc32(buf);

/** Exact bytes a record takes in the spool, frame header included; also the publisher's memory accounting unit. */
export function encodedSize(r: CaptureRecord): number {
  let n = FRAME_HEADER_BYTES + FIXED_PAYLOAD_BYTES + Buffer.byteLength(r.topic) + r.key.length + r.value.length;
  for (const name in r.headers) n += 4 + Buffer.byteLength(name) + Buffer.byteLength(r.headers[name]!);
  return n;
}

function tooLarge(what: string, len: number): TollgateError {
  return new TollgateError(SpoolErrors.tooLarge, `${what} is ${len} bytes; the spool encodes at most ${U16_MAX}`, { what, len });
}

export function encodeFrame(r: CaptureRecord): Buffer {
  const size = encodedSize(r);
  const buf = Buffer.allocUnsafe(size);
  let o = FRAME_HEADER_BYTES;
  o = buf.writeUInt8(VERSION, o);
  const topicLen = buf.write(r.topic, o + 2);
  if (topicLen > U16_MAX) throw tooLarge('topic', topicLen);
  o = buf.writeUInt16BE(topicLen, o) + topicLen;
  o = buf.writeUInt32BE(r.key.length, o);
  o += r.key.copy(buf, o);
  o = buf.writeUInt32BE(r.value.length, o);
  o += r.value.copy(buf, o);
  const names = Object.keys(r.headers);
  if (names.length > U16_MAX) throw tooLarge('header count', names.length);
  o = buf.writeUInt16BE(names.length, o);
  for (const name of names) {
    const nameLen = buf.write(name, o + 2);
    if (nameLen > U16_MAX) throw tooLarge(`header ${name.slice(0, 40)}`, nameLen);
    o = buf.writeUInt16BE(nameLen, o) + nameLen;
    const valueLen = buf.write(r.headers[name]!, o + 2);
    if (valueLen > U16_MAX) throw tooLarge(`header ${name.slice(0, 40)} value`, valueLen);
    o = buf.writeUInt16BE(valueLen, o) + valueLen;
  }
  o = buf.writeBigUInt64BE(r.receivedAtNs, o);
  const payload = buf.subarray(FRAME_HEADER_BYTES, o);
  buf.writeUInt32BE(payload.length, 0);
  buf.writeUInt32BE(crc32(payload), 4);
  return buf;
}

export type FrameRead =
  | { readonly kind: 'record'; readonly record: CaptureRecord; readonly end: number }
  /** Not enough bytes for the header or the payload the header announces. */
  | { readonly kind: 'incomplete'; readonly need: number }
  | { readonly kind: 'corrupt'; readonly why: string };

/**
 * Reads one frame at `off`. `key` and `value` are copies, so the caller may drop the chunk it read from disk.
 * `maxPayload` bounds the announced length, so a flipped length byte cannot make the reader wait for gigabytes.
 */
export function decodeFrame(buf: Buffer, off: number, maxPayload: number): FrameRead {
  if (buf.length - off < FRAME_HEADER_BYTES) return { kind: 'incomplete', need: FRAME_HEADER_BYTES };
  const len = buf.readUInt32BE(off);
  if (len < FIXED_PAYLOAD_BYTES || len > maxPayload) return { kind: 'corrupt', why: `length ${len} out of bounds` };
  const end = off + FRAME_HEADER_BYTES + len;
  if (end > buf.length) return { kind: 'incomplete', need: FRAME_HEADER_BYTES + len };
  const payload = buf.subarray(off + FRAME_HEADER_BYTES, end);
  if (crc32(payload) !== buf.readUInt32BE(off + 4)) return { kind: 'corrupt', why: 'crc mismatch' };
  const record = decodePayload(payload);
  return record === undefined ? { kind: 'corrupt', why: 'fields overrun the frame' } : { kind: 'record', record, end };
}

function decodePayload(p: Buffer): CaptureRecord | undefined {
  let o = 0;
  const need = (n: number): boolean => o + n <= p.length;
  if (p.readUInt8(o) !== VERSION) return undefined;
  o += 1;
  if (!need(2)) return undefined;
  const topicLen = p.readUInt16BE(o);
  o += 2;
  if (!need(topicLen + 4)) return undefined;
  const topic = p.toString('utf8', o, o + topicLen);
  o += topicLen;
  const keyLen = p.readUInt32BE(o);
  o += 4;
  if (!need(keyLen + 4)) return undefined;
  const key = Buffer.from(p.subarray(o, o + keyLen));
  o += keyLen;
  const valueLen = p.readUInt32BE(o);
  o += 4;
  if (!need(valueLen + 2)) return undefined;
  const value = Buffer.from(p.subarray(o, o + valueLen));
  o += valueLen;
  const count = p.readUInt16BE(o);
  o += 2;
  const headers: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    if (!need(2)) return undefined;
    const nl = p.readUInt16BE(o);
    o += 2;
    if (!need(nl + 2)) return undefined;
    const name = p.toString('utf8', o, o + nl);
    o += nl;
    const vl = p.readUInt16BE(o);
    o += 2;
    if (!need(vl)) return undefined;
    // defineProperty, not assignment: a header named `__proto__` must come back as a header, not as the
    // object's prototype (found by the spool codec's property test).
    Object.defineProperty(headers, name, { value: p.toString('utf8', o, o + vl), enumerable: true, writable: true, configurable: true });
    o += vl;
  }
  if (o + 8 !== p.length) return undefined;
  return { topic, key, value, headers, receivedAtNs: p.readBigUInt64BE(o) };
}
