import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseSnmp, parseSnmp6, registerKernelUdpCounters } from '../../../services/collector/kernel-udp.ts';

const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 123
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 1132989 19 210940 1347455 210938 0 2 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 7 0 7 0 0 0 0
`;

const SNMP6 = `Udp6InDatagrams                 \t2879
Udp6NoPorts                     \t0
Udp6InErrors                    \t12
Udp6OutDatagrams                \t2879
Udp6RcvbufErrors                \t11
UdpLite6RcvbufErrors            \t99
`;

describe('kernel UDP drop counters', () => {
  it('reads RcvbufErrors and InErrors of UDP (not UDP-Lite) from /proc/net/snmp', () => {
    assert.deepEqual(parseSnmp(SNMP), { rcvbufErrors: 210938, inErrors: 210940 });
    assert.equal(parseSnmp('Ip: a\nIp: 1\n'), undefined);
  });

  it('reads the Udp6 pair from /proc/net/snmp6', () => {
    assert.deepEqual(parseSnmp6(SNMP6), { rcvbufErrors: 11, inErrors: 12 });
    assert.equal(parseSnmp6(''), undefined);
  });

  it('exports gauges on Linux, none elsewhere', async () => {
    const registry = new Registry();
    const registered = registerKernelUdpCounters(registry);
    assert.equal(registered, process.platform === 'linux');
    const text = await registry.metrics();
    if (!registered) {
      assert.doesNotMatch(text, /kernel_udp/);
      return;
    }
    assert.match(text, /tollgate_collector_kernel_udp_rcvbuf_errors\{family="ipv4"\} \d+/);
    assert.match(text, /tollgate_collector_kernel_udp_in_errors\{family="ipv4"\} \d+/);
  });
});
