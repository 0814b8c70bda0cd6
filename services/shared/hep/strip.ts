/**
 * Removes generic chunks from a HEP3 packet that has already been decoded (so its chunk walk is known to be sound),
 * fixing the total length. The collector uses it to take the auth key (chunk 14) out before a record leaves it:
 * the key proves the sender to the collector and must not sit in Kafka for the topic's retention.
 */
const HEP3_MAGIC = 0x48455033;

/** `buf` itself when no chunk of `type` (vendor 0) is present or the packet is not HEP3; else a new, shorter packet. */
export function withoutChunk(buf: Buffer, type: number): Buffer {
  if (buf.length < 6 || buf.readUInt32BE(0) !== HEP3_MAGIC) return buf;
  const drop: Array<[number, number]> = [];
  let dropped = 0;
  for (let off = 6; off + 6 <= buf.length;) {
    const len = buf.readUInt16BE(off + 4);
    if (len < 6 || off + len > buf.length) break;
    if (buf.readUInt16BE(off) === 0 && buf.readUInt16BE(off + 2) === type) {
      drop.push([off, off + len]);
      dropped += len;
    }
    off += len;
  }
  if (drop.length === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length - dropped);
  let from = 0;
  let to = 0;
  for (const [start, end] of drop) {
    to += buf.copy(out, to, from, start);
    from = end;
  }
  buf.copy(out, to, from);
  out.writeUInt16BE(out.length, 4);
  return out;
}
