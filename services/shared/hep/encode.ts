/** HepPacket -> HEP bytes, for the load generator and tests. Not on the collector's receive path. */
import { parseIpv4, writeIpv6 } from './ip.ts';
import { HEP_MAX_PACKET_SIZE, HepChunk, HepEncodeError, type HepPacket } from './packet.ts';

const AF_INET = 2;
const AF_INET6 = 10;

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new HepEncodeError('bad_field', `${name} must be an integer in 0..${max}, got ${value}`, { field: name });
  }
}

function chunkHeader(out: Buffer, off: number, type: number, valueLen: number): number {
  out.writeUInt16BE(0, off);
  out.writeUInt16BE(type, off + 2);
  out.writeUInt16BE(valueLen + 6, off + 4);
  return off + 6;
}

/**
 * Encodes a HEPv3 packet. An empty srcIp/dstIp leaves that address chunk out (as decode reports a missing one);
 * the payload bytes are copied verbatim. Throws HepEncodeError on values the wire cannot carry.
 */
export function encodeHep(p: HepPacket): Buffer {
  checkUint('protocol', p.protocol, 0xff);
  checkUint('srcPort', p.srcPort, 0xffff);
  checkUint('dstPort', p.dstPort, 0xffff);
  checkUint('timestampSec', p.timestampSec, 0xffffffff);
  checkUint('timestampUsec', p.timestampUsec, 0xffffffff);
  checkUint('payloadType', p.payloadType, 0xff);
  checkUint('captureId', p.captureId, 0xffffffff);
  if (p.vlan !== undefined) checkUint('vlan', p.vlan, 0xffff);
  if (p.mos !== undefined) checkUint('mos', p.mos, 0xffff);
  if (p.keepAliveTimer !== undefined) checkUint('keepAliveTimer', p.keepAliveTimer, 0xffff);

  const v6 = p.ipFamily === 6;
  const addrLen = v6 ? 16 : 4;
  let src4 = -1;
  let dst4 = -1;
  if (!v6) {
    if (p.srcIp !== '' && (src4 = parseIpv4(p.srcIp)) < 0) {
      throw new HepEncodeError('bad_field', `srcIp ${p.srcIp} is not IPv4`, { field: 'srcIp' });
    }
    if (p.dstIp !== '' && (dst4 = parseIpv4(p.dstIp)) < 0) {
      throw new HepEncodeError('bad_field', `dstIp ${p.dstIp} is not IPv4`, { field: 'dstIp' });
    }
  }

  const authLen = p.authKey === undefined ? -1 : Buffer.byteLength(p.authKey, 'utf8');
  const cidLen = p.correlationId === undefined ? -1 : Buffer.byteLength(p.correlationId, 'utf8');
  const nodeLen = p.nodeName === undefined ? -1 : Buffer.byteLength(p.nodeName, 'utf8');

  let size = 6;
  size += 7 + 7; // family, protocol
  if (p.srcIp !== '') size += 6 + addrLen;
  if (p.dstIp !== '') size += 6 + addrLen;
  size += 8 + 8 + 10 + 10 + 7 + 10; // ports, timestamps, payload type, capture id
  if (p.keepAliveTimer !== undefined) size += 8;
  if (authLen >= 0) size += 6 + authLen;
  if (cidLen >= 0) size += 6 + cidLen;
  if (p.vlan !== undefined) size += 8;
  if (nodeLen >= 0) size += 6 + nodeLen;
  if (p.mos !== undefined) size += 8;
  if (p.vendorChunks) for (const c of p.vendorChunks) size += 6 + c.value.length;
  size += 6 + p.payload.length;
  if (size > HEP_MAX_PACKET_SIZE) {
    throw new HepEncodeError('too_large', `encoded HEP packet would be ${size} bytes`, { size });
  }

  const out = Buffer.allocUnsafe(size);
  out.write('HEP3', 0, 'latin1');
  out.writeUInt16BE(size, 4);
  let o = 6;
  o = chunkHeader(out, o, HepChunk.IP_FAMILY, 1);
  out[o++] = v6 ? AF_INET6 : AF_INET;
  o = chunkHeader(out, o, HepChunk.IP_PROTOCOL, 1);
  out[o++] = p.protocol;
  if (p.srcIp !== '') {
    o = chunkHeader(out, o, v6 ? HepChunk.IPV6_SRC : HepChunk.IPV4_SRC, addrLen);
    if (v6) {
      if (!writeIpv6(p.srcIp, out, o)) throw new HepEncodeError('bad_field', `srcIp ${p.srcIp} is not IPv6`, { field: 'srcIp' });
    } else {
      out.writeUInt32BE(src4, o);
    }
    o += addrLen;
  }
  if (p.dstIp !== '') {
    o = chunkHeader(out, o, v6 ? HepChunk.IPV6_DST : HepChunk.IPV4_DST, addrLen);
    if (v6) {
      if (!writeIpv6(p.dstIp, out, o)) throw new HepEncodeError('bad_field', `dstIp ${p.dstIp} is not IPv6`, { field: 'dstIp' });
    } else {
      out.writeUInt32BE(dst4, o);
    }
    o += addrLen;
  }
  o = chunkHeader(out, o, HepChunk.SRC_PORT, 2);
  o = out.writeUInt16BE(p.srcPort, o);
  o = chunkHeader(out, o, HepChunk.DST_PORT, 2);
  o = out.writeUInt16BE(p.dstPort, o);
  o = chunkHeader(out, o, HepChunk.TIMESTAMP_SEC, 4);
  o = out.writeUInt32BE(p.timestampSec, o);
  o = chunkHeader(out, o, HepChunk.TIMESTAMP_USEC, 4);
  o = out.writeUInt32BE(p.timestampUsec, o);
  o = chunkHeader(out, o, HepChunk.PAYLOAD_TYPE, 1);
  out[o++] = p.payloadType;
  o = chunkHeader(out, o, HepChunk.CAPTURE_ID, 4);
  o = out.writeUInt32BE(p.captureId, o);
  if (p.keepAliveTimer !== undefined) {
    o = chunkHeader(out, o, HepChunk.KEEP_ALIVE, 2);
    o = out.writeUInt16BE(p.keepAliveTimer, o);
  }
  if (authLen >= 0) {
    o = chunkHeader(out, o, HepChunk.AUTH_KEY, authLen);
    o += out.write(p.authKey!, o, 'utf8');
  }
  if (cidLen >= 0) {
    o = chunkHeader(out, o, HepChunk.CORRELATION_ID, cidLen);
    o += out.write(p.correlationId!, o, 'utf8');
  }
  if (p.vlan !== undefined) {
    o = chunkHeader(out, o, HepChunk.VLAN, 2);
    o = out.writeUInt16BE(p.vlan, o);
  }
  if (nodeLen >= 0) {
    o = chunkHeader(out, o, HepChunk.NODE_NAME, nodeLen);
    o += out.write(p.nodeName!, o, 'utf8');
  }
  if (p.mos !== undefined) {
    o = chunkHeader(out, o, HepChunk.MOS, 2);
    o = out.writeUInt16BE(p.mos, o);
  }
  if (p.vendorChunks) {
    for (const c of p.vendorChunks) {
      checkUint('vendor', c.vendor, 0xffff);
      checkUint('vendor chunk type', c.type, 0xffff);
      if (c.vendor === 0) {
        throw new HepEncodeError('bad_field', 'vendor chunks need a non-zero vendor id', { field: 'vendorChunks' });
      }
      out.writeUInt16BE(c.vendor, o);
      out.writeUInt16BE(c.type, o + 2);
      out.writeUInt16BE(c.value.length + 6, o + 4);
      o += 6 + c.value.copy(out, o + 6);
    }
  }
  o = chunkHeader(out, o, p.compressed ? HepChunk.COMPRESSED_PAYLOAD : HepChunk.PAYLOAD, p.payload.length);
  p.payload.copy(out, o);
  return out;
}

