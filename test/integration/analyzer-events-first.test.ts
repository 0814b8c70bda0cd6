/**
 * The detectors do not wait for ClickHouse: a batch's `sip.events` go out as soon as it is correlated, while its
 * ledger row and inserts are still being retried. The fault is real: the test's own ClickHouse endpoint (never the
 * shared one) is stopped, records arrive, and their events must reach Kafka while nothing can be written and the
 * offset stays uncommitted. Then the endpoint comes back and every row lands exactly once, every event id was seen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logLevel, type Consumer } from 'kafkajs';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { readEventRecord } from '../../services/guard/event-records.ts';
import { startPrivateEndpoint, type PrivateEndpoint } from '../support/clickhouse.ts';
import { callScenario, byTime, optionsScenario, registerScenario, sipEnvelope } from '../support/sip-scenarios.ts';
import { uniqueName } from '../support/stack.ts';
import { AnalyzerEnv, baseTimeUs, PARTITIONS, type Outgoing } from './analyzer-harness.ts';

const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'a.example' };

const until = async <T>(what: string, ms: number, probe: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
  }
  throw new Error(`${what}: not within ${ms} ms`);
};

describe('analyzer: events reach the detectors while ClickHouse is down', { timeout: 240_000 }, () => {
  const env = new AnalyzerEnv();
  const registry = new Registry();
  let ep: PrivateEndpoint | undefined;
  let analyzer: AnalyzerConsumer | undefined;
  let events: Consumer | undefined;
  /** Event id → the times it was read (more than once would be a duplicate, which the contract allows). */
  const seen = new Map<string, number[]>();

  before(async () => {
    ep = await startPrivateEndpoint();
    await env.setup({ clickhouseUrl: ep.url });
    events = env.kafka.consumer({ groupId: uniqueName('events-reader'), maxWaitTimeInMs: 50 });
    await events.connect();
    await events.subscribe({ topic: env.topic('sipEvents'), fromBeginning: true });
    await events.run({
      eachMessage: async ({ message }) => {
        // v1 records or v2 containers, read as the guard reads them.
        for (const { id } of readEventRecord(message.value, false).events) seen.set(id, [...(seen.get(id) ?? []), Date.now()]);
      },
    });
    analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '200ms' }, env.store, registry);
  });

  after(async () => {
    await analyzer?.close();
    await events?.disconnect();
    if (ep !== undefined && !(await ep.part.status(ep.ctx)).running) await ep.part.up(ep.ctx);
    await env.cleanup();
    await ep?.stop();
  });

  it('publishes a batch\'s events before its rows can be written, commits only after both, stores each row once', async () => {
    const t0 = baseTimeUs();
    const sipTopic = env.topic('hepSip');
    const on = (part: number, sc: ReturnType<typeof callScenario>[]): Outgoing[] =>
      byTime(sc).map((p) => ({ key: p.callId, value: sipEnvelope(p), partition: part }));

    // Warm-up while ClickHouse is up: every partition restored, one batch through the whole protocol.
    const warm = on(0, [optionsScenario(`warm-${env.prefix}`, t0, A)]);
    await env.produce('hepSip', warm);
    await until('warm-up stored and committed', 60_000, async () => (await env.count('sip_messages')) === warm.length && (await env.lag(['hepSip'])) === 0);
    const restores = registry.getSingleMetric('tollgate_analyzer_partition_restores_total')!;
    // Every hep.sip partition is restored on the group join (reading ClickHouse), before the fault.
    await until('every SIP partition restored', 30_000, async () => (await restores.get()).values.reduce((n, v) => n + v.value, 0) >= PARTITIONS);
    await until('warm-up events read', 30_000, () => seen.size === warm.length);

    // With ClickHouse up: how long records take to come out on sip.events (each probe a batch of its own).
    const upMs: number[] = [];
    let probeOffset = warm.length;
    for (let i = 0; i < 5; i++) {
      const probe = on(0, [optionsScenario(`probe${i}-${env.prefix}`, t0 + 100 + i, A)]);
      const ids = probe.map((_, j) => `${sipTopic}/0/${probeOffset + j}`);
      probeOffset += probe.length;
      const sentAt = Date.now();
      await env.produce('hepSip', probe);
      await until(`probe ${i} events read`, 30_000, () => ids.every((id) => seen.has(id)));
      upMs.push(Math.max(...ids.map((id) => seen.get(id)![0]!)) - sentAt);
      await until(`probe ${i} committed`, 30_000, async () => (await env.lag(['hepSip'])) === 0);
    }
    process.stderr.write(`[analyzer-events-first] ClickHouse up: sent → events read ${upMs.join(', ')} ms\n`);
    const stored = probeOffset;

    // The fault: the ClickHouse endpoint process is stopped.
    await ep!.part.down(ep!.ctx);
    assert.equal((await ep!.part.status(ep!.ctx)).running, false);

    const part = 2;
    const burst = on(part, [callScenario('answered', `c1-${env.prefix}`, t0 + 1_000_000, A, B), registerScenario(`r1-${env.prefix}`, t0 + 1_000_010, A)]);
    const base = (await env.kadmin.fetchTopicOffsets(sipTopic)).find((o) => o.partition === part)!;
    const first = Number(base.high);
    const expected = burst.map((_, i) => `${sipTopic}/${part}/${first + i}`);
    const sent = Date.now();
    await env.produce('hepSip', burst);
    await until('the burst\'s events on sip.events with ClickHouse down', 30_000, () => expected.every((id) => seen.has(id)));
    const lastEventMs = Math.max(...expected.map((id) => seen.get(id)![0]!)) - sent;

    // Nothing could be written, so nothing may be committed: the whole burst is still behind the group's offset,
    // now and a few retries later.
    assert.equal(await env.lag(['hepSip']), burst.length);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await env.lag(['hepSip']), burst.length);
    assert.equal((await ep!.part.status(ep!.ctx)).running, false);

    // ClickHouse back: the held batch is written and committed; every row once (no FINAL), calls and REGISTERs too.
    const down = Date.now();
    await ep!.part.up(ep!.ctx);
    await env.waitCaughtUp(120_000);
    const caughtUpMs = Date.now() - down;
    assert.equal(await env.count('sip_messages'), stored + burst.length);
    assert.equal(await env.count('sip_messages', 'kafka_partition = {p:UInt32}', { p: part }), burst.length);
    assert.equal(await env.count('ingest_ledger', 'topic = {topic:String} AND partition = {p:UInt32}', { topic: sipTopic, p: part }), 1);
    await until('the call and the registrations written', 60_000, async () => (await env.count('calls')) === 1 && (await env.count('registrations')) === 2);
    assert.equal(await env.count('calls'), 1);
    assert.equal(await env.count('registrations'), 2);

    // No event lost; duplicates (same id) are allowed by the contract and counted here.
    const ids = [...seen.keys()].sort();
    assert.deepEqual(ids, [...Array.from({ length: stored }, (_, i) => `${sipTopic}/0/${i}`), ...expected].sort());
    const dups = [...seen.values()].reduce((n, t) => n + t.length - 1, 0);
    process.stderr.write(`[analyzer-events-first] ClickHouse stopped: ${burst.length} events on sip.events ${lastEventMs} ms after the burst was sent, `
      + `offset held; ClickHouse back → caught up in ${caughtUpMs} ms, ${burst.length} rows once, ${dups} duplicate event(s)\n`);
  });
});
