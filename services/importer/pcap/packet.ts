/**
 * One captured frame → its transport segment: link layer (Ethernet with any number of VLAN tags, Linux cooked SLL
 * and SLL2, BSD loopback, raw IP), IPv4 or IPv6 (extension headers skipped, fragments reassembled, IP-in-IP
 * tunnels opened), UDP or TCP.
 * Anything else comes back as a skip reason; nothing throws on bad input.
 */
import { formatIpv4, formatIpv6 } from '../wire.ts';

export interface Segment {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly proto: 'udp' | 'tcp';
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
  /** TCP only. */
  readonly seq: number;
  readonly syn: boolean;
  readonly fin: boolean;
  readonly rst: boolean;
}

export type SkipReason =
  | 'unsupported_link_type' | 'not_ip' | 'truncated' | 'ip_invalid' | 'fragment_pending' | 'fragments_dropped'
  | 'not_udp_or_tcp';

export type Decoded = { readonly kind: 'segment'; readonly segment: Segment } | { readonly kind: 'skip'; readonly reason: SkipReason };

const skip = (reason: SkipReason): Decoded => ({ kind: 'skip', reason });

export const LINK = { NULL: 0, ETHERNET: 1, RAW: 101, RAW_OLD: 12, LOOP: 108, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276 } as const;

/** Link layer → (ethertype, offset of the network header), or a skip reason. */
function network(link: number, d: Buffer): { type: number; off: number } | SkipReason {
  switch (link) {
    case LINK.ETHERNET: {
      if (d.length < 14) return 'truncated';
      let type = d.readUInt16BE(12);
      let off = 14;
      // 802.1Q, 802.1ad and the old QinQ 0x9100: each tag is 4 bytes, the last carries the real type.
      while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        if (d.length < off + 4) return 'truncated';
        type = d.readUInt16BE(off + 2);
        off += 4;
      }
      return { type, off };
    }
    case LINK.SLL:
      return d.length < 16 ? 'truncated' : { type: d.readUInt16BE(14), off: 16 };
    case LINK.SLL2:
      return d.length < 20 ? 'truncated' : { type: d.readUInt16BE(0), off: 20 };
    case LINK.NULL:
    case LINK.LOOP: {
      if (d.length < 4) return 'truncated';
      // The address family in the capturing host's byte order (NULL) or network order (LOOP): try both.
      const fam = d.readUInt32LE(0) <= 0xffff ? d.readUInt32LE(0) : d.readUInt32BE(0);
      if (fam === 2) return { type: 0x0800, off: 4 };
      if (fam === 24 || fam === 28 || fam === 30 || fam === 10) return { type: 0x86dd, off: 4 };
      return 'not_ip';
    }
    case LINK.RAW:
    case LINK.RAW_OLD: {
      if (d.length < 1) return 'truncated';
      const v = d[0]! >> 4;
      return v === 4 ? { type: 0x0800, off: 0 } : v === 6 ? { type: 0x86dd, off: 0 } : 'not_ip';
    }
    case LINK.IPV4:
      return { type: 0x0800, off: 0 };
    case LINK.IPV6:
      return { type: 0x86dd, off: 0 };
    default:
      return 'unsupported_link_type';
  }
}

interface Pending {
  pieces: Array<{ off: number; data: Buffer }>;
  /** Payload length, known once the last fragment arrived. */
  total: number | undefined;
  firstTsUs: number;
  bytes: number;
}

/** IPv4/IPv6 fragment reassembly, bounded in datagrams and bytes; datagrams not completed in `timeoutUs` are dropped. */
export class Reassembler {
  readonly #pending = new Map<string, Pending>();
  dropped = 0;

  constructor(private readonly maxDatagrams = 4096, private readonly timeoutUs = 30_000_000) {}

  /** Returns the whole payload when this fragment completes it. */
  add(key: string, off: number, more: boolean, data: Buffer, tsUs: number): Buffer | undefined {
    let p = this.#pending.get(key);
    if (p === undefined) {
      if (this.#pending.size >= this.maxDatagrams) this.#expire(tsUs, true);
      p = { pieces: [], total: undefined, firstTsUs: tsUs, bytes: 0 };
      this.#pending.set(key, p);
    }
    p.pieces.push({ off, data });
    p.bytes += data.length;
    if (!more) p.total = off + data.length;
    if (p.total === undefined || p.bytes < p.total) return undefined;
    p.pieces.sort((a, b) => a.off - b.off);
    const out = Buffer.alloc(p.total);
    let covered = 0;
    for (const piece of p.pieces) {
      if (piece.off > covered) return undefined; // a hole: overlapping duplicates made up the byte count
      piece.data.copy(out, piece.off, 0, Math.min(piece.data.length, p.total - piece.off));
      covered = Math.max(covered, piece.off + piece.data.length);
    }
    if (covered < p.total) return undefined;
    this.#pending.delete(key);
    return out;
  }

  #expire(now: number, force: boolean): void {
    for (const [k, p] of this.#pending) {
      if (force || now - p.firstTsUs > this.timeoutUs) {
        this.#pending.delete(k);
        this.dropped++;
        if (force) return;
      }
    }
  }

