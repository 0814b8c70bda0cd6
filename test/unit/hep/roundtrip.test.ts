import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeHep,
  encodeHep,
  encodeHepV2,
  formatIpv6,
  HepEncodeError,
  type HepPacket,
} from '../../../services/shared/hep/index.ts';
import { anyPacket, canonicalIpv6, defined, expectedAfterRoundTrip } from './arbitraries.ts';
import { SIP_FIXTURES } from './fixtures.ts';

describe('HEPv3 encode -> decode round trip', () => {
  it('returns every field for arbitrary IPv4/IPv6 packets with binary payloads and all optional chunks', () => {
    fc.assert(
      fc.property(anyPacket, (p) => {
        const wire = encodeHep(p);
        assert.equal(wire.readUInt16BE(4), wire.length);
        assert.deepStrictEqual(defined(decodeHep(wire)), expectedAfterRoundTrip(p));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps invalid UTF-8 payload bytes untouched', () => {
    const payload = Buffer.from([0x49, 0x4e, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0xed, 0xa0, 0x80]);
    const p = { ...SIP_FIXTURES[0]!.packet, payload };
    assert.ok(decodeHep(encodeHep(p)).payload.equals(payload));
  });

  it('round-trips the SIP fixtures', () => {
    for (const { name, packet } of SIP_FIXTURES) {
      assert.deepStrictEqual(defined(decodeHep(encodeHep(packet))), defined(packet), name);
    }
  });

  it('leaves out an address chunk for an empty address and reports it empty', () => {
    const p: HepPacket = { ...SIP_FIXTURES[0]!.packet, srcIp: '', dstIp: '', ipFamily: 6 };
    const d = decodeHep(encodeHep(p));
    assert.equal(d.srcIp, '');
    assert.equal(d.dstIp, '');
    assert.equal(d.ipFamily, 6);
  });

  it('refuses fields the wire cannot carry', () => {
    const good = SIP_FIXTURES[0]!.packet;
    const bad: Array<Partial<HepPacket>> = [
      { srcPort: 70000 },
      { captureId: -1 },
      { timestampSec: 1.5 },
      { srcIp: '10.0.0.256' },
      { srcIp: '010.0.0.1' },
      { ipFamily: 6, srcIp: '10.0.0.1', dstIp: '::1' },
      { ipFamily: 6, srcIp: '1::2::3', dstIp: '::1' },
      { payload: Buffer.alloc(65535) },
    ];
    for (const b of bad) assert.throws(() => encodeHep({ ...good, ...b }), HepEncodeError, JSON.stringify(b));
  });
});

describe('IPv6 text', () => {
  it('formats 16 arbitrary bytes as RFC 5952 text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (bytes, zeroRun) => {
        const b = Buffer.from(bytes);
        if (zeroRun) b.fill(0, 2, 10);
        const naive = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
        assert.equal(formatIpv6(b, 0), canonicalIpv6(naive));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches RFC 5952 examples', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['FE80::ABCD', 'fe80::abcd'],
    ];
    for (const [input, want] of cases) {
      const p: HepPacket = { ...SIP_FIXTURES[0]!.packet, ipFamily: 6, srcIp: input, dstIp: '::1' };
      assert.equal(decodeHep(encodeHep(p)).srcIp, want, input);
    }
  });
});

describe('HEPv2', () => {
  it('decodes what encodeHepV2 writes (IPv4 and IPv6)', () => {
    for (const family of [4, 6] as const) {
      const p: HepPacket = {
        ...SIP_FIXTURES[0]!.packet,
        ipFamily: family,
        srcIp: family === 4 ? '192.0.2.1' : '2001:db8::7',
        dstIp: family === 4 ? '192.0.2.2' : 'fe80::1',
        captureId: 0xbeef,
      };
      const d = decodeHep(encodeHepV2(p));
      assert.deepStrictEqual(defined(d), {
        version: 2,
        ipFamily: family,
        protocol: p.protocol,
        srcIp: p.srcIp,
        dstIp: p.dstIp,
        srcPort: p.srcPort,
        dstPort: p.dstPort,
        timestampSec: p.timestampSec,
        timestampUsec: p.timestampUsec,
        payloadType: 1,
        captureId: 0xbeef,
        payload: p.payload,
      });
    }
  });

  it('reads a hand-built Kamailio-style HEPv2 packet (little-endian time block)', () => {
    const sip = Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n\r\n');
    const hdr = Buffer.from([2, 16, 2, 17, 0x13, 0xc4, 0x13, 0xc5, 10, 0, 0, 1, 10, 0, 0, 2]);
    const time = Buffer.alloc(12);
    time.writeUInt32LE(1718000000, 0);
    time.writeUInt32LE(999, 4);
    time.writeUInt16LE(2001, 8);
    const d = decodeHep(Buffer.concat([hdr, time, sip]));
    assert.equal(d.srcIp, '10.0.0.1');
    assert.equal(d.dstPort, 5061);
    assert.equal(d.timestampSec, 1718000000);
    assert.equal(d.timestampUsec, 999);
    assert.equal(d.captureId, 2001);
    assert.ok(d.payload.equals(sip));
  });
});
