/**
 * Scale-out: two guard processes share GUARD_GROUP_ID with GUARD_REKEY on. A distributed brute force on one account
 * from five sources whose requests sit on different `sip.events` partitions (and whose 401s sit on the proxy's) is
 * forwarded by both guards, re-keyed by account, and judged by exactly one: one alert, not two, not zero, and every
 * source blocked. The control: two guards reading `sip.events` directly miss the same attack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { req } from '../unit/guard/events.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';
import { asContainers, failures, stopGuardsAndCleanup, spawnGuard, until, type GuardProc } from './guard-procs.ts';

describe('guard scale-out: two processes, re-keyed facts', { timeout: 240_000 }, () => {
  const env = new AnalyzerEnv();
  const groupId = `${env.groupId}-guard`;
  const guards: GuardProc[] = [];
  before(() => env.setup());
  after(() => stopGuardsAndCleanup(env, groupId, guards));

  it('a distributed brute force spread over partitions gives exactly one alert', async () => {
    const extra = { GUARD_GROUP_ID: groupId, GUARD_REKEY: 'true' };
    guards.push(await spawnGuard(env, { ...extra, TOLLGATE_NODE: 'a' }), await spawnGuard(env, { ...extra, TOLLGATE_NODE: 'b' }));
    const [a, b] = guards as [GuardProc, GuardProc];
    const tail = () => a.output() + b.output();
    // Both guards forward a share of sip.events and judge a share of the account facts before the attack starts.
    let probe = 0;
    await until('both guards forwarding and judging accounts', 120_000, async () => {
      const msgs = [0, 1, 2].map((p) => {
        const src = `192.0.2.${100 + (probe++ % 50)}`;
        return { key: src, partition: p, value: Buffer.from(JSON.stringify(req(Date.now(), src, 'REGISTER', { from_user: `probe${probe}`, call_id: `probe-${probe}` }))) };
      });
      await env.produce('sipEvents', msgs);
      const f = await Promise.all(guards.map((g) => g.events({ topic: 'sip.events', outcome: 'forwarded' })));
      const j = await Promise.all(guards.map((g) => g.events({ topic: 'guard.facts.account', outcome: 'ok' })));
      return f.every((n) => n > 0) && j.every((n) => n > 0);
    }, tail);
    const forwardedBefore = await Promise.all(guards.map((g) => g.events({ topic: 'sip.events', outcome: 'forwarded' })));
    const sources = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5'];
    // The attack arrives in v2 containers (the analyzer's default), the probes before it were v1 records.
    await env.produce('sipEvents', asContainers(sources.flatMap((s, i) => failures(s, 'victim', 2, i % 3))));
    const distributed = async () => env.count('alerts', "detector = 'bruteforce' AND rule = 'distributed' AND subject = 'victim'");
    await until('distributed brute-force alert stored', 60_000, async () => (await distributed()) > 0, tail);
    await until('all five sources blocked', 30_000, async () => (await env.count('blocklist_audit', `action = 'block' AND ip IN (${sources.map((s) => `'${s}'`).join(',')})`)) === 5, tail);
    // Leave time for a second guard to (wrongly) raise its own.
    await new Promise((r) => setTimeout(r, 3_000));
    const ids = await env.store.query<{ id: string; node: string }>("SELECT DISTINCT id, node FROM alerts WHERE detector = 'bruteforce' AND rule = 'distributed'");
    assert.equal(ids.length, 1, `one distributed alert, got ${JSON.stringify(ids)}`);
    const forwardedAfter = await Promise.all(guards.map((g) => g.events({ topic: 'sip.events', outcome: 'forwarded' })));
    const shares = forwardedAfter.map((n, i) => n - forwardedBefore[i]!);
    assert.deepEqual(shares.reduce((x, y) => x + y, 0) >= 20, true, `attack events forwarded: ${shares.join(' + ')}`);
    assert.ok(shares.every((n) => n > 0), `both guards forwarded part of the attack: ${shares.join(' + ')}`);
    process.stdout.write(`# scale-out: attack events forwarded ${shares.join(' + ')} by the two guards; alert raised by ${ids[0]!.node}\n`);
    const none = await env.count('alerts', "detector = 'bruteforce' AND rule = 'per_source'");
    assert.equal(none, 0, 'no per-source alert (2 failures per source)');
  });

  it('control: the same attack on two guards reading sip.events directly is missed (why re-keying exists)', async () => {
    for (const g of guards.splice(0)) { g.child.kill('SIGTERM'); await g.exited; }
    const direct = { GUARD_GROUP_ID: `${groupId}-direct`, GUARD_REKEY: 'false' };
    guards.push(await spawnGuard(env, { ...direct, TOLLGATE_NODE: 'c' }), await spawnGuard(env, { ...direct, TOLLGATE_NODE: 'd' }));
    const tail = () => guards.map((g) => g.output()).join('');
    let probe = 0;
    await until('both direct guards judging', 120_000, async () => {
      await env.produce('sipEvents', [0, 1, 2].map((p) => ({ key: `192.0.2.${150 + p}`, partition: p, value: Buffer.from(JSON.stringify(req(Date.now(), `192.0.2.${150 + p}`, 'OPTIONS', { call_id: `dprobe-${probe++}` }))) })));
      return (await Promise.all(guards.map((g) => g.events({ topic: 'sip.events', outcome: 'ok' })))).every((n) => n > 0);
    }, tail);
    const sources = ['198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.15'];
    const judged = await Promise.all(guards.map((g) => g.events({ topic: 'sip.events', outcome: 'ok' })));
    await env.produce('sipEvents', sources.flatMap((s, i) => failures(s, 'victim2', 2, i % 3)));
    await until('attack judged', 30_000, async () => (await Promise.all(guards.map((g) => g.events({ topic: 'sip.events', outcome: 'ok' })))).reduce((x, y) => x + y, 0) - judged.reduce((x, y) => x + y, 0) >= 20, tail);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await env.count('alerts', "rule = 'distributed' AND subject = 'victim2'"), 0, 'each guard saw a share of the sources or of the answers');
  });
});
