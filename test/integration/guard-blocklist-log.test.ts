/**
 * The blocklist's source of truth on the real (local) Kafka: a compacted topic shared by a guard and an API replica;
 * a block written by one is seen by the other, an unblock too, and a restarted instance loads the set before it
 * reports ready.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { Blocklist, type BlockPolicy } from '../../services/guard/blocklist.ts';
import { BlocklistLog } from '../../services/guard/blocklist-log.ts';
import { BlocklistService } from '../../services/guard/blocklist-service.ts';
import { Allowlist } from '../../services/guard/detect/allowlist.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const policy: BlockPolicy = { baseTtlMs: 600_000, escalationFactor: 4, maxTtlMs: 86_400_000, offenceMemoryMs: 86_400_000, manualTtlMs: 3_600_000, unblockGraceMs: 60_000 };
const log = pino({ level: 'silent' });

describe('blocklist topic shared by instances', { timeout: 90_000 }, () => {
  let kafka: Kafka;
  const topic = `${uniqueName('guard')}.guard.blocklist`;
  const open: BlocklistLog[] = [];

  const instance = async (name: string) => {
    const state = new Blocklist(policy, new Allowlist([]));
    const changes: string[] = [];
    const bl = new BlocklistLog({ kafka, topic, blocklist: state, log, groupPrefix: `tg-test-${name}`, onChange: (r) => changes.push(`${r.ip}:${r.state}`) });
    await bl.start();
    open.push(bl);
    return { state, bl, changes, svc: new BlocklistService(state, bl, () => undefined) };
  };

  before(async () => {
    const stack = await ensureLocalStack();
    kafka = new Kafka({ clientId: 'guard-blocklist-test', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    for (const b of open) await b.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('one instance blocks, the other sees it; unblock likewise; a restart loads the whole set', async () => {
    const guard = await instance('guard');
    const api = await instance('api');
    assert.equal(guard.bl.health().state, 'ok');
    for (let i = 1; i <= 20; i++) await guard.svc.block({ ip: `198.51.100.${i}`, reason: 'flood', detector: 'flood', actor: 'guard' });
    const t0 = Date.now();
    while (api.state.active(Date.now()).length < 20) {
      if (Date.now() - t0 > 10_000) throw new Error(`api replica has ${api.state.active(Date.now()).length} of 20`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await api.svc.unblock('198.51.100.7', 'false positive', 'api:noc');
    while (guard.state.isActive('198.51.100.7', Date.now())) {
      if (Date.now() - t0 > 10_000) throw new Error('unblock not seen by the guard');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(guard.changes.includes('198.51.100.7:lifted'));
    // A third instance (a restarted guard) is ready only once it holds everything written so far.
    const restarted = await instance('guard-restarted');
    assert.equal(restarted.state.active(Date.now()).length, 19);
    assert.equal(restarted.state.get('198.51.100.7')?.state, 'lifted');
    assert.equal(restarted.state.get('198.51.100.7')?.actor, 'api:noc');
    // Escalation survives the restart: the lifted address blocked again is a second offence (grace applies to detectors only).
    const again = await restarted.svc.block({ ip: '198.51.100.7', reason: 'manual re-block', detector: 'manual', actor: 'api:noc' });
    assert.equal(again.kind, 'block');
    assert.equal(again.kind === 'block' && again.record.offences, 2);
  });

  it('a block decided while its topic is gone is kept, re-sent, and read by a later instance', async () => {
    const writer = await instance('writer');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topic] });
      // The real fault: the broker no longer hosts the topic (auto-create is off on the local stack).
      await assert.rejects(writer.svc.block({ ip: '203.0.113.99', reason: 'during outage', detector: 'flood', actor: 'guard' }));
      assert.equal(writer.bl.unsent, 1);
      assert.equal(writer.bl.health().state, 'degraded');
      assert.ok(writer.state.isActive('203.0.113.99', Date.now()), 'applied locally (and pushed) even so');
      const { ensureCompactedTopic } = await import('../../services/guard/blocklist-log.ts');
      await ensureCompactedTopic(admin, topic);
    } finally {
      await admin.disconnect();
    }
    const t0 = Date.now();
    while (writer.bl.unsent > 0) {
      if (Date.now() - t0 > 30_000) throw new Error('record not re-sent after the topic came back');
      await new Promise((r) => setTimeout(r, 200));
    }
    const later = await instance('later');
    assert.ok(later.state.isActive('203.0.113.99', Date.now()));
  });
});
