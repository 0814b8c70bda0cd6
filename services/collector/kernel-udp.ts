/**
 * Kernel-side UDP drops. A datagram the kernel could not queue (receive buffer full) never reaches the collector,
 * so none of our counters sees it; the kernel's own counters in /proc/net/snmp (IPv4) and /proc/net/snmp6 (IPv6)
 * do. They are host-wide and count since boot, for every UDP socket of the host, not only ours: exported as gauges
 * of what the kernel reports, to be read as a rate next to `tollgate_collector_packets_total`. Linux only; on other
 * systems the metrics are absent.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { Gauge } from '../shared/metrics.ts';

export interface UdpKernelCounters {
  readonly rcvbufErrors: number;
  readonly inErrors: number;
}

const SNMP = '/proc/net/snmp';
const SNMP6 = '/proc/net/snmp6';

/** `/proc/net/snmp`: a `Udp:` line of names followed by a `Udp:` line of values. */
export function parseSnmp(text: string): UdpKernelCounters | undefined {
  const rows = text.split('\n').filter((l) => l.startsWith('Udp: '));
  if (rows.length < 2) return undefined;
  const names = rows[0]!.split(/\s+/).slice(1);
  const values = rows[1]!.split(/\s+/).slice(1).map(Number);
  const get = (n: string): number | undefined => {
    const i = names.indexOf(n);
    return i === -1 ? undefined : values[i];
  };
  const rcvbufErrors = get('RcvbufErrors');
  const inErrors = get('InErrors');
  return rcvbufErrors === undefined || inErrors === undefined ? undefined : { rcvbufErrors, inErrors };
}

/** `/proc/net/snmp6`: one `Name value` pair per line. */
export function parseSnmp6(text: string): UdpKernelCounters | undefined {
  let rcvbufErrors: number | undefined;
  let inErrors: number | undefined;
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === 'Udp6RcvbufErrors') rcvbufErrors = Number(value);
    else if (name === 'Udp6InErrors') inErrors = Number(value);
  }
  return rcvbufErrors === undefined || inErrors === undefined ? undefined : { rcvbufErrors, inErrors };
}

const SOURCES = [
  { family: 'ipv4', path: SNMP, parse: parseSnmp },
  { family: 'ipv6', path: SNMP6, parse: parseSnmp6 },
] as const;

/** Registers the gauges when the files exist and parse; returns whether it did. Read again at every scrape. */
export function registerKernelUdpCounters(registry: Registry): boolean {
  if (process.platform !== 'linux') return false;
  const sources = SOURCES.filter((s) => {
    try {
      return s.parse(readFileSync(s.path, 'utf8')) !== undefined;
    } catch {
      return false;
    }
  });
  if (sources.length === 0) return false;
  const read = async (): Promise<Array<{ family: string; c: UdpKernelCounters }>> => {
    const out: Array<{ family: string; c: UdpKernelCounters }> = [];
    for (const s of sources) {
      const c = s.parse(await readFile(s.path, 'utf8').catch(() => ''));
      if (c !== undefined) out.push({ family: s.family, c });
    }
    return out;
  };
  new Gauge({
    name: 'tollgate_collector_kernel_udp_rcvbuf_errors',
    help: 'Host-wide UDP datagrams the kernel dropped for a full socket receive buffer, since boot (RcvbufErrors of '
      + '/proc/net/snmp and /proc/net/snmp6): HEP lost before the collector could read it. Raise HEP_UDP_RECV_BUFFER '
      + 'and net.core.rmem_max, or add collectors.',
    labelNames: ['family'],
    registers: [registry],
    async collect() {
      for (const { family, c } of await read()) this.labels(family).set(c.rcvbufErrors);
    },
  });
  new Gauge({
    name: 'tollgate_collector_kernel_udp_in_errors',
    help: 'Host-wide UDP datagrams the kernel could not deliver, since boot (InErrors of /proc/net/snmp and '
      + '/proc/net/snmp6; includes receive buffer overflows and checksum errors).',
    labelNames: ['family'],
    registers: [registry],
    async collect() {
      for (const { family, c } of await read()) this.labels(family).set(c.inErrors);
    },
  });
  return true;
}
