/**
 * A poison record: a real record whose row the real table refuses for good. Today's row builders produce nothing a
 * table refuses (the parser bounds every number, strings are well-formed), so the table is made to refuse one the
 * way a schema drift or a row-builder bug would: a CHECK constraint on `sip_messages`. The partition must not stop:
 * the refused rows land in `sip_quarantine` (reason `store_refused`), everything before and after is written once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { byTime, callScenario, optionsScenario, registerScenario, sipEnvelope } from '../support/sip-scenarios.ts';
import { AnalyzerEnv, baseTimeUs, type Outgoing } from './analyzer-harness.ts';

const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'a.example' };

describe('analyzer: a poison record does not stop its partition', { timeout: 180_000 }, () => {
  const env = new AnalyzerEnv();
  const registry = new Registry();
  let analyzer: AnalyzerConsumer | undefined;

  before(async () => {
    await env.setup();
    await env.store.command(`ALTER TABLE sip_messages ADD CONSTRAINT no_poison CHECK call_id NOT LIKE 'poison-%'`);
    analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '200ms' }, env.store, registry);
  });

  after(async () => {
    await analyzer?.close();
    await env.cleanup();
  });

  it('quarantines the refused rows as store_refused, counts them, and ingests what follows on the same partition', async () => {
    const t0 = baseTimeUs();
    const part = 1;
    const onPartition = (sc: ReturnType<typeof callScenario>[]): Outgoing[] =>
      byTime(sc).map((p) => ({ key: p.callId, value: sipEnvelope(p), partition: part }));
    const first = onPartition([
      callScenario('answered', `c1-${env.prefix}`, t0, A, B),
      registerScenario(`r1-${env.prefix}`, t0 + 10, A),
    ]);
    const poison = onPartition([optionsScenario(`poison-${env.prefix}`, t0 + 70_000_000, A)]);
    const later = onPartition([
      callScenario('busy', `c2-${env.prefix}`, t0 + 80_000_000, A, B),
      callScenario('cancelled', `c3-${env.prefix}`, t0 + 80_000_100, A, B),
    ]);
    await env.produce('hepSip', first);
    await env.produce('hepSip', poison);
    await env.produce('hepSip', later);
    const total = first.length + poison.length + later.length;
    await env.waitCaughtUp(120_000);
    await env.waitForRows({ calls: 3, registrations: 2 });

    assert.equal(await env.count('sip_messages'), total - poison.length);
    assert.equal(await env.count('sip_messages', "call_id LIKE 'poison-%'"), 0);
    const q = await env.store.query<{ reason: string; call_id: string; kafka_offset: string; detail: string }>(
      'SELECT reason, call_id, toString(kafka_offset) AS kafka_offset, detail FROM sip_quarantine ORDER BY kafka_offset');
    assert.deepEqual(q.map((r) => [r.reason, r.call_id, Number(r.kafka_offset)]),
      poison.map((_, i) => ['store_refused', `poison-${env.prefix}`, first.length + i]));
    assert.match(q[0]!.detail, /^sip_messages: TG_CLICKHOUSE_REJECTED \d+: /);
    assert.equal(await env.count('calls'), 3);
    assert.equal(await env.count('registrations'), 2);
    const metrics = await registry.metrics();
    assert.match(metrics, new RegExp(`tollgate_analyzer_store_refused_rows_total\\{table="sip_messages"\\} ${poison.length}`));
    process.stderr.write(`[analyzer-poison] ${total} records, ${poison.length} refused → sip_quarantine; `
      + `${total - poison.length} sip_messages, 3 calls, 2 registrations\n`);
  });
});
