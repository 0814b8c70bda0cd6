/**
 * The guard on the real (local) Kafka and dev ClickHouse, fed directly on `sip.events` / `sip.quarantine` (v1 records
 * and v2 containers): junk records and cut containers are counted and skipped while real events around them still
 * lead to alerts, blocks, stored alert rows and records on the alerts topic; a restarted guard continues the firing alert instead of opening a second one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildGuard, type GuardService } from '../../services/guard/service.ts';
import { guardSettings } from '../../services/guard/settings.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import { eventLine } from '../../services/analyzer/event-records.ts';
import { encodeContainer } from '../../services/shared/kafka/event-container.ts';
import { req, junk } from '../unit/guard/events.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

describe('guard on Kafka: junk events, alerts stored and published, restart', { timeout: 120_000 }, () => {
  const env = new AnalyzerEnv();
  const groupId = `${env.groupId}-guard`;
  const start = async (registry: Registry): Promise<GuardService> => {
    const config = { ...parseSettings(guardSettings, { GUARD_GROUP_ID: groupId }), kafkaTopicPrefix: env.prefix, nodeName: 'guard-events' };
    const g = buildGuard(config, { kafka: env.kafka, store: env.store, registry, log: pino({ level: 'silent' }) });
    for (const c of g.components) await c.start();
    return g;
  };
  const stop = async (g: GuardService) => { for (const c of [...g.components].reverse()) await c.close(); };
  const now = () => Date.now();
  const until = async (what: string, ms: number, f: () => boolean | Promise<boolean>) => {
    const t0 = Date.now();
    while (!(await f())) {
      if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const metric = async (r: Registry, name: string, labels: Record<string, string>) =>
    ((await r.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0);

  before(() => env.setup());
  after(async () => {
    await env.kadmin.deleteGroups([groupId]).catch(() => undefined);
    const topics = (await env.kadmin.listTopics()).filter((t) => t.startsWith(`${env.prefix}guard.`));
    await env.kadmin.deleteTopics({ topics }).catch(() => undefined);
    await env.cleanup();
  });

  it('counts junk, detects around it, stores and publishes the alert, continues it after a restart', async () => {
    const registry = new Registry();
    let g = await start(registry);
    // The group has joined once a probe event is counted.
    await until('guard consuming', 30_000, async () => {
      await env.produce('sipEvents', [{ key: '192.0.2.200', value: Buffer.from(JSON.stringify(req(now(), '192.0.2.200', 'OPTIONS'))) }]);
      return (await metric(registry, 'tollgate_guard_events_total', { topic: 'sip.events', outcome: 'ok' })) > 0;
    });
    const junkValues = ['', 'not json', '{"v":2}', '[]', '{"v":1,"kind":"register"}', '\u0000\u0001garbage'];
    // A v2 container cut short: its whole first event is read, the cut one counted as bad.
    const cut = encodeContainer([eventLine(req(now(), '192.0.2.201', 'OPTIONS')), eventLine(req(now(), '192.0.2.201', 'OPTIONS'))]);
    await env.produce('sipEvents', [
      ...junkValues.map((v) => ({ key: '192.0.2.66', value: Buffer.from(v) })),
      { key: '192.0.2.66', value: null },
      { key: '192.0.2.201', value: cut.subarray(0, cut.length - 5) },
      // The scanner's request in a v2 container, as the analyzer writes it by default.
      { key: '192.0.2.66', value: encodeContainer([eventLine(req(now(), '192.0.2.66', 'OPTIONS', { user_agent: 'friendly-scanner' }))]) },
    ]);
    await env.produce('quarantine', [{ key: '192.0.2.67', value: Buffer.from('{"v":1,"kind":"quarantine"}') }, ...Array.from({ length: 30 }, () => ({ key: '192.0.2.67', value: Buffer.from(JSON.stringify(junk(now(), '192.0.2.67'))) }))]);
    await until('scanner block', 20_000, () => g.blocklist.isActive('192.0.2.66', now()));
    await until('malformed block', 20_000, () => g.blocklist.isActive('192.0.2.67', now()));
    assert.equal(await metric(registry, 'tollgate_guard_events_total', { topic: 'sip.events', outcome: 'bad' }), junkValues.length + 2);
    assert.equal(await metric(registry, 'tollgate_guard_events_total', { topic: 'sip.quarantine', outcome: 'bad' }), 1);
    const firing = g.alerts.firing.find((a) => a.subject.value === '192.0.2.66')!;
    assert.equal(firing.detector, 'scanner');
    await until('alert row stored', 20_000, async () => (await env.count('alerts', 'id = {id:String}', { id: firing.id })) > 0);
    await until('audit row stored', 20_000, async () => (await env.count('blocklist_audit', "ip = '192.0.2.66' AND action = 'block'")) === 1);
    const ends = await env.kadmin.fetchTopicOffsets(`${env.prefix}guard.alerts`);
    assert.ok(ends.reduce((n, e) => n + Number(e.high), 0) >= 2, 'alerts published on Kafka');

    // Restart: the blocklist and the firing alert come back; the same attacker continues the same alert.
    await stop(g);
    g = await start(new Registry());
    assert.ok(g.blocklist.isActive('192.0.2.66', now()), 'block survives the restart');
    assert.ok(g.alerts.firing.some((a) => a.id === firing.id), 'firing alert restored');
    await stop(g);
  });
});
