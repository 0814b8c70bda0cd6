import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AnalyzerErrors } from '../../../services/analyzer/errors.ts';
import { parseQosJson } from '../../../services/analyzer/qos/json.ts';
import { encodeRtcp, parseRtcp, type RtcpReport } from '../../../services/analyzer/qos/rtcp.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const block = fc.record({
  sourceSsrc: u32,
  fractionLost: fc.integer({ min: 0, max: 255 }),
  cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
  highestSeq: u32,
  jitter: u32,
  lsr: u32,
  dlsr: u32,
});
const report: fc.Arbitrary<RtcpReport> = fc.oneof(
  fc.record({
    type: fc.constant('sr' as const), reporterSsrc: u32,
    sender: fc.record({ ntpTs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), rtpTs: u32, packets: u32, octets: u32 }),
    blocks: fc.array(block, { maxLength: 31 }),
  }),
  fc.record({ type: fc.constant('rr' as const), reporterSsrc: u32, sender: fc.constant(undefined), blocks: fc.array(block, { maxLength: 31 }) }),
);

/** fast-check builds null-prototype records; compare values, not prototypes. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));

const isRtcpError = (e: unknown) => isTollgateError(e, AnalyzerErrors.rtcpInvalid);

describe('RTCP parser', () => {
  it('reads an SR with one report block (RFC 3550 layout)', () => {
    const buf = Buffer.from(
      '81c8000c' + '11223344' + 'e8a1b2c3d4e5f607' + '00001000' + '00000064' + '00003e80' +
      '55667788' + '20' + 'fffffe' + '0001000a' + '00000050' + '12345678' + '00010000', 'hex');
    const [sr] = parseRtcp(buf);
    assert.equal(sr!.type, 'sr');
    assert.equal(sr!.reporterSsrc, 0x11223344);
    assert.equal(sr!.sender!.packets, 100);
    assert.deepEqual(sr!.blocks[0], {
      sourceSsrc: 0x55667788, fractionLost: 32, cumulativeLost: -2, highestSeq: 0x1000a, jitter: 80, lsr: 0x12345678, dlsr: 0x10000,
    });
  });

  it('skips SDES/BYE in a compound packet and keeps SR + RR', () => {
    const sdes = Buffer.from('81ca0003' + '11223344' + '0105414c494345' + '00', 'hex');
    const bye = Buffer.from('81cb0001' + '11223344', 'hex');
    const sr: RtcpReport = { type: 'sr', reporterSsrc: 7, sender: { ntpTs: 1n, rtpTs: 2, packets: 3, octets: 4 }, blocks: [] };
    const rr: RtcpReport = { type: 'rr', reporterSsrc: 7, sender: undefined, blocks: [] };
    const parsed = parseRtcp(Buffer.concat([encodeRtcp([sr]), sdes, encodeRtcp([rr]), bye]));
    assert.deepEqual(parsed.map((r) => r.type), ['sr', 'rr']);
  });

  it('property: encode → parse is the identity for SR/RR compounds', () => {
    fc.assert(fc.property(fc.array(report, { minLength: 1, maxLength: 4 }), (reports) => {
      assert.deepEqual(plain(parseRtcp(encodeRtcp(reports))), plain(reports));
    }));
  });

  it('property: every truncation of a valid compound is an error, never a crash or a wrong read', () => {
    fc.assert(fc.property(fc.array(report, { minLength: 1, maxLength: 3 }), fc.nat(), (reports, cut) => {
      const buf = encodeRtcp(reports);
      const at = cut % buf.length;
      try {
        const got = parseRtcp(buf.subarray(0, at));
        // A cut exactly between two packets is a valid shorter compound: its reports are a prefix.
        assert.deepEqual(plain(got), plain(reports.slice(0, got.length)));
      } catch (e) {
        assert.ok(isRtcpError(e), String(e));
      }
    }));
  });

  it('property: a split at any offset yields either both halves as valid compounds (a packet boundary) or a typed error', () => {
    fc.assert(fc.property(fc.array(report, { minLength: 2, maxLength: 3 }), (reports) => {
      const buf = encodeRtcp(reports);
      const boundaries = new Set<number>();
      let at = 0;
      for (const r of reports) boundaries.add((at += encodeRtcp([r]).length));
      for (let i = 1; i < buf.length; i++) {
        const halves = [buf.subarray(0, i), buf.subarray(i)];
        if (boundaries.has(i)) {
          assert.deepEqual(plain(halves.flatMap((h) => parseRtcp(h))), plain(reports));
        } else {
          assert.throws(() => halves.forEach((h) => parseRtcp(h)), isRtcpError);
        }
      }
    }), { numRuns: 30 });
  });

  it('property: random bytes either parse or fail with TG_ANALYZER_RTCP_INVALID', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        parseRtcp(Buffer.from(bytes));
      } catch (e) {
        assert.ok(isRtcpError(e), String(e));
      }
    }), { numRuns: 2000 });
  });

  it('rejects RTP, short and lying lengths', () => {
    for (const hex of ['', '80', '8000', '80c9ffff00000001', '00c8000100000000', '80600001aaaaaaaa']) {
      assert.throws(() => parseRtcp(Buffer.from(hex, 'hex')), isRtcpError, hex);
    }
  });
});

describe('QoS JSON mapping', () => {
  it('maps rtpagent (type 34) upper-case names', () => {
    const r = parseQosJson(Buffer.from(JSON.stringify({ CORRELATION_ID: 'c1', MOS: 4.1, JITTER: 3.5, PACKET_LOSS: 12, TOTAL_PK: 1500, DELAY: 20 })));
    assert.deepEqual(r.fields, { mos: 4.1, r_factor: null, jitter_ms: 3.5, packets_lost: 12, packets_sent: 1500, packets_received: null, delay_ms: 20 });
  });

  it('maps nested lower-case reports (FreeSWITCH/heplify style) and numeric strings', () => {
    const r = parseQosJson(Buffer.from(JSON.stringify({ type: 'qos', inbound: { mos: '3.9', r_factor: 81.2, jitter: 1.25, packets_lost: 3, packets_received: 998 } })));
    assert.equal(r.fields.mos, 3.9);
    assert.equal(r.fields.r_factor, 81.2);
    assert.equal(r.fields.packets_received, 998);
    assert.equal(r.raw.includes('inbound'), true);
  });

  it('rejects non-JSON and non-objects with TG_ANALYZER_QOS_JSON_INVALID', () => {
    for (const s of ['not json', '[1,2]', 'null', '42']) {
      assert.throws(() => parseQosJson(Buffer.from(s)), (e: unknown) => isTollgateError(e, AnalyzerErrors.qosJsonInvalid), s);
    }
  });
});