/**
 * Encodes the legacy HEPv2 layout that Kamailio and OpenSIPS send (see decodeHep2): only addresses, ports,
 * protocol, timestamps, a 16-bit capture id and the payload survive.
 */
export function encodeHepV2(p: HepPacket): Buffer {
  checkUint('protocol', p.protocol, 0xff);
  checkUint('srcPort', p.srcPort, 0xffff);
  checkUint('dstPort', p.dstPort, 0xffff);
  checkUint('timestampSec', p.timestampSec, 0xffffffff);
  checkUint('timestampUsec', p.timestampUsec, 0xffffffff);
  checkUint('captureId', p.captureId, 0xffff);
  const v6 = p.ipFamily === 6;
  const addrLen = v6 ? 32 : 8;
  const out = Buffer.alloc(8 + addrLen + 12 + p.payload.length);
  out[0] = 2;
  out[1] = 8 + addrLen;
  out[2] = v6 ? AF_INET6 : AF_INET;
  out[3] = p.protocol;
  out.writeUInt16BE(p.srcPort, 4);
  out.writeUInt16BE(p.dstPort, 6);
  if (v6) {
    if (!writeIpv6(p.srcIp, out, 8) || !writeIpv6(p.dstIp, out, 24)) {
      throw new HepEncodeError('bad_field', 'srcIp/dstIp must be IPv6', { field: 'srcIp' });
    }
  } else {
    const s = parseIpv4(p.srcIp);
    const d = parseIpv4(p.dstIp);
    if (s < 0 || d < 0) throw new HepEncodeError('bad_field', 'srcIp/dstIp must be IPv4', { field: 'srcIp' });
    out.writeUInt32BE(s, 8);
    out.writeUInt32BE(d, 12);
  }
  const t = 8 + addrLen;
  out.writeUInt32LE(p.timestampSec, t);
  out.writeUInt32LE(p.timestampUsec, t + 4);
  out.writeUInt16LE(p.captureId, t + 8);
  p.payload.copy(out, t + 12);
  return out;
}
