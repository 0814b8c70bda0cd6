/**
 * CIDRs that are never blocked (carriers, own platform, monitoring), on node's own BlockList matcher. The engine asks
 * several times per event; one `BlockList.check` builds a SocketAddress (~2.7 µs: bench/PROFILE.md, "Guard: where an
 * event's CPU goes"), so an empty list answers at once and a non-empty one remembers its answers per address (the
 * list never changes after construction, so a remembered answer is the answer).
 */
import { BlockList, isIP } from 'node:net';
import { BoundedCache } from '../../shared/bounded-cache.ts';
import { TollgateError } from '../../shared/errors.ts';
import { GuardErrors } from '../errors.ts';

export class Allowlist {
  readonly #list = new BlockList();
  readonly entries: readonly string[];
  /** Answers by address (an address flood clears it rather than growing it). */
  readonly #known = new BoundedCache<string, boolean>(65_536);

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      const family = isIP(addr ?? '');
      const max = family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (family === 0 || !(prefix >= 0 && prefix <= max)) {
        throw new TollgateError(GuardErrors.badAddress, `GUARD_ALLOWLIST entry "${c}" is not an IPv4 or IPv6 CIDR`, { entry: c });
      }
      this.#list.addSubnet(addr!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
    this.entries = [...cidrs];
  }

  static parse(text: string): Allowlist {
    return new Allowlist(text.split(',').map((x) => x.trim()).filter(Boolean));
  }

  has(ip: string): boolean {
    if (this.entries.length === 0) return false;
    return this.#known.get(ip) ?? this.#known.set(ip, check(this.#list, ip));
  }
}

function check(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
