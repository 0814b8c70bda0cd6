import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PartitionWorker, type InputRecord } from '../../../services/analyzer/consumer/partition.ts';
import { DialogTracker, RegistrationTracker } from '../../../services/analyzer/correlation/index.ts';
import { TenantMap } from '../../../services/analyzer/tenants.ts';
import { formatUs } from '../../../services/analyzer/store/rows.ts';
import { byTime, callScenario, optionsScenario, registerScenario, sipEnvelope, type Scenario } from '../../support/sip-scenarios.ts';
import { AnalyzerErrors } from '../../../services/analyzer/errors.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { FakeSink } from './fake-sink.ts';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) * 1000;
const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'a.example' };
const C = { user: 'carol', domain: 'b.example' };
const tenants = TenantMap.parse('a.example=acme,*.b.example=beta,b.example=beta', 'default');

function scenarios(n: number): Scenario[] {
  const out: Scenario[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + i * 1_000_000;
    out.push(
      callScenario('answered', `ans-${i}-aaaaaaaa`, t, A, B),
      callScenario('busy', `bsy-${i}-bbbbbbbb`, t + 100, A, C),
      callScenario('cancelled', `can-${i}-cccccccc`, t + 200, C, B),
      callScenario('no_answer', `noa-${i}-dddddddd`, t + 300, A, B),
      registerScenario(`reg-${i}-eeeeeeee`, t + 400, A),
      registerScenario(`rgf-${i}-ffffffff`, t + 500, C, true),
      optionsScenario(`opt-${i}-gggggggg`, t + 600, { user: 'ping', domain: 'other.example' }),
    );
  }
  // A late message moves the capture clock past every timeout, so every record is emitted.
  out.push(optionsScenario('clock-hhhhhhhh', T0 + 3 * 3_600_000_000, { user: 'ping', domain: 'other.example' }));
  return out;
}

function records(sc: Scenario[]): InputRecord[] {
  return byTime(sc).map((p, i) => ({ offset: i, value: sipEnvelope(p), timestampMs: Math.floor(p.tsUs / 1000) }));
}

function worker(sink: FakeSink, maxRows = 7): PartitionWorker {
  return new PartitionWorker({
    group: 'g', topic: 'p.hep.sip', partition: 0, kind: 'sip', maxRows, tenants, dialogs: {}, registrations: {},
  }, sink);
}

const hooks = { stopped: () => false, initialMs: 1, maxMs: 2 };

async function runAll(sink: FakeSink, recs: InputRecord[], fetch = 11, maxRows = 7): Promise<void> {
  const w = worker(sink, maxRows);
  const h = { ...hooks, stopped: () => sink.crashed };
  await w.restore(sink.committed, 0, h);
  for (let i = w.nextOffset; i < recs.length; i += fetch) await w.process(recs.slice(i, i + fetch), h);
}

