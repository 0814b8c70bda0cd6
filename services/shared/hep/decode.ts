/**
 * HEP bytes -> HepPacket. `decodeHep` is the collector's hot path; `hepJsDecode` wraps hep-js so a differential
 * test can hold the fast path to hep-js's answers.
 */
import hepJs from 'hep-js';
import { formatIpv4, formatIpv6 } from './ip.ts';
import {
  HEP_MAX_PACKET_SIZE,
  HepChunk,
  HepDecodeError,
  type HepPacket,
  type HepVendorChunk,
} from './packet.ts';

export interface DecodeOptions {
  /** Packets above this size are refused before any parsing (heplify-server uses about 8 KB). */
  maxPacketSize?: number;
}

// 'H' 'E' 'P' '3' as one big-endian word, so the magic check is a single comparison.
const HEP3_MAGIC = 0x48455033;

/**
 * Exact value size of every fixed-size generic chunk; 0 marks variable-length ones. Sizes follow the HEP3 spec
 * and agree with heplify-server's checks.
 */
export const FIXED_SIZE = new Uint8Array(256);
FIXED_SIZE[HepChunk.IP_FAMILY] = 1;
FIXED_SIZE[HepChunk.IP_PROTOCOL] = 1;
FIXED_SIZE[HepChunk.IPV4_SRC] = 4;
FIXED_SIZE[HepChunk.IPV4_DST] = 4;
FIXED_SIZE[HepChunk.IPV6_SRC] = 16;
FIXED_SIZE[HepChunk.IPV6_DST] = 16;
FIXED_SIZE[HepChunk.SRC_PORT] = 2;
FIXED_SIZE[HepChunk.DST_PORT] = 2;
FIXED_SIZE[HepChunk.TIMESTAMP_SEC] = 4;
FIXED_SIZE[HepChunk.TIMESTAMP_USEC] = 4;
FIXED_SIZE[HepChunk.PAYLOAD_TYPE] = 1;
FIXED_SIZE[HepChunk.CAPTURE_ID] = 4;
FIXED_SIZE[HepChunk.KEEP_ALIVE] = 2;
FIXED_SIZE[HepChunk.VLAN] = 2;
FIXED_SIZE[HepChunk.MOS] = 2;

const AF_INET = 2;
const AF_INET6 = 10;

/** Decodes one HEPv3 (or HEPv2) datagram or frame; throws HepDecodeError with a `reason` on anything else. */
export function decodeHep(buf: Buffer, options?: DecodeOptions): HepPacket {
  const max = options?.maxPacketSize ?? HEP_MAX_PACKET_SIZE;
  const size = buf.length;
  if (size > max) throw new HepDecodeError('too_large', `HEP packet of ${size} bytes exceeds ${max}`, { size, max });
  if (size >= 4 && buf.readUInt32BE(0) === HEP3_MAGIC) return decodeHep3(buf, size);
  if (size >= 1 && (buf[0] === 1 || buf[0] === 2)) return decodeHep2(buf, size);
  throw new HepDecodeError('bad_magic', 'not a HEP packet', { size });
}

