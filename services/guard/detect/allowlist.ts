/** CIDRs that are never blocked (carriers, own platform, monitoring), on node's own BlockList matcher. */
import { BlockList, isIP } from 'node:net';
import { TollgateError } from '../../shared/errors.ts';
import { GuardErrors } from '../errors.ts';

export class Allowlist {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

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
    const family = isIP(ip);
    if (family === 0) return false;
    return this.#list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}
