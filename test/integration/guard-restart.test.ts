/**
 * State after a restart: a guard is killed (SIGKILL, no goodbye) in the middle of a slow distributed brute force —
 * three of the five sources have failed — and started again. The new process replays the last window up to the
 * committed offsets (warm-up), so the two sources that fail afterwards complete the pattern: the attack is detected,
 * with exactly one alert. Without the warm-up the restarted guard would see two sources and stay silent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { req } from '../unit/guard/events.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';
import { failures, stopGuardsAndCleanup, groupLag, spawnGuard, until, type GuardProc } from './guard-procs.ts';

for (const rekey of [false, true]) {
  describe(`guard restart rebuilds detector state (${rekey ? 're-keyed' : 'direct'})`, { timeout: 240_000 }, () => {
    const env = new AnalyzerEnv();
    const groupId = `${env.groupId}-guard`;
    const guards: GuardProc[] = [];
    before(() => env.setup());
    after(() => stopGuardsAndCleanup(env, groupId, guards));

    it('SIGKILL in the middle of a slow brute force: still detected, exactly one alert', async () => {
      const extra = { GUARD_GROUP_ID: groupId, GUARD_REKEY: String(rekey), TOLLGATE_NODE: 'first' };
      const first = await spawnGuard(env, extra);
      guards.push(first);
      const judged = rekey ? 'guard.facts.account' : 'sip.events';
      let probe = 0;
      await until('guard consuming', 90_000, async () => {
        await env.produce('sipEvents', [{ key: '192.0.2.200', value: Buffer.from(JSON.stringify(req(Date.now(), '192.0.2.200', 'REGISTER', { from_user: `probe${probe}`, call_id: `probe-${probe++}` }))) }]);
        return (await first.events({ topic: judged, outcome: 'ok' })) > 0;
      }, first.output);
      const sources = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5'];
      const before = await first.events({ topic: judged, outcome: 'ok' });
      await env.produce('sipEvents', sources.slice(0, 3).flatMap((s, i) => failures(s, 'slowvictim', 2, i % 3)));
      await until('first half judged', 30_000, async () => (await first.events({ topic: judged, outcome: 'ok' })) - before >= 12, first.output);
      // Let the judged offsets be committed, then kill without a goodbye.
      await until('offsets committed', 30_000, async () => (await groupLag(env.kadmin, rekey ? `${groupId}-facts` : groupId, rekey ? `${env.prefix}guard.facts.account` : env.topic('sipEvents'))) === 0);
      first.child.kill('SIGKILL');
      await first.exited;
      assert.equal(await env.count('alerts', "rule = 'distributed'"), 0, 'not detected before the kill (3 of 5 sources)');

      const second = await spawnGuard(env, { ...extra, TOLLGATE_NODE: 'second' });
      guards.push(second);
      await until('second guard warmed up and consuming', 120_000, async () => {
        await env.produce('sipEvents', [{ key: '192.0.2.201', value: Buffer.from(JSON.stringify(req(Date.now(), '192.0.2.201', 'REGISTER', { from_user: `probe${probe}`, call_id: `probe-${probe++}` }))) }]);
        return (await second.events({ topic: judged, outcome: 'ok' })) > 0;
      }, second.output);
      const warmed = await second.events({ topic: judged, outcome: 'warmup' });
      assert.ok(warmed >= 12, `warm-up replayed the first half (${warmed} events)`);
      await env.produce('sipEvents', sources.slice(3).flatMap((s, i) => failures(s, 'slowvictim', 2, i % 3)));
      await until('distributed alert after the restart', 60_000, async () => (await env.count('alerts', "rule = 'distributed' AND subject = 'slowvictim'")) > 0, second.output);
      await new Promise((r) => setTimeout(r, 2_000));
      const ids = await env.store.query<{ id: string }>("SELECT DISTINCT id FROM alerts WHERE detector = 'bruteforce'");
      assert.equal(ids.length, 1, `exactly one alert: ${JSON.stringify(ids)}`);
      await until('all five sources blocked', 30_000, async () => (await env.count('blocklist_audit', `action = 'block' AND ip IN (${sources.map((s) => `'${s}'`).join(',')})`)) === 5, second.output);
      process.stdout.write(`# restart (${rekey ? 're-keyed' : 'direct'}): warm-up replayed ${warmed} events\n`);
    });
  });
}