function decodeHep3(buf: Buffer, size: number): HepPacket {
  if (size < 6) throw new HepDecodeError('bad_length', `HEP3 packet of ${size} bytes has no length field`, { size });
  const total = (buf[4]! << 8) | buf[5]!;
  if (total !== size) {
    throw new HepDecodeError('bad_length', `HEP3 length field ${total} but packet has ${size} bytes`, { size, total });
  }

  let family = 0;
  let protocol = 0;
  // Address chunks are remembered by offset and turned into text once, after the walk.
  let src4 = -1;
  let dst4 = -1;
  let src6 = -1;
  let dst6 = -1;
  let srcPort = 0;
  let dstPort = 0;
  let tsSec = 0;
  let tsUsec = 0;
  let payloadType = 0;
  let captureId = 0;
  let authKey: string | undefined;
  let payload: Buffer | undefined;
  let compressed: boolean | undefined;
  let correlationId: string | undefined;
  let nodeName: string | undefined;
  let vlan: number | undefined;
  let mos: number | undefined;
  let keepAlive: number | undefined;
  let vendorChunks: HepVendorChunk[] | undefined;
  let unknown = 0;

  let off = 6;
  while (off < size) {
    if (size - off < 6) {
      throw new HepDecodeError('truncated_chunk', `chunk header at ${off} cut by the end of the packet`, { offset: off });
    }
    const vendor = (buf[off]! << 8) | buf[off + 1]!;
    const type = (buf[off + 2]! << 8) | buf[off + 3]!;
    const len = (buf[off + 4]! << 8) | buf[off + 5]!;
    if (len < 6) {
      throw new HepDecodeError('bad_chunk_length', `chunk ${vendor}/${type} declares length ${len} < 6`, {
        offset: off,
        chunkType: type,
        vendor,
        length: len,
      });
    }
    const end = off + len;
    if (end > size) {
      throw new HepDecodeError('truncated_chunk', `chunk ${vendor}/${type} of ${len} bytes runs past the packet`, {
        offset: off,
        chunkType: type,
        vendor,
        length: len,
      });
    }
    const v = off + 6;
    if (vendor !== 0) {
      (vendorChunks ??= []).push({ vendor, type, value: buf.subarray(v, end) });
      off = end;
      continue;
    }
    if (type < 256) {
      const fixed = FIXED_SIZE[type]!;
      if (fixed !== 0 && len - 6 !== fixed) {
        throw new HepDecodeError('bad_chunk_length', `chunk type ${type} must carry ${fixed} bytes, not ${len - 6}`, {
          offset: off,
          chunkType: type,
          expected: fixed,
          actual: len - 6,
        });
      }
    }
    switch (type) {
      case HepChunk.IP_FAMILY:
        family = buf[v]!;
        break;
      case HepChunk.IP_PROTOCOL:
        protocol = buf[v]!;
        break;
      case HepChunk.IPV4_SRC:
        src4 = v;
        break;
      case HepChunk.IPV4_DST:
        dst4 = v;
        break;
      case HepChunk.IPV6_SRC:
        src6 = v;
        break;
      case HepChunk.IPV6_DST:
        dst6 = v;
        break;
      case HepChunk.SRC_PORT:
        srcPort = (buf[v]! << 8) | buf[v + 1]!;
        break;
      case HepChunk.DST_PORT:
        dstPort = (buf[v]! << 8) | buf[v + 1]!;
        break;
      case HepChunk.TIMESTAMP_SEC:
        tsSec = buf.readUInt32BE(v);
        break;
      case HepChunk.TIMESTAMP_USEC:
        tsUsec = buf.readUInt32BE(v);
        break;
      case HepChunk.PAYLOAD_TYPE:
        payloadType = buf[v]!;
        break;
      case HepChunk.CAPTURE_ID:
        captureId = buf.readUInt32BE(v);
        break;
      case HepChunk.KEEP_ALIVE:
        keepAlive = (buf[v]! << 8) | buf[v + 1]!;
        break;
      case HepChunk.AUTH_KEY:
        authKey = buf.toString('utf8', v, end);
        break;
      case HepChunk.PAYLOAD:
        payload = buf.subarray(v, end);
        compressed = undefined;
        break;
      case HepChunk.COMPRESSED_PAYLOAD:
        payload = buf.subarray(v, end);
        compressed = true;
        break;
      case HepChunk.CORRELATION_ID:
        correlationId = buf.toString('utf8', v, end);
        break;
      case HepChunk.VLAN:
        vlan = (buf[v]! << 8) | buf[v + 1]!;
        break;
      case HepChunk.NODE_NAME:
        nodeName = buf.toString('utf8', v, end);
        break;
      case HepChunk.MOS:
        mos = (buf[v]! << 8) | buf[v + 1]!;
        break;
      default:
        unknown++;
    }
    off = end;
  }

  if (payload === undefined) throw new HepDecodeError('missing_payload', 'HEP3 packet has no payload chunk', { size });

  // The address chunks present are the ground truth; the family chunk only decides when none is.
  let ipFamily: 4 | 6;
  let srcIp = '';
  let dstIp = '';
  if (src6 >= 0 || dst6 >= 0) {
    ipFamily = 6;
    if (src6 >= 0) srcIp = formatIpv6(buf, src6);
    if (dst6 >= 0) dstIp = formatIpv6(buf, dst6);
  } else if (src4 >= 0 || dst4 >= 0) {
    ipFamily = 4;
    if (src4 >= 0) srcIp = formatIpv4(buf, src4);
    if (dst4 >= 0) dstIp = formatIpv4(buf, dst4);
  } else {
    ipFamily = family === AF_INET6 ? 6 : 4;
  }

  return {
    version: 3,
    ipFamily,
    protocol,
    srcIp,
    dstIp,
    srcPort,
    dstPort,
    timestampSec: tsSec,
    timestampUsec: tsUsec,
    payloadType,
    captureId,
    authKey,
    payload,
    correlationId,
    nodeName,
    vlan,
    mos,
    keepAliveTimer: keepAlive,
    compressed,
    vendorChunks,
    unknownChunks: unknown === 0 ? undefined : unknown,
  };
}

