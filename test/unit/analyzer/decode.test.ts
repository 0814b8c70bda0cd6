import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRecord, type RecordContext } from '../../../services/analyzer/consumer/decode.ts';
import { sipEventKind } from '../../../services/analyzer/events.ts';
import { encodeRtcp } from '../../../services/analyzer/qos/rtcp.ts';
import { formatUs } from '../../../services/analyzer/store/rows.ts';
import { TenantMap } from '../../../services/analyzer/tenants.ts';
import { callScenario, envelopeOf, hepBytes, registerScenario, sipEnvelope } from '../../support/sip-scenarios.ts';

const tenants = TenantMap.parse('a.example=acme', 'default');
const ctx = (topicKind: RecordContext['topicKind'] = 'sip'): RecordContext => ({ topic: 't.hep.sip', topicKind, partition: 2, offset: 41, kafkaTimestampMs: 1_795_000_000_000 });
const T = Date.UTC(2026, 10, 20, 10, 0, 0) * 1000 + 123_456;
const A = { user: 'alice', domain: 'a.example' };

describe('formatUs', () => {
  it('keeps microseconds exactly', () => {
    assert.equal(formatUs(T), '2026-11-20 10:00:00.123456');
    assert.equal(formatUs(0), '1970-01-01 00:00:00.000000');
    assert.equal(formatUs(1_999_999), '1970-01-01 00:00:01.999999');
    assert.equal(formatUs(-1), '1969-12-31 23:59:59.999999');
  });

  it('matches Date for any µs, however the seconds of successive calls interleave (the per-second cache)', () => {
    // A few seconds that share cache slots (256 apart) come back often, so hits and evictions are both exercised.
    const seconds = fc.oneof(fc.integer({ min: -2_208_988_800, max: 9_007_199_254 }), fc.constantFrom(-257, -1, 0, 1, 256, 512, 1_795_000_000, 1_795_000_256));
    fc.assert(fc.property(fc.array(fc.tuple(seconds, fc.integer({ min: 0, max: 999_999 })), { minLength: 1, maxLength: 300 }), (xs) => {
      for (const [sec, frac] of xs) {
        const us = sec * 1_000_000 + frac;
        if (!Number.isSafeInteger(us)) continue;
        const iso = new Date(sec * 1000).toISOString();
        assert.equal(formatUs(us), `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(frac).padStart(6, '0')}`);
      }
    }), { numRuns: 300 });
  });
});

