/**
 * Builds capture files for the importer tests: frames (Ethernet with VLAN tags, Linux SLL/SLL2, loopback, raw IP)
 * around IPv4/IPv6 UDP and TCP segments, written as pcap (either byte order, µs or ns) or pcapng (EPB, SPB,
 * per-interface link type and timestamp resolution).
 */

export interface Pkt {
  readonly tsUs: number;
  readonly link: number;
  readonly data: Buffer;
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export interface Ends {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

export function udp(e: Ends, payload: Buffer): { proto: number; bytes: Buffer } {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(e.sport, 0);
  h.writeUInt16BE(e.dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return { proto: 17, bytes: Buffer.concat([h, payload]) };
}

export function tcp(e: Ends, seq: number, payload: Buffer, flags: { syn?: boolean; fin?: boolean; rst?: boolean } = {}): { proto: number; bytes: Buffer } {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(e.sport, 0);
  h.writeUInt16BE(e.dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h[12] = 5 << 4;
  h[13] = 0x10 | (flags.syn ? 0x02 : 0) | (flags.fin ? 0x01 : 0) | (flags.rst ? 0x04 : 0);
  return { proto: 6, bytes: Buffer.concat([h, payload]) };
}

/** IPv4 packet(s): split into fragments of at most `fragment` payload bytes (a multiple of 8) when given. */
export function ipv4(e: Ends, t: { proto: number; bytes: Buffer }, id = 1, fragment?: number): Buffer[] {
  const pieces: Array<{ off: number; data: Buffer; more: boolean }> = [];
  if (fragment === undefined || t.bytes.length <= fragment) pieces.push({ off: 0, data: t.bytes, more: false });
  else for (let o = 0; o < t.bytes.length; o += fragment) pieces.push({ off: o, data: t.bytes.subarray(o, o + fragment), more: o + fragment < t.bytes.length });
  return pieces.map((p) => {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + p.data.length, 2);
    h.writeUInt16BE(id, 4);
    h.writeUInt16BE((p.more ? 0x2000 : 0) | (p.off / 8), 6);
    h[8] = 64;
    h[9] = t.proto;
    ipv4Bytes(e.src).copy(h, 12);
    ipv4Bytes(e.dst).copy(h, 16);
    return Buffer.concat([h, p.data]);
  });
}

export function ipv6(e: Ends, t: { proto: number; bytes: Buffer }, id = 1, fragment?: number): Buffer[] {
  const mk = (next: number, body: Buffer) => {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(body.length, 4);
    h[6] = next;
    h[7] = 64;
    ipv6Bytes(e.src).copy(h, 8);
    ipv6Bytes(e.dst).copy(h, 24);
    return Buffer.concat([h, body]);
  };
  if (fragment === undefined || t.bytes.length <= fragment) return [mk(t.proto, t.bytes)];
  const out: Buffer[] = [];
  for (let o = 0; o < t.bytes.length; o += fragment) {
    const more = o + fragment < t.bytes.length;
    const fh = Buffer.alloc(8);
    fh[0] = t.proto;
    fh.writeUInt16BE(o | (more ? 1 : 0), 2);
    fh.writeUInt32BE(id, 4);
    out.push(mk(44, Buffer.concat([fh, t.bytes.subarray(o, o + fragment)])));
  }
  return out;
}

export type LinkKind = 'ethernet' | 'vlan' | 'qinq' | 'sll' | 'sll2' | 'null' | 'raw';
export const LINK_TYPE: Record<LinkKind, number> = { ethernet: 1, vlan: 1, qinq: 1, sll: 113, sll2: 276, null: 0, raw: 101 };

export function frame(kind: LinkKind, ip: Buffer): Buffer {
  const v6 = ip[0]! >> 4 === 6;
  const type = v6 ? 0x86dd : 0x0800;
  const eth = (tags: number[]) => {
    const h = Buffer.alloc(12 + tags.length * 4 + 2);
    h.fill(0x02, 0, 12);
    let o = 12;
    for (const tpid of tags) {
      h.writeUInt16BE(tpid, o);
      h.writeUInt16BE(100, o + 2);
      o += 4;
    }
    h.writeUInt16BE(type, o);
    return Buffer.concat([h, ip]);
  };
  switch (kind) {
    case 'ethernet': return eth([]);
    case 'vlan': return eth([0x8100]);
    case 'qinq': return eth([0x88a8, 0x8100]);
    case 'sll': {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0);
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(type, 14);
      return Buffer.concat([h, ip]);
    }
    case 'sll2': {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(type, 0);
      h.writeUInt32BE(2, 4);
      return Buffer.concat([h, ip]);
    }
    case 'null': {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(v6 ? 30 : 2, 0);
      return Buffer.concat([h, ip]);
    }
    case 'raw': return ip;
  }
}

export function pcapFile(pkts: readonly Pkt[], o: { bigEndian?: boolean; nanos?: boolean } = {}): Buffer {
  const link = pkts[0]?.link ?? 1;
  const w32 = (b: Buffer, v: number, at: number) => (o.bigEndian ? b.writeUInt32BE(v >>> 0, at) : b.writeUInt32LE(v >>> 0, at));
  const w16 = (b: Buffer, v: number, at: number) => (o.bigEndian ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const g = Buffer.alloc(24);
  w32(g, o.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, 262_144, 16);
  w32(g, link, 20);
  const parts: Buffer[] = [g];
  for (const p of pkts) {
    const h = Buffer.alloc(16);
    w32(h, Math.floor(p.tsUs / 1e6), 0);
    w32(h, o.nanos ? (p.tsUs % 1e6) * 1000 : p.tsUs % 1e6, 4);
    w32(h, p.data.length, 8);
    w32(h, p.data.length, 12);
    parts.push(h, p.data);
  }
  return Buffer.concat(parts);
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

function block(type: number, body: Buffer, be: boolean): Buffer {
  const b = pad4(body);
  const out = Buffer.alloc(12 + b.length);
  const w = (v: number, at: number) => (be ? out.writeUInt32BE(v, at) : out.writeUInt32LE(v, at));
  w(type, 0);
  w(out.length, 4);
  b.copy(out, 8);
  w(out.length, out.length - 4);
  return out;
}

/**
 * pcapng with one interface per distinct link type (in first-use order); `tsresol` per interface as the option
 * byte (6 = µs, 9 = ns, 0x80|20 = 2^-20 s). `simple` writes Simple Packet Blocks for interface 0 (no timestamp).
 */
export function pcapngFile(pkts: readonly Pkt[], o: { bigEndian?: boolean; tsresol?: number[]; simple?: boolean; junkBlocks?: boolean } = {}): Buffer {
  const be = o.bigEndian === true;
  const w32 = (b: Buffer, v: number, at: number) => (be ? b.writeUInt32BE(v >>> 0, at) : b.writeUInt32LE(v >>> 0, at));
  const w16 = (b: Buffer, v: number, at: number) => (be ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const shb = Buffer.alloc(16);
  w32(shb, 0x1a2b3c4d, 0);
  w16(shb, 1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const parts = [block(0x0a0d0d0a, shb, be)];
  const links: number[] = [];
  for (const p of pkts) if (!links.includes(p.link)) links.push(p.link);
  const res = links.map((_, i) => o.tsresol?.[i] ?? 6);
  links.forEach((l, i) => {
    const opt = Buffer.alloc(12);
    w16(opt, 9, 0);
    w16(opt, 1, 2);
    opt[4] = res[i]!;
    const body = Buffer.alloc(8);
    w16(body, l, 0);
    w32(body, 262_144, 4);
    parts.push(block(1, Buffer.concat([body, opt.subarray(0, 8), Buffer.alloc(4)]), be));
  });
  if (o.junkBlocks) parts.push(block(5, Buffer.alloc(20, 7), be), block(0x0bad, Buffer.alloc(8, 1), be));
  for (const p of pkts) {
    const i = links.indexOf(p.link);
    if (o.simple === true && i === 0) {
      const h = Buffer.alloc(4);
      w32(h, p.data.length, 0);
      parts.push(block(3, Buffer.concat([h, p.data]), be));
      continue;
    }
    const r = res[i]!;
    const per = (r & 0x80) !== 0 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r);
    const ticks = (BigInt(p.tsUs) * per) / 1_000_000n;
    const h = Buffer.alloc(20);
    w32(h, i, 0);
    w32(h, Number(ticks >> 32n), 4);
    w32(h, Number(ticks & 0xffffffffn), 8);
    w32(h, p.data.length, 12);
    w32(h, p.data.length, 16);
    parts.push(block(6, Buffer.concat([h, p.data]), be));
  }
  return Buffer.concat(parts);
}
