/**
 * libpcap export of captured SIP: every message becomes one Ethernet frame with an IPv4 or IPv6 header and a UDP
 * header (or a TCP segment with per-flow sequence numbers) rebuilt from the HEP addresses, stamped with the
 * capture time, checksums computed. Wireshark, tshark and sngrep read it like a capture taken on the wire.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface PcapMessage {
  readonly tsUs: number;
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
  /** udp, tcp, tls, ws, wss, sctp: TCP-based transports become TCP segments, everything else UDP. */
  readonly transport: string;
  readonly payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262_144;

export function globalHeader(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0); // µs timestamps, little-endian
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE(SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

export function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

export function ipv6Bytes(ip: string): Buffer {
  let text = ip;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    text = `${text.slice(0, v4.index)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function onesSum(buf: Buffer, start = 0): number {
  let sum = start;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += buf[buf.length - 1]! << 8;
  return sum;
}

function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** The transport checksum over the pseudo-header (RFC 768 / RFC 793 / RFC 8200 8.1) and the segment. */
function transportChecksum(src: Buffer, dst: Buffer, proto: number, segment: Buffer): number {
  const pseudo = src.length === 4 ? Buffer.alloc(12) : Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, src.length);
  if (src.length === 4) {
    pseudo[9] = proto;
    pseudo.writeUInt16BE(segment.length, 10);
  } else {
    pseudo.writeUInt32BE(segment.length, 32);
    pseudo[39] = proto;
  }
  const c = fold(onesSum(segment, onesSum(pseudo)));
  return proto === 17 && c === 0 ? 0xffff : c;
}

function udpSegment(m: PcapMessage): Buffer {
  const seg = Buffer.alloc(8 + m.payload.length);
  seg.writeUInt16BE(m.srcPort, 0);
  seg.writeUInt16BE(m.dstPort, 2);
  seg.writeUInt16BE(seg.length, 4);
  m.payload.copy(seg, 8);
  return seg;
}

function tcpSegment(m: PcapMessage, seq: number, ack: number): Buffer {
  const seg = Buffer.alloc(20 + m.payload.length);
  seg.writeUInt16BE(m.srcPort, 0);
  seg.writeUInt16BE(m.dstPort, 2);
  seg.writeUInt32BE(seq >>> 0, 4);
  seg.writeUInt32BE(ack >>> 0, 8);
  seg[12] = 5 << 4;
  seg[13] = 0x18; // PSH, ACK
  seg.writeUInt16BE(65_535, 14);
  m.payload.copy(seg, 20);
  return seg;
}

function ipPacket(src: Buffer, dst: Buffer, proto: number, segment: Buffer): Buffer {
  if (src.length === 4) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(Math.min(0xffff, 20 + segment.length), 2);
    h.writeUInt16BE(0x4000, 6); // don't fragment
    h[8] = 64;
    h[9] = proto;
    src.copy(h, 12);
    dst.copy(h, 16);
    h.writeUInt16BE(fold(onesSum(h)), 10);
    return Buffer.concat([h, segment]);
  }
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(Math.min(0xffff, segment.length), 4);
  h[6] = proto;
  h[7] = 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, segment]);
}

const TCP_TRANSPORTS = new Set(['tcp', 'tls', 'ws', 'wss']);

export function isTcpTransport(t: string): boolean {
  return TCP_TRANSPORTS.has(t.toLowerCase());
}

function address(ip: string): Buffer | undefined {
  if (isIPv4(ip)) return ipv4Bytes(ip);
  if (isIPv6(ip)) return ipv6Bytes(ip);
  return undefined;
}

/** One pcap record per message; a message whose addresses are not IP (never from HEP, but) is skipped. */
export function buildPcap(messages: readonly PcapMessage[]): Buffer {
  const parts: Buffer[] = [globalHeader()];
  const nextSeq = new Map<string, number>();
  for (const m of messages) {
    let src = address(m.srcIp);
    let dst = address(m.dstIp);
    if (src === undefined || dst === undefined) continue;
    // Mixed families cannot share an IP header: map the IPv4 side into IPv6 (::ffff:a.b.c.d).
    if (src.length !== dst.length) {
      if (src.length === 4) src = ipv6Bytes(`::ffff:${m.srcIp}`);
      if (dst.length === 4) dst = ipv6Bytes(`::ffff:${m.dstIp}`);
    }
    let segment: Buffer;
    let proto: number;
    if (isTcpTransport(m.transport)) {
      const fwd = `${m.srcIp}|${m.srcPort}|${m.dstIp}|${m.dstPort}`;
      const rev = `${m.dstIp}|${m.dstPort}|${m.srcIp}|${m.srcPort}`;
      const seq = nextSeq.get(fwd) ?? 1;
      nextSeq.set(fwd, (seq + m.payload.length) >>> 0);
      segment = tcpSegment(m, seq, nextSeq.get(rev) ?? 1);
      proto = 6;
    } else {
      segment = udpSegment(m);
      proto = 17;
    }
    segment.writeUInt16BE(transportChecksum(src, dst, proto, segment), proto === 6 ? 16 : 6);
    const ip = ipPacket(src, dst, proto, segment);
    const eth = Buffer.alloc(14);
    Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(eth, 0);
    Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(eth, 6);
    eth.writeUInt16BE(src.length === 4 ? 0x0800 : 0x86dd, 12);
    const frame = Buffer.concat([eth, ip]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(m.tsUs / 1_000_000), 0);
    rec.writeUInt32LE(m.tsUs % 1_000_000, 4);
    rec.writeUInt32LE(Math.min(frame.length, SNAPLEN), 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame.subarray(0, SNAPLEN));
  }
  return Buffer.concat(parts);
}
