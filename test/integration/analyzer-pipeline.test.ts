import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { encodeRtcp } from '../../services/analyzer/qos/rtcp.ts';
import { partitionFor } from '../../services/shared/kafka/partition.ts';
import {
  byTime, callScenario, envelopeOf, hepBytes, optionsScenario, registerScenario, sipEnvelope, type Scenario,
} from '../support/sip-scenarios.ts';
import { AnalyzerEnv, baseTimeUs, PARTITIONS, type Outgoing } from './analyzer-harness.ts';

const SETS = 5;
const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'a.example' };
const C = { user: 'carol', domain: 'pbx.b.example' };

describe('analyzer end to end: HEP envelopes in Kafka → exact ClickHouse rows', { timeout: 240_000 }, () => {
  const env = new AnalyzerEnv();
  let analyzer: AnalyzerConsumer | undefined;
  const t0 = baseTimeUs();
  const scenarios: Scenario[] = [];
  let sipPackets = 0;
  let malformed = 0;
  let qosRows = 0;

  before(async () => {
    await env.setup();
    for (let i = 0; i < SETS; i++) {
      const t = t0 + i * 1_000_000;
      scenarios.push(
        callScenario('answered', `ans-${i}-${env.prefix}`, t, A, B),
        callScenario('busy', `bsy-${i}-${env.prefix}`, t + 100, A, C),
        callScenario('cancelled', `can-${i}-${env.prefix}`, t + 200, C, B),
        callScenario('no_answer', `noa-${i}-${env.prefix}`, t + 300, A, B),
        registerScenario(`reg-${i}-${env.prefix}`, t + 400, A),
        registerScenario(`rgf-${i}-${env.prefix}`, t + 500, C, true),
        optionsScenario(`opt-${i}-${env.prefix}`, t + 600, { user: 'ping', domain: 'other.example' }),
      );
    }
    const sip: Outgoing[] = byTime(scenarios).map((p) => ({ key: p.callId, value: sipEnvelope(p) }));
    // The trackers' clock is capture time: one late message per partition closes every call and REGISTER.
    for (let p = 0; p < PARTITIONS; p++) {
      const clock = optionsScenario(`clock-${p}-${env.prefix}`, t0 + 3 * 3_600_000_000, { user: 'ping', domain: 'other.example' });
      for (const pk of clock.packets) sip.push({ key: pk.callId, value: sipEnvelope(pk), partition: p });
    }
    sipPackets = sip.length;
    const junk: Outgoing[] = [
      { key: 'x1', value: null },
      { key: 'x2', value: Buffer.from('not an envelope') },
      { key: 'x3', value: envelopeOf(Buffer.from('junk junk junk'), t0) },
      { key: 'x4', value: envelopeOf(hepBytes(Buffer.from([0, 1, 2, 3, 255]), t0, true), t0) },
      { key: 'x5', value: envelopeOf(hepBytes(Buffer.from('OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n'), t0, true), t0) },
      { key: 'x6', value: envelopeOf(hepBytes(encodeRtcp([{ type: 'rr', reporterSsrc: 1, sender: undefined, blocks: [] }]), t0, true, { payloadType: 5 }), t0) },
    ];
    malformed = junk.length;
    await env.produce('hepSip', [...sip, ...junk]);
    const rtcp = encodeRtcp([
      { type: 'sr', reporterSsrc: 11, sender: { ntpTs: 1n, rtpTs: 2, packets: 300, octets: 48_000 }, blocks: [
        { sourceSsrc: 22, fractionLost: 13, cumulativeLost: 4, highestSeq: 900, jitter: 40, lsr: 0, dlsr: 0 },
        { sourceSsrc: 33, fractionLost: 0, cumulativeLost: 0, highestSeq: 901, jitter: 8, lsr: 0, dlsr: 0 }] },
    ]);
    await env.produce('hepRtcp', [
      { key: `ans-0-${env.prefix}`, value: envelopeOf(hepBytes(rtcp, t0 + 5_000_000, true, { payloadType: 5, correlationId: `ans-0-${env.prefix}` }), t0) },
      { key: 'bad', value: envelopeOf(hepBytes(Buffer.from('80c9ffff', 'hex'), t0, true, { payloadType: 5 }), t0) },
    ]);
    await env.produce('hepQos', [{
      key: `ans-0-${env.prefix}`,
      value: envelopeOf(hepBytes(Buffer.from(JSON.stringify({ MOS: 4.3, JITTER: 1.5, PACKET_LOSS: 2 })), t0 + 6_000_000, true,
        { payloadType: 34, correlationId: `ans-0-${env.prefix}` }), t0),
    }]);
    qosRows = 3;
    malformed += 1;
    analyzer = await env.startInProcess({
      TENANT_DOMAINS: 'a.example=acme,*.b.example=beta', ANALYZER_BATCH_MAX_ROWS: '20', RETENTION_CALLS: '200',
    });
    await env.waitCaughtUp();
  });

  after(async () => {
    await analyzer?.close();
    await env.cleanup();
  });

  it('stores every SIP message once, with tenant and domain', async () => {
    assert.equal(await env.count('sip_messages'), sipPackets);
    assert.equal(await env.count('sip_messages', "tenant = 'acme'"), await env.count('sip_messages', "domain = 'a.example'"));
    assert.equal(await env.count('sip_messages', "tenant = ''"), 0);
    const [m] = await env.store.query<{ ts: string; method: string; raw: string }>(
      "SELECT toString(ts) AS ts, method, raw FROM sip_messages WHERE call_id = {c:String} AND method = 'INVITE' AND status = 0 ORDER BY ts LIMIT 1",
      { c: `ans-0-${env.prefix}` });
    assert.equal(m!.ts, new Date(t0 / 1000).toISOString().replace('T', ' ').replace('Z', '000'));
    assert.ok(m!.raw.startsWith('INVITE sip:bob@a.example SIP/2.0'));
  });

  it('writes one call per dialog with exact states, PDD and duration', async () => {
    assert.equal(await env.count('calls'), SETS * 4);
    const rows = await env.store.query<{ state: string; n: string; pdd: number | null; dur: number | null }>(
      'SELECT state, count() AS n, any(pdd_ms) AS pdd, any(duration_ms) AS dur FROM calls GROUP BY state ORDER BY state');
    assert.deepEqual(rows.map((r) => [r.state, Number(r.n), r.pdd, r.dur]), [
      ['answered', SETS, 250.5, 60_000.75],
      ['busy', SETS, 400.25, null],
      ['cancelled', SETS, 250.5, null],
      ['no_answer', SETS, 250.5, null],
    ]);
    assert.equal(await env.count('calls', "tenant = 'beta'"), SETS);
  });

  it('writes one registration per REGISTER transaction', async () => {
    const rows = await env.store.query<{ outcome: string; n: string }>('SELECT outcome, count() AS n FROM registrations GROUP BY outcome ORDER BY outcome');
    assert.deepEqual(rows.map((r) => [r.outcome, Number(r.n)]), [['auth_failed', SETS], ['challenge', SETS], ['registered', SETS]]);
  });

  it('quarantines every malformed record with its reason', async () => {
    const rows = await env.store.query<{ reason: string; n: string }>('SELECT reason, count() AS n FROM sip_quarantine GROUP BY reason ORDER BY reason');
    assert.deepEqual(rows.map((r) => [r.reason, Number(r.n)]), [
      ['envelope_invalid', 2], ['hep_bad_magic', 1], ['not_sip', 1], ['rtcp_invalid', 1], ['sip_binary_junk', 1], ['sip_missing_call_id', 1],
    ]);
    assert.equal(await env.count('sip_quarantine'), malformed);
  });

  it('stores RTCP report blocks and QoS JSON reports', async () => {
    assert.equal(await env.count('qos'), qosRows);
    const rows = await env.store.query<{ report: string; source_ssrc: number; fraction_lost: number | null; mos: number | null }>(
      'SELECT report, source_ssrc, fraction_lost, mos FROM qos ORDER BY report, source_ssrc');
    assert.deepEqual(rows.map((r) => [r.report, r.source_ssrc]), [['hep_34', 0], ['rtcp_sr', 22], ['rtcp_sr', 33]]);
    assert.ok(Math.abs(rows[1]!.fraction_lost! - 13 / 256) < 1e-6);
    assert.ok(Math.abs(rows[0]!.mos! - 4.3) < 1e-6);
  });

  it('keeps the per-minute rollups equal to the detail tables', async () => {
    const [msg] = await env.store.query<{ n: string }>('SELECT sum(messages) AS n FROM sip_messages_minute');
    assert.equal(Number(msg!.n), sipPackets);
    const kpi = await env.store.query<{ tenant: string; attempts: string; answered: string; asr: number; acd: number; ner: number }>(
      `SELECT tenant, sum(call_attempts) AS attempts, sum(calls_answered) AS answered,
              sum(calls_answered) / sum(call_attempts) AS asr, max(acd_ms) AS acd, sum(ner * call_attempts) / sum(call_attempts) AS ner
       FROM calls_minute_kpi GROUP BY tenant ORDER BY tenant`);
    assert.deepEqual(kpi.map((k) => [k.tenant, Number(k.attempts), Number(k.answered)]), [['acme', SETS * 3, SETS], ['beta', SETS, 0]]);
    assert.equal(kpi[0]!.acd, 60_000.75);
    // busy, no answer and cancelled are user-determined outcomes: every attempt here is effective.
    assert.equal(kpi[0]!.ner, 1);
    const [pdd] = await env.store.query<{ q: number[] }>("SELECT quantilesMerge(0.5, 0.9, 0.99)(pdd_ms) AS q FROM calls_minute WHERE tenant = 'acme'");
    assert.equal(pdd!.q.length, 3);
    const [reg] = await env.store.query<{ a: string; s: string; c: string; f: string }>(
      'SELECT sum(attempts) AS a, sum(success) AS s, sum(challenges) AS c, sum(failure) AS f FROM registrations_minute');
    assert.deepEqual([reg!.a, reg!.s, reg!.c, reg!.f].map(Number), [SETS * 3, SETS, SETS, SETS]);
  });

  it('publishes one versioned SIP event per stored message and one quarantine event per quarantined record', async () => {
    for (const [key, n] of [['sipEvents', sipPackets], ['quarantine', malformed]] as const) {
      const { records, bad, events } = await env.readEvents(key);
      assert.equal(bad, 0);
      assert.equal(events.length, n, key);
      assert.equal(new Set(events.map((e) => e.event.id)).size, n, `${key}: one event per captured record`);
      // v2 containers (the default): fewer records than events, each event on its source IP's partition.
      assert.ok(records < n || n === 0, `${key}: ${records} records for ${n} events`);
      for (const { partition, event } of events) assert.equal(partition, partitionFor(Buffer.from(event.src_ip), PARTITIONS), `${key}: ${event.id} on its source's partition`);
    }
  });

  it('records every batch in the ledger and applies the retention settings', async () => {
    const [l] = await env.store.query<{ rows: string }>('SELECT sum(rows) AS rows FROM ingest_ledger FINAL');
    assert.equal(Number(l!.rows), sipPackets + malformed - 1 + 2 + 1);
    const [t] = await env.store.query<{ e: string }>("SELECT engine_full AS e FROM system.tables WHERE database = currentDatabase() AND name = 'calls'");
    assert.match(t!.e, /toIntervalDay\((_CAST\()?200/);
  });
});