  /** Drops what timed out; returns how many datagrams are still incomplete. */
  sweep(now: number): number {
    this.#expire(now, false);
    return this.#pending.size;
  }

  get pending(): number {
    return this.#pending.size;
  }
}

function transport(family: 4 | 6, src: string, dst: string, proto: number, p: Buffer, tsUs: number, frags: Reassembler, depth: number): Decoded {
  // IP in IP (4) and IPv6 in IP (41): tunnels between capture points; the inner packet is the traffic.
  if ((proto === 4 || proto === 41) && depth < 4) return proto === 4 ? ipv4(p, tsUs, frags, depth + 1) : ipv6(p, tsUs, frags, depth + 1);
  if (proto === 17) {
    if (p.length < 8) return skip('truncated');
    const len = p.readUInt16BE(4);
    const end = len >= 8 && len <= p.length ? len : p.length;
    return { kind: 'segment', segment: { family, src, dst, proto: 'udp', srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), payload: p.subarray(8, end), seq: 0, syn: false, fin: false, rst: false } };
  }
  if (proto === 6) {
    if (p.length < 20) return skip('truncated');
    const hl = (p[12]! >> 4) * 4;
    if (hl < 20 || hl > p.length) return skip('truncated');
    const flags = p[13]!;
    return { kind: 'segment', segment: {
      family, src, dst, proto: 'tcp', srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), payload: p.subarray(hl),
      seq: p.readUInt32BE(4), syn: (flags & 0x02) !== 0, fin: (flags & 0x01) !== 0, rst: (flags & 0x04) !== 0,
    } };
  }
  return skip('not_udp_or_tcp');
}

export function decodeFrame(link: number, d: Buffer, tsUs: number, frags: Reassembler): Decoded {
  const n = network(link, d);
  if (typeof n === 'string') return skip(n);
  if (n.type === 0x0800) return ipv4(d.subarray(n.off), tsUs, frags);
  if (n.type === 0x86dd) return ipv6(d.subarray(n.off), tsUs, frags);
  return skip('not_ip');
}

function ipv4(ip: Buffer, tsUs: number, frags: Reassembler, depth = 0): Decoded {
  if (ip.length < 20) return skip('truncated');
  if (ip[0]! >> 4 !== 4) return skip('ip_invalid');
  const ihl = (ip[0]! & 0x0f) * 4;
  const total = ip.readUInt16BE(2);
  if (ihl < 20 || total < ihl) return skip('ip_invalid');
  // Ethernet pads short frames; a capture cut by its snap length is shorter than the total length.
  const body = ip.subarray(ihl, Math.min(total, ip.length));
  const src = formatIpv4(ip, 12);
  const dst = formatIpv4(ip, 16);
  const proto = ip[9]!;
  const ff = ip.readUInt16BE(6);
  const more = (ff & 0x2000) !== 0;
  const off = (ff & 0x1fff) * 8;
  if (more || off > 0) {
    if (total > ip.length) return skip('truncated');
    const whole = frags.add(`4|${src}|${dst}|${proto}|${ip.readUInt16BE(4)}`, off, more, Buffer.from(body), tsUs);
    return whole === undefined ? skip('fragment_pending') : transport(4, src, dst, proto, whole, tsUs, frags, depth);
  }
  return transport(4, src, dst, proto, body, tsUs, frags, depth);
}

function ipv6(ip: Buffer, tsUs: number, frags: Reassembler, depth = 0): Decoded {
  if (ip.length < 40) return skip('truncated');
  if (ip[0]! >> 4 !== 6) return skip('ip_invalid');
  const end = Math.min(40 + ip.readUInt16BE(4), ip.length);
  const src = formatIpv6(ip, 8);
  const dst = formatIpv6(ip, 24);
  let next = ip[6]!;
  let off = 40;
  let frag: { off: number; more: boolean; id: number } | undefined;
  for (let hops = 0; hops < 16; hops++) {
    if (next === 0 || next === 43 || next === 60 || next === 51) {
      if (off + 2 > end) return skip('truncated');
      const len = next === 51 ? (ip[off + 1]! + 2) * 4 : (ip[off + 1]! + 1) * 8;
      next = ip[off]!;
      off += len;
      continue;
    }
    if (next === 44) {
      if (off + 8 > end) return skip('truncated');
      const fo = ip.readUInt16BE(off + 2);
      frag = { off: fo & 0xfff8, more: (fo & 1) !== 0, id: ip.readUInt32BE(off + 4) };
      next = ip[off]!;
      off += 8;
      continue;
    }
    break;
  }
  if (off > end) return skip('truncated');
  const body = ip.subarray(off, end);
  if (frag !== undefined && (frag.more || frag.off > 0)) {
    const whole = frags.add(`6|${src}|${dst}|${next}|${frag.id}`, frag.off, frag.more, Buffer.from(body), tsUs);
    return whole === undefined ? skip('fragment_pending') : transport(6, src, dst, next, whole, tsUs, frags, depth);
  }
  return transport(6, src, dst, next, body, tsUs, frags, depth);
}
