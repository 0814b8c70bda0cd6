import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildPcap, ipv6Bytes } from '../../../services/api/calls/pcap.ts';

/** Reads back the records: timestamp, IP version, protocol, addresses, ports and payload. */
function parse(buf: Buffer) {
  assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(buf.readUInt32LE(20), 1);
  const out = [];
  let off = 24;
  while (off < buf.length) {
    const sec = buf.readUInt32LE(off);
    const usec = buf.readUInt32LE(off + 4);
    const len = buf.readUInt32LE(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    const v6 = frame.readUInt16BE(12) === 0x86dd;
    const ip = frame.subarray(14);
    const hl = v6 ? 40 : (ip[0]! & 0x0f) * 4;
    const proto = v6 ? ip[6]! : ip[9]!;
    const seg = ip.subarray(hl);
    const dataOff = proto === 6 ? (seg[12]! >> 4) * 4 : 8;
    out.push({ tsUs: sec * 1_000_000 + usec, v6, proto, srcPort: seg.readUInt16BE(0), dstPort: seg.readUInt16BE(2), payload: seg.subarray(dataOff).toString('utf8'),
      ipLen: v6 ? ip.readUInt16BE(4) + 40 : ip.readUInt16BE(2), frameIp: ip.length });
  }
  return out;
}

describe('PCAP builder (pure)', () => {
  it('writes one frame per message with the captured time, addresses, ports, transport and payload', () => {
    const ms = [
      { tsUs: 1_700_000_000_123_456, srcIp: '192.0.2.1', srcPort: 5060, dstIp: '192.0.2.2', dstPort: 5080, transport: 'UDP', payload: Buffer.from('INVITE a') },
      { tsUs: 1_700_000_001_000_001, srcIp: '2001:db8::1', srcPort: 5061, dstIp: '2001:db8::2', dstPort: 5062, transport: 'TCP', payload: Buffer.from('SIP/2.0 200 OK') },
      { tsUs: 1_700_000_002_000_000, srcIp: '192.0.2.9', srcPort: 1, dstIp: '2001:db8::2', dstPort: 2, transport: 'tls', payload: Buffer.from('x') },
    ];
    const recs = parse(buildPcap(ms));
    assert.deepEqual(recs.map((r) => [r.tsUs, r.v6, r.proto, r.srcPort, r.dstPort, r.payload, r.ipLen === r.frameIp]), [
      [1_700_000_000_123_456, false, 17, 5060, 5080, 'INVITE a', true],
      [1_700_000_001_000_001, true, 6, 5061, 5062, 'SIP/2.0 200 OK', true],
      [1_700_000_002_000_000, true, 6, 1, 2, 'x', true],
    ]);
  });

  it('expands IPv6 text forms', () => {
    assert.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001');
    assert.equal(ipv6Bytes('2001:db8::').toString('hex'), '20010db8000000000000000000000000');
    assert.equal(ipv6Bytes('::ffff:192.0.2.1').toString('hex'), '00000000000000000000ffffc0000201');
  });

  it('property: any payload and ports round-trip; record count equals message count', () => {
    fc.assert(fc.property(fc.array(fc.record({
      payload: fc.uint8Array({ maxLength: 2000 }), srcPort: fc.integer({ min: 1, max: 65535 }), dstPort: fc.integer({ min: 1, max: 65535 }),
      tcp: fc.boolean(), v6: fc.boolean(), ts: fc.integer({ min: 0, max: 2 ** 31 }),
    }), { maxLength: 20 }), (list) => {
      const ms = list.map((m) => ({ tsUs: m.ts * 1000, srcIp: m.v6 ? '2001:db8::a' : '10.0.0.1', dstIp: m.v6 ? '2001:db8::b' : '10.0.0.2', srcPort: m.srcPort, dstPort: m.dstPort, transport: m.tcp ? 'tcp' : 'udp', payload: Buffer.from(m.payload) }));
      const recs = parse(buildPcap(ms));
      assert.equal(recs.length, ms.length);
      recs.forEach((r, i) => {
        assert.equal(r.payload, Buffer.from(list[i]!.payload).toString('utf8'));
        assert.equal(r.proto, list[i]!.tcp ? 6 : 17);
      });
    }), { numRuns: 100 });
  });
});