describe('PartitionWorker: SIP scenarios → rows', () => {
  it('writes one message row per packet and the exact call and registration records', async () => {
    const sc = scenarios(2);
    const recs = records(sc);
    const sink = new FakeSink();
    await runAll(sink, recs);
    assert.equal(sink.committed, recs.length);
    assert.equal(sink.rows('sip_messages').length, recs.length);
    assert.equal(sink.rows('sip_quarantine').length, 0);
    const calls = sink.rows('calls');
    assert.equal(calls.length, 8);
    const ans = calls.find((c) => c['call_id'] === 'ans-0-aaaaaaaa')!;
    assert.equal(ans['state'], 'answered');
    assert.equal(ans['pdd_ms'], 250.5);
    assert.equal(ans['duration_ms'], 60_000.75);
    assert.equal(ans['hangup_side'], 'caller');
    assert.equal(ans['tenant'], 'acme');
    assert.equal(formatUs(ans['setup_ts'] as number), '2026-11-20 10:00:00.000000');
    assert.equal(formatUs(ans['answer_ts'] as number), '2026-11-20 10:00:02.000000');
    const states = Object.fromEntries(calls.filter((c) => String(c['call_id']).endsWith('-0-aaaaaaaa') || String(c['call_id']).includes('-0-'))
      .map((c) => [String(c['call_id']).slice(0, 3), c['state']]));
    assert.deepEqual(states, { ans: 'answered', bsy: 'busy', can: 'cancelled', noa: 'no_answer' });
    const busy = calls.find((c) => c['call_id'] === 'bsy-0-bbbbbbbb')!;
    assert.equal(busy['final_status'], 486);
    assert.equal(busy['pdd_ms'], 400.25);
    const cancelled = calls.find((c) => c['call_id'] === 'can-0-cccccccc')!;
    assert.equal(cancelled['tenant'], 'beta');
    const regs = sink.rows('registrations');
    assert.deepEqual(regs.map((r) => r['outcome']).sort(), ['auth_failed', 'auth_failed', 'challenge', 'challenge', 'registered', 'registered']);
    const msg = sink.rows('sip_messages')[0]!;
    assert.equal(formatUs(msg['ts'] as number), '2026-11-20 10:00:00.000000');
    assert.equal(msg['method'], 'INVITE');
    assert.equal(msg['tenant'], 'acme');
    assert.equal(sink.events.length, recs.length);
  });

  it('a crash at any insert, followed by a restore from the snapshot and ledger, gives exactly the uninterrupted rows', async () => {
    const recs = records(scenarios(2));
    const clean = new FakeSink();
    await runAll(clean, recs);
    const totalInserts = clean.inserts;
    for (let crashAt = 0; crashAt < totalInserts; crashAt += 3) {
      const sink = new FakeSink();
      sink.crashAfterInserts = crashAt;
      await assert.rejects(runAll(sink, recs), (err: unknown) => isTollgateError(err, AnalyzerErrors.aborted));
      sink.crashed = false;
      // Lose the last snapshot too, sometimes: the restore then replays further back through the ledger.
      if (crashAt % 2 === 0) sink.snapshots.pop();
      // And lose all of them, sometimes: the trackers are rebuilt from the first recorded range.
      if (crashAt % 9 === 0) sink.snapshots.length = 0;
      sink.crashAfterInserts = Infinity;
      // The restarted consumer fetches differently sized batches: the ledger still decides the cuts.
      await runAll(sink, recs, 5, 13);
      for (const t of ['sip_messages', 'calls', 'registrations']) {
        assert.deepEqual(sink.rows(t).map((r) => JSON.stringify(r)).sort(), clean.rows(t).map((r) => JSON.stringify(r)).sort(), `${t} after a crash at insert ${crashAt}`);
      }
    }
  });

  it('saves every tracker snapshot as the text the full snapshot has always been (changed-only serialization)', async () => {
    const sink = new FakeSink();
    await runAll(sink, records(scenarios(3)));
    assert.ok(sink.snapshots.length > 10, `snapshots after every batch: ${sink.snapshots.length}`);
    for (const s of sink.snapshots) {
      const state = JSON.parse(s.state) as { dialogs: unknown; registrations: unknown; clock?: unknown };
      const d = new DialogTracker();
      const r = new RegistrationTracker();
      d.restore(state.dialogs);
      r.restore(state.registrations);
      // What the analyzer wrote before snapshots were changed-only: the same text, so either build restores the other's.
      assert.equal(s.state, JSON.stringify({ dialogs: d.snapshot(), registrations: r.snapshot(), clock: state.clock }), `snapshot at ${s.offset}`);
    }
  });

  it('retries a failing insert without committing past it', async () => {
    const recs = records(scenarios(1));
    const sink = new FakeSink();
    sink.failInserts = 3;
    let failures = 0;
    const w = worker(sink);
    await w.restore(undefined, 0, hooks);
    await w.process(recs, { ...hooks, onFailure: () => failures++ });
    assert.equal(failures, 3);
    assert.equal(sink.rows('sip_messages').length, recs.length);
    assert.equal(sink.committed, recs.length);
  });
});

