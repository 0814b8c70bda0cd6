/**
 * False positives of the guard under legitimate-only load, through the real Kamailio (the e2e rig): registrations
 * every 2 s, an OPTIONS monitor at 2/s and a call every 2 s, for GUARD_SOAK_MINUTES (default 10). Prints the
 * events the guard read, alerts and blocks (the goal: zero of both). Bounded: every sender stops by itself.
 *   KAFKA_BROKERS=127.0.0.1:9092 CLICKHOUSE_URL=http://127.0.0.1:8123 node --import tsx bench/guard-soak.ts
 */
import { GuardRig } from '../test/integration/guard-harness.ts';

const minutes = Number(process.env['GUARD_SOAK_MINUTES'] ?? '10');
const ms = minutes * 60_000;
const rig = new GuardRig();
try {
  await rig.setup({ blockTtlS: 600 });
  const t0 = Date.now();
  await rig.legitimate(ms);
  await rig.waitFor('guard sees events', 30_000, () => rig.guard.engine.now > 0);
  let last = 0;
  while (Date.now() - t0 < ms + 5_000) {
    await new Promise((r) => setTimeout(r, 5_000));
    const m = Math.floor((Date.now() - t0) / 60_000);
    if (m !== last) {
      last = m;
      process.stdout.write(`guard-soak: ${m} min, alerts ${rig.alerts.length}, blocks ${rig.guard.blocklist.active(Date.now()).length}\n`);
    }
  }
  const rows = await rig.env.store.query<{ n: string }>("SELECT count() AS n FROM sip_messages");
  const problems = rig.legitProblems();
  process.stdout.write(`guard-soak: ${minutes} min legitimate-only load (shared, busy 2-core box): ${rows[0]!.n} SIP messages captured, `
    + `${rig.alerts.length} alert changes, ${rig.guard.blocklist.active(Date.now()).length} active blocks, false positives: ${problems.length}\n`);
  for (const p of problems) process.stdout.write(`guard-soak: FALSE POSITIVE ${p}\n`);
  for (const a of rig.alerts) process.stdout.write(`guard-soak: alert ${a.kind} ${a.alert.detector}/${a.alert.rule} ${a.alert.subject.value}\n`);
  process.exitCode = problems.length === 0 && rig.alerts.length === 0 ? 0 : 1;
} finally {
  await rig.close();
}
