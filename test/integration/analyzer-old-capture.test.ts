/**
 * A capture replayed years later (timestamps from 2005, as a pcap import or an agent without NTP sends them): every
 * message, call and registration must be stored and stay stored — retention counts from arrival — and the policy
 * must show in the metrics. TTL merges are forced with OPTIMIZE ... FINAL, so a row the TTL would drop is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { byTime, callScenario, envelopeOf, hepBytes, registerScenario, type Scenario } from '../support/sip-scenarios.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'a.example' };
const T2005 = Date.UTC(2005, 5, 1, 12, 0, 0) * 1000;

describe('analyzer: a capture from 2005 replayed now', { timeout: 180_000 }, () => {
  const env = new AnalyzerEnv();
  const registry = new Registry();
  let analyzer: AnalyzerConsumer | undefined;

  before(async () => {
    await env.setup();
    analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '200ms' }, env.store, registry);
  });

  after(async () => {
    await analyzer?.close();
    await env.cleanup();
  });

  it('keeps every message, call and registration, and counts what is older than the retention', async () => {
    const sc: Scenario[] = [];
    for (let i = 0; i < 10; i++) {
      sc.push(callScenario('answered', `old-a${i}-${env.prefix}`, T2005 + i * 1_000_000, A, B),
        callScenario('busy', `old-b${i}-${env.prefix}`, T2005 + i * 1_000_000 + 10, A, B),
        registerScenario(`old-r${i}-${env.prefix}`, T2005 + i * 1_000_000 + 20, A));
    }
    const packets = byTime(sc);
    // Received now (the envelope's receive time and the Kafka timestamp), captured in 2005.
    await env.produce('hepSip', packets.map((p) => ({ key: p.callId, value: envelopeOf(hepBytes(Buffer.from(p.text), p.tsUs, p.fromUa), Date.now() * 1000) })));
    await env.waitCaughtUp(120_000);
    await env.waitForRows({ calls: 20, registrations: 20 });
    for (const t of ['sip_messages', 'calls', 'registrations']) await env.store.command('OPTIMIZE TABLE {t:Identifier} FINAL', { t });

    assert.equal(await env.count('sip_messages'), packets.length);
    assert.equal(await env.count('sip_messages', 'toYear(ts) = 2005'), packets.length, 'capture times stay as captured');
    assert.equal(await env.count('calls'), 20);
    assert.equal(await env.count('calls', "state = 'answered' AND duration_ms = 60000.75"), 10);
    assert.equal(await env.count('registrations'), 20);
    const metrics = await registry.metrics();
    const value = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? NaN);
    assert.equal(value(/tollgate_analyzer_old_capture_rows_total\{table="sip_messages"\} (\d+)/), packets.length);
    assert.equal(value(/tollgate_analyzer_old_capture_rows_total\{table="calls"\} (\d+)/), 20);
    assert.equal(value(/tollgate_analyzer_rows_not_kept_total\{table="sip_messages_minute",reason="capture_older_than_rollup_retention"\} (\d+)/), packets.length);
    assert.doesNotMatch(metrics, /reason="expired_on_arrival"/);
    process.stderr.write(`[analyzer-old-capture] ${packets.length} messages from 2005 stored and kept after OPTIMIZE FINAL; 20 calls, 20 registrations\n`);
  });
});
