/**
 * The guard end to end on loopback through the real Kamailio (test/integration/guard-harness.ts has the rig).
 * Legitimate: REGISTER with the right password (127.0.0.31), an OPTIONS monitor (127.0.0.32), calls through the
 * proxy to a sipp UAS (127.0.0.33 → 127.0.0.34). Attackers: svmap (127.0.0.21), an extension sweep with an ordinary
 * softphone User-Agent (sipp, 127.0.0.22), password guessing with an ordinary UA (sipp, 127.0.0.23), an INVITE flood
 * at 50/s (sipp, 127.0.0.24), svwar (127.0.0.1: Debian's svwar ignores -b), and toll fraud: one account calling
 * +882 numbers at 20 calls/min (127.0.0.35) → critical alert → signed webhook. Then Kamailio is restarted (the
 * active set must be back within 5 s) and the first block must expire with its TTL.
 * Figures go to stdout as `[guard-e2e]` lines.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verify } from '../../services/guard/notify/receivers.ts';
import { sipStatus } from '../support/guard-edges.ts';
import { ATTACK, available, call, DISTRIBUTED, FLOOD, guess, GuardRig, LEGIT, PROXY, SECRET, SVMAP, SVWAR, SWEEP } from './guard-harness.ts';

const BLOCK_TTL_S = 30;

describe('guard end to end through the real Kamailio', { timeout: 300_000, skip: available ? false : 'needs kamailio, sipp, svmap and svwar (npm run setup)' }, () => {
  const rig = new GuardRig();
  before(() => rig.setup({ blockTtlS: BLOCK_TTL_S }));
  after(() => rig.close());

  const timeline = async (name: string, ip: string, start: number, detector: string, ms = 20_000) => {
    const alert = await rig.waitFor(`${name}: alert`, ms, () => rig.alerts.find((a) => a.kind === 'opened' && a.alert.detector === detector && (a.alert.subject.value === ip || a.alert.blocked.includes(ip))));
    const edge = await rig.waitFor(`${name}: ${ip} in the Kamailio htable`, ms, () => rig.onEdge.get(ip));
    assert.equal(await sipStatus(ip, PROXY, rig.edge.sipPort), 403, `${name}: Kamailio answers ${ip} with 403`);
    process.stdout.write(`[guard-e2e] ${name.padEnd(30)} ${`${detector}/${alert.alert.rule}`.padEnd(22)} attack start → alert ${alert.at - start} ms, → block active at the edge ${edge - start} ms `
      + `(of which capture of the deciding message → alert ${alert.at - alert.alert.firstSeen} ms)\n`);
  };

  it('blocks each attacker at Kamailio, never a legitimate source; resyncs a restarted proxy; expires blocks', async () => {
    const { edge, guard, receiver } = rig;
    const uasPort = await rig.legitimate(130_000);
    await rig.waitFor('guard sees events', 30_000, () => guard.engine.now > 0);
    await new Promise((r) => setTimeout(r, 2_000));

    // Toll fraud runs in the background: 20 calls/min to +882 numbers from one account.
    const fraudStart = Date.now();
    await rig.sipp(ATTACK.fraud, rig.file('fraud.xml', call('pbx7', '0088216[call_number]55', 1_000)), { calls: 14, rate: 20, ratePeriodMs: 60_000, target: `${LEGIT.callee}:${uasPort}`, rsa: `${PROXY}:${edge.sipPort}`, ms: 60_000 });

    let t0 = Date.now();
    rig.spawnBounded(SVMAP, ['-b', ATTACK.svmap, '-p', String(edge.sipPort), PROXY], 20_000);
    await timeline('svmap', ATTACK.svmap, t0, 'scanner');

    const exts = rig.file('exts.csv', `SEQUENTIAL\n${Array.from({ length: 100 }, (_, i) => `${200 + i};`).join('\n')}\n`);
    t0 = Date.now();
    await rig.sipp(ATTACK.sweep, rig.file('sweep.xml', SWEEP), { calls: 100, rate: 10, inf: exts, ms: 20_000 });
    await timeline('extension sweep, softphone UA', ATTACK.sweep, t0, 'scanner');

    t0 = Date.now();
    await rig.sipp(ATTACK.guess, rig.file('guess.xml', guess('carol')), { calls: 40, rate: 10, ms: 20_000 });
    await timeline('password guessing, ordinary UA', ATTACK.guess, t0, 'bruteforce');

    t0 = Date.now();
    await rig.sipp(ATTACK.flood, rig.file('flood.xml', FLOOD), { calls: 250, rate: 50, ms: 10_000 });
    await timeline('INVITE flood 50/s', ATTACK.flood, t0, 'flood');

    t0 = Date.now();
    rig.spawnBounded(SVWAR, ['-e300-399', '-p', String(edge.sipPort), '-m', 'REGISTER', PROXY], 30_000);
    await timeline('svwar', ATTACK.svwar, t0, 'scanner');

    // Distributed guessing: five sources, three wrong passwords each on dave → alert on the account, all five blocked.
    t0 = Date.now();
    const daveXml = rig.file('guess-dave.xml', guess('dave'));
    for (const src of DISTRIBUTED) await rig.sipp(src, daveXml, { calls: 3, rate: 1, ms: 20_000 });
    const dist = await rig.waitFor('distributed brute force alert', 30_000, () => rig.alerts.find((a) => a.alert.detector === 'bruteforce' && a.alert.rule === 'distributed' && a.alert.subject.value.endsWith('dave')));
    const lastBlocked = await rig.waitFor('all distributed sources in the htable', 30_000, () => DISTRIBUTED.every((ip) => rig.onEdge.has(ip)) && Math.max(...DISTRIBUTED.map((ip) => rig.onEdge.get(ip)!)));
    for (const ip of DISTRIBUTED) assert.equal(await sipStatus(ip, PROXY, edge.sipPort), 403, `${ip} blocked`);
    process.stdout.write(`[guard-e2e] distributed guessing, 5 sources on one account: start → account alert ${dist.at - t0} ms, → all 5 sources blocked at the edge ${lastBlocked - t0} ms\n`);

    // Toll fraud: a critical alert on the account, and a signed webhook the receiver verifies.
    const fraud = await rig.waitFor('toll fraud critical alert', 60_000, () => rig.alerts.find((a) => a.alert.detector === 'tollfraud' && a.alert.severity === 'critical' && a.alert.subject.value.endsWith('pbx7')));
    const hook = await rig.waitFor('signed webhook with the toll fraud alert', 10_000, () => receiver.received.find((r) => r.body.includes(fraud.alert.id) && r.body.includes('"critical"')));
    assert.ok(verify(SECRET, { id: String(hook.headers['webhook-id']), timestamp: String(hook.headers['webhook-timestamp']), signature: String(hook.headers['webhook-signature']) }, hook.body), 'webhook signature verifies');
    process.stdout.write(`[guard-e2e] toll fraud 20 calls/min to +882: fraud start → critical alert (${fraud.alert.rule}) ${fraud.at - fraudStart} ms, → signed webhook received ${hook.at - fraudStart} ms\n`);

    // Restart Kamailio: the empty table must get the active set back within 5 s.
    const active = guard.blocklist.active(Date.now()).map((r) => r.ip);
    assert.ok(active.length >= 5, `active blocks: ${active.join(' ')}`);
    await edge.stop();
    await edge.start();
    const restarted = Date.now();
    // Only dumps taken after the restart count (the watcher polls every 50 ms).
    const resynced = await rig.waitFor('resync after restart', 5_000, () => rig.dumpedAt > restarted && active.every((ip) => rig.inHtable.has(ip) || !guard.blocklist.isActive(ip, Date.now())) && rig.dumpedAt);
    assert.equal(await sipStatus(ATTACK.flood, PROXY, edge.sipPort), 403);
    process.stdout.write(`[guard-e2e] Kamailio restart → ${active.length} active blocks back in the htable after ${resynced - restarted} ms\n`);

    // TTL: the svmap block (the first one) expires at Kamailio after its TTL, and the source is served again.
    const svmapBlock = guard.blocklist.get(ATTACK.svmap)!;
    const expired = await rig.waitFor('svmap block expiry', (BLOCK_TTL_S + 15) * 1000, () => !rig.inHtable.has(ATTACK.svmap) && rig.dumpedAt > svmapBlock.expiresAt - 1000 && rig.dumpedAt);
    assert.notEqual(await sipStatus(ATTACK.svmap, PROXY, edge.sipPort), 403);
    process.stdout.write(`[guard-e2e] svmap block (TTL ${BLOCK_TTL_S} s) left the htable ${((expired - svmapBlock.createdAt) / 1000).toFixed(1)} s after it was set\n`);

    // Legitimate sources were never blocked nor named in an alert.
    assert.deepEqual(rig.legitProblems(), []);
    assert.equal(await sipStatus(LEGIT.monitor, PROXY, edge.sipPort), 200);
    process.stdout.write(`[guard-e2e] alerts opened: ${rig.alerts.filter((a) => a.kind === 'opened').map((a) => `${a.alert.detector}/${a.alert.rule}@${a.alert.subject.value}`).join(', ')}\n`);
    process.stdout.write(`[guard-e2e] in the htable at some point: ${[...rig.onEdge.keys()].join(', ')}; webhook deliveries: ${receiver.received.length}\n`);
    const stored = await rig.env.store.query<{ n: string }>('SELECT count() AS n FROM alerts');
    assert.ok(Number(stored[0]!.n) > 0);
  });
});