describe('PartitionWorker: idle advances', () => {
  // Two bursts ten minutes apart, then silence: no record ever moves the clock past the last calls.
  function bursts(): Scenario[] {
    const out: Scenario[] = [];
    for (const [g, t] of [[0, T0], [1, T0 + 600_000_000]] as const) {
      out.push(
        callScenario('answered', `ans-${g}-aaaaaaaa`, t, A, B),
        callScenario('busy', `bsy-${g}-bbbbbbbb`, t + 100, A, C),
        callScenario('cancelled', `can-${g}-cccccccc`, t + 200, C, B),
        callScenario('no_answer', `noa-${g}-dddddddd`, t + 300, A, B),
        registerScenario(`reg-${g}-eeeeeeee`, t + 400, A),
      );
    }
    return out;
  }
  type Op = { process: InputRecord[] } | { idleAtMs: number };
  function schedule(recs: InputRecord[]): Op[] {
    const split = recs.findIndex((r) => r.timestampMs >= (T0 + 600_000_000) / 1000);
    const lastA = recs[split - 1]!.timestampMs;
    const lastB = recs[recs.length - 1]!.timestampMs;
    return [
      { process: recs.slice(0, split) },
      { idleAtMs: lastA + 1_000 }, { idleAtMs: lastA + 10_000 }, { idleAtMs: lastA + 300_000 },
      { process: recs.slice(split) },
      { idleAtMs: lastB + 3_000 }, { idleAtMs: lastB + 9_000 }, { idleAtMs: lastB + 3_600_000 },
    ];
  }
  async function run(sink: FakeSink, ops: Op[], fetch: number, maxRows: number): Promise<number> {
    const w = worker(sink, maxRows);
    const h = { ...hooks, stopped: () => sink.crashed };
    await w.restore(sink.committed, 0, h);
    let idleRows = 0;
    for (const op of ops) {
      if ('process' in op) for (let i = 0; i < op.process.length; i += fetch) await w.process(op.process.slice(i, i + fetch), h);
      else idleRows += await w.idle(op.idleAtMs, w.nextOffset, h);
    }
    return idleRows;
  }

  it('writes every call and registration of a burst once the partition is idle, with no further record', async () => {
    const recs = records(bursts());
    const sink = new FakeSink();
    const w = worker(sink);
    await w.restore(undefined, 0, hooks);
    await w.process(recs, hooks);
    const before = sink.rows('calls').length + sink.rows('registrations').length;
    const last = recs[recs.length - 1]!.timestampMs;
    // One reorder window after the last record nothing is due yet (BYE + settle + window).
    assert.equal(await w.idle(last + 2_000, recs.length, hooks), 0);
    assert.equal(await w.idle(last + 7_000, recs.length + 1, hooks), 0, 'records still waiting in Kafka');
    const emitted = await w.idle(last + 7_000, recs.length, hooks);
    assert.equal(sink.rows('calls').length, 8);
    assert.equal(sink.rows('registrations').length, 4);
    assert.equal(before + emitted, 12);
    assert.deepEqual(sink.advances.map((a) => a.at), [recs.length]);
    // Nothing left to do: later ticks record nothing.
    assert.equal(await w.idle(last + 3_600_000, recs.length, hooks), 0);
    assert.equal(sink.advances.length, 1);
  });

  it('a crash at any insert replays the recorded advances: exactly the uninterrupted rows', async () => {
    const recs = records(bursts());
    const clean = new FakeSink();
    await run(clean, schedule(recs), 11, 7);
    assert.equal(clean.rows('calls').length, 8);
    assert.equal(clean.rows('registrations').length, 4);
    assert.ok(clean.advances.length >= 2, `advances: ${JSON.stringify(clean.advances)}`);
    for (let crashAt = 0; crashAt < clean.inserts; crashAt++) {
      const sink = new FakeSink();
      sink.crashAfterInserts = crashAt;
      await assert.rejects(run(sink, schedule(recs), 11, 7), (err: unknown) => isTollgateError(err, AnalyzerErrors.aborted));
      sink.crashed = false;
      if (crashAt % 2 === 0) sink.snapshots.pop();
      sink.crashAfterInserts = Infinity;
      // The restarted worker sees other fetch sizes and other wall-clock ticks: the recorded advances decide.
      const shifted = schedule(recs).map((op) => ('idleAtMs' in op ? { idleAtMs: op.idleAtMs + 1_500 } : op));
      await run(sink, shifted, 5, 13);
      for (const t of ['sip_messages', 'calls', 'registrations']) {
        assert.deepEqual(sink.rows(t).map((r) => JSON.stringify(r)).sort(), clean.rows(t).map((r) => JSON.stringify(r)).sort(), `${t} after a crash at insert ${crashAt}`);
      }
    }
  });
});