describe('decodeRecord', () => {
  it('maps a SIP request to a message row, tracker input and a versioned event', () => {
    const p = callScenario('answered', 'call-0001-xyz', T, A, { user: 'bob', domain: 'a.example' }).packets[0]!;
    const d = decodeRecord(sipEnvelope(p, { correlationId: 'aleg-1' }), ctx(), tenants);
    assert.equal(d.kind, 'sip');
    if (d.kind !== 'sip') return;
    const r = d.row;
    assert.equal(formatUs(r.ts), '2026-11-20 10:00:00.123456');
    assert.equal(formatUs(r.received_at), '2026-11-20 10:00:00.124456');
    assert.equal(d.event.ts, '2026-11-20 10:00:00.123456');
    assert.deepEqual([r.method, r.status, r.call_id, r.cseq_num, r.cseq_method], ['INVITE', 0, 'call-0001-xyz', 1, 'INVITE']);
    assert.deepEqual([r.from_user, r.from_domain, r.to_user, r.ruri_user, r.ruri_domain], ['alice', 'a.example', 'bob', 'bob', 'a.example']);
    assert.deepEqual([r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.transport], ['192.0.2.10', 5060, '192.0.2.1', 5060, 'UDP']);
    assert.deepEqual([r.tenant, r.domain, r.correlation_id, r.capture_id, r.node], ['acme', 'a.example', 'aleg-1', 2001, 'scenario-node']);
    assert.equal(r.user_agent, 'scenario-ua/1.0');
    assert.ok(String(r.raw).startsWith('INVITE sip:bob@a.example SIP/2.0\r\n'));
    assert.deepEqual([r.kafka_partition, r.kafka_offset], [2, 41]);
    assert.equal(d.event.id, 't.hep.sip/2/41');
    assert.equal(d.event.kind, 'invite');
    assert.equal(d.event.v, 1);
    assert.equal(d.observed.tsUs, T);
  });

  it('takes the auth username and the To domain for REGISTER', () => {
    const p = registerScenario('reg-0001-xyz', T, A).packets[2]!;
    const d = decodeRecord(sipEnvelope(p), ctx(), tenants);
    assert.equal(d.kind, 'sip');
    if (d.kind !== 'sip') return;
    assert.equal(d.row.auth_user, 'alice');
    assert.equal(d.event.kind, 'register');
    assert.equal(sipEventKind({ kind: 'response', method: 'REGISTER', status: 401, to_tag: 'x' }), 'register_challenge');
  });

  const corpus: Array<[string, Buffer | null, RecordContext['topicKind'], string]> = [
    ['null value', null, 'sip', 'envelope_invalid'],
    ['not an envelope', Buffer.from('hello'), 'sip', 'envelope_invalid'],
    ['envelope around junk', envelopeOf(Buffer.from('junk junk junk'), T), 'sip', 'hep_bad_magic'],
    ['truncated HEP', envelopeOf(hepBytes(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), T, true).subarray(0, 30), T), 'sip', 'hep_bad_length'],
    ['RTCP on the SIP topic', envelopeOf(hepBytes(encodeRtcp([{ type: 'rr', reporterSsrc: 1, sender: undefined, blocks: [] }]), T, true, { payloadType: 5 }), T), 'sip', 'not_sip'],
    ['binary junk as SIP', envelopeOf(hepBytes(Buffer.from([0, 1, 2, 3, 255, 254, 0, 0]), T, true), T), 'sip', 'sip_binary_junk'],
    ['SIP without Call-ID', envelopeOf(hepBytes(Buffer.from('OPTIONS sip:a.example SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@a.example>;tag=1\r\nTo: <sip:a@a.example>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'), T, true), T), 'sip', 'sip_missing_call_id'],
    ['broken RTCP', envelopeOf(hepBytes(Buffer.from('80c9ffff', 'hex'), T, true, { payloadType: 5, correlationId: 'c9' }), T), 'rtcp', 'rtcp_invalid'],
    ['QoS report that is not JSON', envelopeOf(hepBytes(Buffer.from('MOS=4'), T, true, { payloadType: 34 }), T), 'qos', 'qos_json_invalid'],
    ['SIP on the QoS topic', envelopeOf(hepBytes(Buffer.from('x'), T, true, { payloadType: 1 }), T), 'qos', 'unexpected_payload_type'],
  ];
  for (const [name, value, kind, reason] of corpus) {
    it(`quarantines ${name} as ${reason}`, () => {
      const d = decodeRecord(value, ctx(kind), tenants);
      assert.equal(d.kind, 'quarantine');
      if (d.kind !== 'quarantine') return;
      assert.equal(d.row.reason, reason);
      assert.equal(d.row.tenant, 'default');
      assert.equal(d.event.kind, 'quarantine');
      assert.ok(d.row.detail.length > 0);
      assert.equal(d.row.kafka_offset, 41);
      if (reason === 'envelope_invalid') assert.equal(d.row.ts, 1_795_000_000_000_000);
    });
  }

  it('maps RTCP report blocks to one QoS row each, with the direction and correlation id', () => {
    const rtcp = encodeRtcp([
      { type: 'sr', reporterSsrc: 10, sender: { ntpTs: 5n, rtpTs: 1, packets: 500, octets: 80_000 }, blocks: [
        { sourceSsrc: 20, fractionLost: 64, cumulativeLost: 7, highestSeq: 1000, jitter: 33, lsr: 0, dlsr: 0 }] },
      { type: 'rr', reporterSsrc: 10, sender: undefined, blocks: [
        { sourceSsrc: 30, fractionLost: 0, cumulativeLost: 0, highestSeq: 5, jitter: 1, lsr: 0, dlsr: 0 }] },
    ]);
    const d = decodeRecord(envelopeOf(hepBytes(rtcp, T, true, { payloadType: 5, correlationId: 'call-9' }), T), ctx('rtcp'), tenants);
    assert.equal(d.kind, 'qos');
    if (d.kind !== 'qos') return;
    assert.equal(d.rows.length, 2);
    assert.deepEqual(d.rows.map((r) => [r.report, r.reporter_ssrc, r.source_ssrc, r.fraction_lost, r.cumulative_lost, r.jitter_ts_units, r.call_id]),
      [['rtcp_sr', 10, 20, 0.25, 7, 33, 'call-9'], ['rtcp_rr', 10, 30, 0, 0, 1, 'call-9']]);
    assert.equal(d.rows[0]!.sr_packets, 500);
    assert.equal(d.rows[0]!.direction, '192.0.2.10:5060>192.0.2.1:5060');
  });

  it('maps a HEP QoS JSON report and keeps the raw JSON', () => {
    const json = JSON.stringify({ MOS: 4.2, JITTER: 2, PACKET_LOSS: 1 });
    const d = decodeRecord(envelopeOf(hepBytes(Buffer.from(json), T, true, { payloadType: 34, correlationId: 'call-9' }), T), ctx('qos'), tenants);
    assert.equal(d.kind, 'qos');
    if (d.kind !== 'qos') return;
    assert.deepEqual([d.rows[0]!.report, d.rows[0]!.mos, d.rows[0]!.jitter_ms, d.rows[0]!.packets_lost, d.rows[0]!.raw_json], ['hep_34', 4.2, 2, 1, json]);
  });
});
