/** fast-check generators and comparison helpers shared by the HEP tests. */
import fc from 'fast-check';
import type { HepPacket, HepVendorChunk } from '../../../services/shared/hep/index.ts';

/** RFC 5952 text of an IPv6 address, computed independently of the code under test (WHATWG URL serializer). */
export function canonicalIpv6(text: string): string {
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  // URL never uses dotted notation; RFC 5952 section 5 wants it for IPv4-mapped addresses.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return host;
}

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const text = fc.string({ unit: 'binary', maxLength: 40 });

/** Any bytes: SIP text, UTF-8 with multibyte characters, and invalid UTF-8. */
export const payloadBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 400 }).map((s) => Buffer.from(s, 'utf8')),
  fc.constantFrom(Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from([0xc3, 0x28]), Buffer.alloc(0)),
);

const vendorChunk: fc.Arbitrary<HepVendorChunk> = fc.record({
  vendor: fc.integer({ min: 1, max: 0xffff }),
  type: u16,
  value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
}).map((c) => ({ ...c })); // fc.record builds null-prototype objects; the decoder returns plain ones

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

function packetArb(family: 4 | 6, payload: fc.Arbitrary<Buffer>, full: boolean): fc.Arbitrary<HepPacket> {
  const ip = family === 4 ? fc.ipV4() : fc.ipV6();
  return fc.record({
    version: fc.constant(3 as const),
    ipFamily: fc.constant(family),
    protocol: u8,
    srcIp: ip,
    dstIp: ip,
    srcPort: u16,
    dstPort: u16,
    timestampSec: u32,
    timestampUsec: u32,
    payloadType: fc.oneof(fc.constantFrom(1, 5, 32, 34, 35, 53, 100), u8),
    captureId: u32,
    authKey: opt(text),
    payload,
    correlationId: opt(text),
    nodeName: opt(text),
    vlan: full ? opt(u16) : fc.constant(undefined),
    mos: opt(u16),
    keepAliveTimer: full ? opt(u16) : fc.constant(undefined),
    compressed: full ? opt(fc.constant(true as const)) : fc.constant(undefined),
    vendorChunks: full ? opt(fc.array(vendorChunk, { minLength: 1, maxLength: 3 })) : fc.constant(undefined),
  }).map((p): HepPacket => ({ ...p }));
}

/**
 * HEP3 packets made of random raw chunks (vendor 0-2, type 0-40, any declared length, up to 24 value bytes) behind a
 * header whose total length is right, so decoders reach their chunk walk.
 */
export const chunkSoup: fc.Arbitrary<Buffer> = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 30 }), fc.uint8Array({ maxLength: 24 }))
    .map(([vendor, type, len, body]) => {
      const b = Buffer.alloc(6 + body.length);
      b.writeUInt16BE(vendor, 0);
      b.writeUInt16BE(type, 2);
      b.writeUInt16BE(len, 4);
      Buffer.from(body).copy(b, 6);
      return b;
    }),
  { maxLength: 12 },
).map((chunks) => {
  const buf = Buffer.concat([Buffer.from('HEP3\0\0'), ...chunks]);
  buf.writeUInt16BE(buf.length, 4);
  return buf;
});

/** Every field we model, IPv4 or IPv6, any payload bytes. */
export const anyPacket: fc.Arbitrary<HepPacket> = fc.oneof(
  packetArb(4, payloadBytes, true),
  packetArb(6, payloadBytes, true),
);

/** What hep-js can represent: IPv4, uncompressed, no vendor chunks; payload may still be binary. */
export const hepJsCompatiblePacket: fc.Arbitrary<HepPacket> = packetArb(4, payloadBytes, false);

/** Removes undefined members so deepStrictEqual compares what is really there. */
export function defined<T extends object>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

/** The packet the decoder should report for `p` after encoding: addresses canonical, buffers as plain bytes. */
export function expectedAfterRoundTrip(p: HepPacket): Partial<HepPacket> {
  return defined({
    ...p,
    srcIp: p.ipFamily === 6 ? canonicalIpv6(p.srcIp) : p.srcIp,
    dstIp: p.ipFamily === 6 ? canonicalIpv6(p.dstIp) : p.dstIp,
  });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidUtf8(buf: Buffer): boolean {
  try {
    strictUtf8.decode(buf);
    return true;
  } catch {
    return false;
  }
}
