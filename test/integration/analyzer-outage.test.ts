/**
 * ClickHouse refusing inserts: the analyzer reports itself degraded, keeps retrying the same batch, commits
 * nothing meanwhile, and once inserts work again ends with exact rows — no batch skipped, none doubled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { classifyClickhouseError } from '../../services/shared/clickhouse/errors.ts';
import type { SqlStore } from '../../services/shared/clickhouse/client.ts';
import { byTime, callScenario, optionsScenario, sipEnvelope } from '../support/sip-scenarios.ts';
import { AnalyzerEnv, baseTimeUs, PARTITIONS } from './analyzer-harness.ts';

describe('analyzer under a ClickHouse insert outage', { timeout: 120_000 }, () => {
  const env = new AnalyzerEnv();
  let analyzer: AnalyzerConsumer | undefined;

  before(() => env.setup());
  after(async () => {
    await analyzer?.close();
    await env.cleanup();
  });

  it('degrades, commits nothing past the failing batch, and recovers to exact counts', async () => {
    const t0 = baseTimeUs();
    const sc = Array.from({ length: 20 }, (_, i) =>
      callScenario('answered', `out-${i}-${env.prefix}`, t0 + i * 1000, { user: 'a', domain: 'a.example' }, { user: 'b', domain: 'a.example' }));
    for (let p = 0; p < PARTITIONS; p++) sc.push(optionsScenario(`clock-${p}-${env.prefix}`, t0 + 3 * 3_600_000_000, { user: 'c', domain: 'c.example' }));
    const packets = byTime(sc);
    await env.produce('hepSip', packets.map((pk) => ({
      key: pk.callId, value: sipEnvelope(pk), ...(pk.callId.startsWith('clock-') ? { partition: Number(pk.callId.split('-')[1]) } : {}),
    })));

    let down = true;
    let refused = 0;
    const flaky: SqlStore = {
      ...env.store,
      command: (sql, params) => env.store.command(sql, params),
      query: (sql, params) => env.store.query(sql, params),
      insert: async (table, rows, opts) => {
        if (down && table === 'sip_messages') {
          refused++;
          throw classifyClickhouseError(new Error('connect ECONNREFUSED (simulated outage)'), { table });
        }
        return env.store.insert(table, rows, opts);
      },
      // The analyzer's own path (RowBinary or JSON bodies laid out from the column spec).
      insertBody: async (table, columns, body, opts) => {
        if (down && table === 'sip_messages') {
          refused++;
          throw classifyClickhouseError(new Error('connect ECONNREFUSED (simulated outage)'), { table });
        }
        return env.store.insertBody!(table, columns, body, opts);
      },
      close: async () => {},
    };
    const registry = new Registry();
    analyzer = await env.startInProcess({}, flaky, registry);
    const deadline = Date.now() + 30_000;
    while (analyzer.health().state !== 'degraded') {
      assert.ok(Date.now() < deadline, 'analyzer never reported the outage');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1_500));
    assert.match(analyzer.health().detail ?? '', /ECONNREFUSED/);
    const stuck = await env.lag();
    assert.equal(await env.count('sip_messages'), 0);
    assert.ok(stuck > 0, 'nothing may be committed while the first batch is not written');
    const failures = (await registry.getSingleMetricAsString('tollgate_analyzer_insert_failures_total'));
    assert.match(failures, /table="sip_messages"[^\n]* [1-9]/);

    down = false;
    await env.waitCaughtUp();
    assert.equal(analyzer.health().state, 'ok');
    assert.ok(refused >= 2);
    assert.equal(await env.count('sip_messages'), packets.length);
    assert.equal(await env.count('calls'), 20);
    const [m] = await env.store.query<{ n: string }>('SELECT sum(messages) AS n FROM sip_messages_minute');
    assert.equal(Number(m!.n), packets.length);
  });
});
