/** Which sockets a listener opens for HEP_HOST / HEP_IPV6. */
import { isIPv4, isIPv6 } from 'node:net';

export interface BindTarget {
  readonly address: string;
  readonly family: 4 | 6;
  /** Only for the extra IPv6 socket next to an IPv4 one: without it `::` would also claim the IPv4 port. */
  readonly ipv6Only: boolean;
}

/** Returns undefined when HEP_IPV6 is asked for a specific IPv4 address that has no IPv6 counterpart. */
export function bindTargets(host: string, ipv6: boolean): BindTarget[] | undefined {
  if (isIPv6(host)) return [{ address: host, family: 6, ipv6Only: false }];
  const v4: BindTarget = { address: host, family: 4, ipv6Only: false };
  if (!ipv6) return [v4];
  if (host === '127.0.0.1' || host === 'localhost') return [v4, { address: '::1', family: 6, ipv6Only: true }];
  if (host === '0.0.0.0') return [v4, { address: '::', family: 6, ipv6Only: true }];
  return isIPv4(host) ? undefined : [v4];
}

export function formatBind(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