describe('PartitionWorker: rows a table refuses for good', () => {
  it('isolates the refused rows, quarantines them as store_refused, commits past them and writes everything else once', async () => {
    const recs = records(scenarios(2));
    const poison = new Set([3, 17, 18]);
    const sink = new FakeSink();
    sink.refuse = (table, r) => table === 'sip_messages' && poison.has(Number(r['kafka_offset']));
    const failures: unknown[] = [];
    const w = worker(sink, 25);
    await w.restore(undefined, 0, hooks);
    await w.process(recs, { ...hooks, onFailure: (e) => failures.push(e) });
    assert.equal(sink.committed, recs.length);
    assert.equal(failures.length, 0, 'a refusal is not retried');
    assert.deepEqual(sink.rows('sip_messages').map((r) => Number(r['kafka_offset'])).sort((a, b) => a - b),
      recs.map((r) => r.offset).filter((o) => !poison.has(o)));
    const q = sink.rows('sip_quarantine');
    assert.deepEqual(q.map((r) => [r['reason'], Number(r['kafka_offset'])]).sort((a, b) => Number(a[1]) - Number(b[1])),
      [...poison].map((o) => ['store_refused', o]));
    assert.match(String(q[0]!['detail']), /^sip_messages: TG_CLICKHOUSE_REJECTED 469: /);
    const letter = JSON.parse(Buffer.from(String(q[0]!['raw_base64']), 'base64').toString()) as { table: string; row: Record<string, unknown> };
    assert.equal(letter.table, 'sip_messages');
    assert.equal(letter.row['kafka_offset'], Number(q[0]!['kafka_offset']));
    // Calls and registrations do not depend on whether a message row was stored.
    assert.equal(sink.rows('calls').length, 8);
  });

  it('a crash during the isolation replays to the same rows (the halves carry deterministic tokens)', async () => {
    const recs = records(scenarios(2));
    const refuse = (table: string, r: Record<string, unknown>) => table === 'sip_messages' && Number(r['kafka_offset']) % 23 === 5;
    const clean = new FakeSink();
    clean.refuse = refuse;
    await runAll(clean, recs, 40, 40);
    for (let crashAt = 0; crashAt < clean.inserts; crashAt += 2) {
      const sink = new FakeSink();
      sink.refuse = refuse;
      sink.crashAfterInserts = crashAt;
      await assert.rejects(runAll(sink, recs, 40, 40), (err: unknown) => isTollgateError(err, AnalyzerErrors.aborted));
      sink.crashed = false;
      sink.crashAfterInserts = Infinity;
      await runAll(sink, recs, 17, 9);
      for (const t of ['sip_messages', 'sip_quarantine', 'calls', 'registrations']) {
        assert.deepEqual(sink.rows(t).map((r) => JSON.stringify(r)).sort(), clean.rows(t).map((r) => JSON.stringify(r)).sort(), `${t} after a crash at insert ${crashAt}`);
      }
    }
  });
});

describe('PartitionWorker: what the trackers do not attribute is counted', () => {
  it('a BYE of a call never seen and a straggler after its call was written show in tollgate_analyzer_tracker_unattributed_total', async () => {
    const { Registry } = await import('prom-client');
    const { AnalyzerMetrics } = await import('../../../services/analyzer/metrics.ts');
    const registry = new Registry();
    const metrics = new AnalyzerMetrics(registry);
    const sc = callScenario('busy', 'late-0-aaaaaaaa', T0, A, B);
    const bye = callScenario('answered', 'nobody-0-bbbbbbbb', T0 - 600_000_000, A, B).packets.filter((p) => p.text.startsWith('BYE'));
    const straggler = { ...sc.packets.find((p) => p.text.startsWith('SIP/2.0 486'))!, tsUs: T0 + 30_000_000 };
    const recs: InputRecord[] = [...sc.packets, ...bye.map((p) => ({ ...p, tsUs: T0 + 1_000 })), straggler]
      .sort((a, b) => a.tsUs - b.tsUs).map((p, i) => ({ offset: i, value: sipEnvelope(p), timestampMs: Math.floor(p.tsUs / 1000) }));
    const sink = new FakeSink();
    const w = new PartitionWorker({ group: 'g', topic: 'p.hep.sip', partition: 0, kind: 'sip', maxRows: 3, tenants, dialogs: {}, registrations: {}, metrics }, sink);
    await w.restore(undefined, 0, hooks);
    await w.process(recs, hooks);
    const text = await registry.metrics();
    // A BYE is held for its INVITE (it may come out of order) and dropped when none came.
    assert.match(text, /tollgate_analyzer_tracker_unattributed_total\{tracker="dialogs",reason="orphans_dropped"\} 1/);
    assert.match(text, /tollgate_analyzer_tracker_unattributed_total\{tracker="dialogs",reason="late"\} 1/);
    assert.equal(sink.rows('sip_messages').length, recs.length, 'every message is still stored');
  });
});
