/** CIDR allowlist for HEP senders. Matched once per sender (UDP) or connection (TCP), never per packet. */
import { parseIpv4, writeIpv6 } from '../shared/hep/index.ts';
import { TollgateError } from '../shared/errors.ts';
import { CollectorErrors } from './errors.ts';
import type { EnvelopeSender } from '../shared/hep/envelope.ts';

interface Range {
  readonly family: 4 | 6;
  readonly bytes: Buffer;
  readonly bits: number;
}

export class CidrList {
  readonly #ranges: Range[];

  private constructor(ranges: Range[]) {
    this.#ranges = ranges;
  }

  get size(): number {
    return this.#ranges.length;
  }

  /** Parses `10.0.0.0/8, 2001:db8::/32, 192.0.2.7`; throws TG_COLLECTOR_BAD_CIDR naming the bad entry. */
  static parse(text: string): CidrList {
    const ranges: Range[] = [];
    for (const entry of text.split(',').map((x) => x.trim()).filter(Boolean)) {
      const slash = entry.indexOf('/');
      const ip = slash < 0 ? entry : entry.slice(0, slash);
      const bitsText = slash < 0 ? undefined : entry.slice(slash + 1);
      const v4 = parseIpv4(ip);
      let family: 4 | 6;
      let bytes: Buffer;
      if (v4 >= 0) {
        family = 4;
        bytes = Buffer.allocUnsafe(4);
        bytes.writeUInt32BE(v4 >>> 0, 0);
      } else {
        family = 6;
        bytes = Buffer.alloc(16);
        if (!writeIpv6(ip, bytes, 0)) throw badCidr(entry);
      }
      const max = family === 4 ? 32 : 128;
      const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
      if (!(bits >= 0 && bits <= max)) throw badCidr(entry);
      ranges.push({ family, bytes, bits });
    }
    return new CidrList(ranges);
  }

  contains(sender: EnvelopeSender): boolean {
    for (const r of this.#ranges) if (r.family === sender.family && prefixEqual(r.bytes, sender.addr, r.bits)) return true;
    return false;
  }
}

function badCidr(entry: string): TollgateError {
  return new TollgateError(CollectorErrors.badCidr, `HEP_ALLOWED_SOURCES entry "${entry}" is not an IPv4 or IPv6 CIDR`, { entry });
}

function prefixEqual(a: Buffer, b: Buffer, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}
