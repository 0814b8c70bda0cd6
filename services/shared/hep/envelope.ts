/**
 * The Kafka value of every captured packet: a small binary envelope that records what only the collector knows
 * (when and from where the bytes arrived, what it changed its mind about) followed by the HEP bytes exactly as
 * received, so consumers can re-decode with any HEP decoder and nothing the sender sent is lost.
 *
 * Layout v1 (big-endian):
 *   0  u8   magic 0xE7
 *   1  u8   version 1
 *   2  u8   flags (bit 0: HEP timestamp replaced by receive time; bits 1-2: transport 0 udp, 1 tcp, 2 tls)
 *   3  u8   sender address family (4 or 6)
 *   4  u64  receive time, ns since the Unix epoch
 *   12 u16  sender port
 *   14 4|16 sender address
 *   .. raw HEP packet, to the end
 */
import { defineError, TollgateError } from '../errors.ts';
import type { Slab } from '../slab.ts';
import { formatIpv4, formatIpv6, parseIpv4, writeIpv6 } from './ip.ts';

export const EnvelopeErrors = {
  badEnvelope: defineError('TG_COLLECTOR_BAD_ENVELOPE', 'Bytes are not a tollgate capture envelope of a known version.'),
} as const;

export const ENVELOPE_MAGIC = 0xe7;
export const ENVELOPE_VERSION = 1;
export const FLAG_TS_FIXED = 0x01;
const TRANSPORT_SHIFT = 1;
const TRANSPORT_MASK = 0x06;

export type Transport = 'udp' | 'tcp' | 'tls';
export const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

export interface EnvelopeSender {
  readonly family: 4 | 6;
  /** 4 or 16 address bytes. */
  readonly addr: Buffer;
  readonly port: number;
}

export interface Envelope {
  readonly version: number;
  readonly flags: number;
  readonly timestampFixed: boolean;
  readonly transport: Transport;
  readonly receivedAtNs: bigint;
  readonly senderFamily: 4 | 6;
  readonly senderIp: string;
  readonly senderPort: number;
  /** View into the envelope buffer. */
  readonly hep: Buffer;
}

export function envelopeHeaderSize(family: 4 | 6): number {
  return family === 6 ? 30 : 18;
}

/**
 * One allocation and one copy of the HEP bytes; this runs for every accepted packet. `skip` (`[start, end, ...]`,
 * ascending, `skipBytes` in total) names HEP3 chunks to leave out while copying (the auth key): the HEP length field
 * is then rewritten, so the result equals `encodeEnvelope(withoutChunk(hep, ...))` without the intermediate copy.
 * `slab`: where the bytes are carved from (the collector's, see slab.ts); every byte of the result is written.
 */
export function encodeEnvelope(
  hep: Buffer, sender: EnvelopeSender, receivedAtNs: bigint, transport: Transport, flags: number,
  skip?: readonly number[], skipBytes = 0, slab?: Slab,
): Buffer {
  const head = envelopeHeaderSize(sender.family);
  const size = head + hep.length - skipBytes;
  const out = slab === undefined ? Buffer.allocUnsafe(size) : slab.alloc(size);
  out[0] = ENVELOPE_MAGIC;
  out[1] = ENVELOPE_VERSION;
  out[2] = (flags & ~TRANSPORT_MASK) | (TRANSPORTS.indexOf(transport) << TRANSPORT_SHIFT);
  out[3] = sender.family;
  out.writeBigUInt64BE(receivedAtNs, 4);
  out.writeUInt16BE(sender.port, 12);
  sender.addr.copy(out, 14, 0, sender.family === 6 ? 16 : 4);
  if (skip === undefined || skip.length === 0) {
    hep.copy(out, head);
    return out;
  }
  let to = head;
  let from = 0;
  for (let i = 0; i < skip.length; i += 2) {
    to += hep.copy(out, to, from, skip[i]!);
    from = skip[i + 1]!;
  }
  hep.copy(out, to, from);
  out.writeUInt16BE(hep.length - skipBytes, head + 4);
  return out;
}

function bad(message: string): TollgateError {
  return new TollgateError(EnvelopeErrors.badEnvelope, message);
}

export function decodeEnvelope(buf: Buffer): Envelope {
  if (buf.length < 18 || buf[0] !== ENVELOPE_MAGIC) throw bad('not a tollgate capture envelope');
  const version = buf[1]!;
  if (version !== ENVELOPE_VERSION) throw bad(`capture envelope version ${version} is not supported`);
  const family = buf[3];
  if (family !== 4 && family !== 6) throw bad(`capture envelope address family ${family}`);
  const head = envelopeHeaderSize(family);
  if (buf.length < head) throw bad('capture envelope truncated');
  const flags = buf[2]!;
  const transport = TRANSPORTS[(flags & TRANSPORT_MASK) >> TRANSPORT_SHIFT];
  if (transport === undefined) throw bad('capture envelope transport bits invalid');
  return {
    version,
    flags,
    timestampFixed: (flags & FLAG_TS_FIXED) !== 0,
    transport,
    receivedAtNs: buf.readBigUInt64BE(4),
    senderFamily: family,
    senderIp: family === 6 ? formatIpv6(buf, 14) : formatIpv4(buf, 14),
    senderPort: buf.readUInt16BE(12),
    hep: buf.subarray(head),
  };
}

/**
 * Address text from a socket (dotted quad, IPv6, or IPv4-mapped IPv6) -> envelope sender. IPv4-mapped addresses
 * from a dual-stack socket are stored as IPv4, which is what the sender really used.
 */
export function senderFromSocket(address: string, port: number): EnvelopeSender | undefined {
  const mapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  const v4 = parseIpv4(mapped);
  if (v4 >= 0) {
    const addr = Buffer.allocUnsafe(4);
    addr.writeUInt32BE(v4 >>> 0, 0);
    return { family: 4, addr, port };
  }
  const addr = Buffer.alloc(16);
  // Link-local addresses come with a zone ("fe80::1%eth0"); the zone is local to this host, so it is dropped.
  const pct = mapped.indexOf('%');
  return writeIpv6(pct >= 0 ? mapped.slice(0, pct) : mapped, addr, 0) ? { family: 6, addr, port } : undefined;
}