/**
 * HEPv2 as Kamailio and OpenSIPS send it (their C structs, not packed): 8-byte header (version, header length,
 * address family, IP protocol, ports in network order), the addresses, then a 12-byte time block whose seconds,
 * microseconds and 16-bit capture id are little-endian (Kamailio writes them `to_le`) followed by 2 padding
 * bytes, then the payload. heplify-server reads these fields big-endian at other offsets; we follow the senders.
 */
function decodeHep2(buf: Buffer, size: number): HepPacket {
  const version = buf[0]!;
  if (version !== 2) {
    throw new HepDecodeError('unsupported_version', `HEP version ${version} is not supported`, { version });
  }
  if (size < 8) throw new HepDecodeError('truncated_header', `HEPv2 packet of ${size} bytes`, { size });
  const hdrLen = buf[1]!;
  const family = buf[2]!;
  let addrLen: number;
  if (family === AF_INET) addrLen = 8;
  else if (family === AF_INET6) addrLen = 32;
  else throw new HepDecodeError('bad_ip_family', `HEPv2 address family ${family}`, { family });
  if (hdrLen !== 8 + addrLen) {
    throw new HepDecodeError('bad_length', `HEPv2 header length ${hdrLen}, expected ${8 + addrLen}`, { hdrLen });
  }
  const timeOff = 8 + addrLen;
  const payloadOff = timeOff + 12;
  if (size < payloadOff) throw new HepDecodeError('truncated_header', `HEPv2 packet of ${size} bytes`, { size });
  const half = addrLen >> 1;
  const v6 = family === AF_INET6;
  return {
    version: 2,
    ipFamily: v6 ? 6 : 4,
    protocol: buf[3]!,
    srcIp: v6 ? formatIpv6(buf, 8) : formatIpv4(buf, 8),
    dstIp: v6 ? formatIpv6(buf, 8 + half) : formatIpv4(buf, 8 + half),
    srcPort: (buf[4]! << 8) | buf[5]!,
    dstPort: (buf[6]! << 8) | buf[7]!,
    timestampSec: buf.readUInt32LE(timeOff),
    timestampUsec: buf.readUInt32LE(timeOff + 4),
    // HEPv2 predates payload types: it only ever carried SIP.
    payloadType: 1,
    captureId: buf.readUInt16LE(timeOff + 8),
    authKey: undefined,
    payload: buf.subarray(payloadOff),
    correlationId: undefined,
    nodeName: undefined,
    vlan: undefined,
    mos: undefined,
    keepAliveTimer: undefined,
    compressed: undefined,
    vendorChunks: undefined,
    unknownChunks: undefined,
  };
}

/**
 * hep-js's reading of a packet, mapped onto HepPacket for the fields it supports (no IPv6, no VLAN, keep-alive or
 * compression; payload decoded to a UTF-8 string by hep-js and re-encoded here). Only for differential testing.
 */
export function hepJsDecode(buf: Buffer): HepPacket {
  const r = hepJs.decapsulate(buf);
  if (!r) throw new HepDecodeError('hepjs_rejected', 'hep-js returned no packet', { size: buf.length });
  const rc = r.rcinfo ?? {};
  const payload = typeof r.payload === 'string' ? Buffer.from(r.payload, 'utf8') : undefined;
  if (payload === undefined) throw new HepDecodeError('missing_payload', 'hep-js found no payload', {});
  return {
    version: 3,
    ipFamily: rc.protocolFamily === AF_INET6 ? 6 : 4,
    protocol: rc.protocol ?? 0,
    srcIp: rc.srcIp ?? '',
    dstIp: rc.dstIp ?? '',
    srcPort: rc.srcPort ?? 0,
    dstPort: rc.dstPort ?? 0,
    timestampSec: rc.timeSeconds ?? 0,
    timestampUsec: rc.timeUseconds ?? 0,
    payloadType: rc.payloadType ?? 0,
    captureId: rc.captureId ?? 0,
    authKey: rc.capturePass,
    payload,
    correlationId: rc.correlation_id,
    nodeName: rc.hepNodeName,
    mos: rc.mos,
  };
}
