/**
 * Calls written when traffic stops (the idle watermark): 200 complete calls whose capture times lie two minutes in
 * the past arrive in one burst, then nothing. Every call must reach `calls` without a further record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { byTime, callScenario, sipEnvelope } from '../support/sip-scenarios.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

const CALLS = 200;
const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'a.example' };

describe('analyzer idle watermark: a burst of calls, then silence', { timeout: 180_000 }, () => {
  const env = new AnalyzerEnv();
  let analyzer: AnalyzerConsumer | undefined;

  before(async () => {
    await env.setup();
    analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '500ms', ANALYZER_IDLE_ADVANCE: '500ms' });
  });

  after(async () => {
    await analyzer?.close();
    await env.cleanup();
  });

  it(`writes all ${CALLS} calls (INVITE … BYE, 30 s each, captured 2 minutes ago) with no further traffic`, async () => {
    const t0 = (Date.now() - 120_000) * 1000;
    const sc = Array.from({ length: CALLS }, (_, i) => callScenario('answered', `idle-${i}-${env.prefix}`, t0 + i * 1000, A, B, 30_000_000));
    const packets = byTime(sc);
    await env.produce('hepSip', packets.map((p) => ({ key: p.callId, value: sipEnvelope(p) })));
    const lastSent = Date.now();
    let n = 0;
    while (Date.now() - lastSent < 60_000) {
      n = await env.count('calls');
      if (n >= CALLS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const latencyMs = Date.now() - lastSent;
    process.stderr.write(`[analyzer-idle] ${n} of ${CALLS} calls in ClickHouse ${latencyMs} ms after the last message was produced\n`);
    assert.equal(n, CALLS);
    assert.equal(await env.count('calls', "state = 'answered' AND duration_ms = 30000000 / 1000"), CALLS);
    assert.equal(await env.count('sip_messages'), packets.length);
    const [adv] = await env.store.query<{ n: string; rows: string }>('SELECT count() AS n, sum(rows) AS rows FROM ingest_advances');
    assert.ok(Number(adv!.n) >= 1, 'no idle advance recorded');
    assert.equal(Number(adv!.rows), CALLS);
  });
});
