/**
 * Webhook retries survive a crash: the receiver is down (503) when an alert opens, the guard records the retry with
 * its body in `alert_deliveries` and is killed (SIGKILL) before the retry is due. The restarted guard (same node
 * name) reads the unfinished delivery back and sends it again under the same `webhook-id`: delivered once, recorded.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { req } from '../unit/guard/events.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';
import { spawnGuard, until, type GuardProc } from './guard-procs.ts';

describe('guard webhook retries after a crash', { timeout: 240_000 }, () => {
  const env = new AnalyzerEnv();
  const groupId = `${env.groupId}-guard`;
  const guards: GuardProc[] = [];
  const seen: { id: string; status: number }[] = [];
  let answer = 503;
  let server: Server;
  before(async () => {
    await env.setup();
    server = createServer((rq, rs) => {
      rq.resume();
      rq.on('end', () => {
        seen.push({ id: String(rq.headers['webhook-id']), status: answer });
        rs.writeHead(answer).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const g of guards) if (g.child.exitCode === null) { g.child.kill('SIGTERM'); await g.exited; }
    server.close();
    const kadmin = new Kafka({ clientId: 'webhook-crash-cleanup', brokers: env.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await kadmin.connect();
    const groups = (await kadmin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupId));
    await kadmin.deleteGroups(groups).catch(() => undefined);
    const topics = (await kadmin.listTopics()).filter((t) => t.startsWith(`${env.prefix}guard.`));
    await kadmin.deleteTopics({ topics }).catch(() => undefined);
    await kadmin.disconnect();
    await env.cleanup();
  });

  it('a retry waiting when the guard is killed is sent by the restarted guard, same webhook-id', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const extra = { GUARD_GROUP_ID: groupId, TOLLGATE_NODE: 'hooked', ALERT_WEBHOOKS: url, ALERT_WEBHOOK_RETRY_BASE: '4s', ALERT_WEBHOOK_GROUP_WAIT: '200ms' };
    const first = await spawnGuard(env, extra);
    guards.push(first);
    let probe = 0;
    await until('guard consuming', 90_000, async () => {
      await env.produce('sipEvents', [{ key: '192.0.2.200', value: Buffer.from(JSON.stringify(req(Date.now(), '192.0.2.200', 'OPTIONS', { call_id: `probe-${probe++}` }))) }]);
      return (await first.events({ topic: 'sip.events', outcome: 'ok' })) > 0;
    }, first.output);
    await env.produce('sipEvents', [{ key: '192.0.2.66', value: Buffer.from(JSON.stringify(req(Date.now(), '192.0.2.66', 'OPTIONS', { user_agent: 'friendly-scanner' }))) }]);
    await until('first attempt refused', 30_000, () => seen.length === 1, first.output);
    const id = seen[0]!.id;
    assert.match(id, /^msg_/);
    await until('retry recorded with its body', 10_000, async () => (await env.count('alert_deliveries', "delivery_id = {id:String} AND outcome = 'retry' AND payload != ''", { id })) === 1);
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(seen.length, 1, 'killed before the retry was due');
    answer = 200;

    const second = await spawnGuard(env, extra);
    guards.push(second);
    await until('retry sent by the restarted guard', 90_000, () => seen.length >= 2, second.output);
    await until('delivery recorded', 10_000, async () => (await env.count('alert_deliveries', "delivery_id = {id:String} AND outcome = 'delivered' AND attempt = 2", { id })) === 1);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.deepEqual(seen, [{ id, status: 503 }, { id, status: 200 }], 'the same delivery, once refused, once delivered — no second alert delivery');
  });
});
