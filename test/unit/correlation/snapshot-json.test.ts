/**
 * Changed-only snapshots: `snapshotJson()` reuses the text of entries that did not change since the previous
 * snapshot. It must write exactly what `JSON.stringify(snapshot())` (the full snapshot, what older builds stored)
 * writes, whatever happened in between, and a tracker restored from it must be the tracker a full snapshot gives:
 * same state, same records and snapshots from then on. Snapshots written by the old code (the golden fixture)
 * restore and serialize back to the same text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DialogTracker, RegistrationTracker } from '../../../services/analyzer/correlation/index.ts';
import type { ObservedSip } from '../../../services/analyzer/correlation/index.ts';
import { obs, registerText } from './build.ts';
import { arrive, build, scenarioArb, T0 } from './scenarios.ts';
import { CUTS, END, goldenStream, type Golden } from './golden-stream.ts';

const S = 1_000_000;

/** Every snapshot form of both trackers agrees: the changed-only text is the full snapshot's JSON. */
function assertSameText(d: DialogTracker, r: RegistrationTracker, at: string): { d: string; r: string } {
  const dj = d.snapshotJson();
  const rj = r.snapshotJson();
  assert.equal(dj, JSON.stringify(d.snapshot()), `dialog snapshot text ${at}`);
  assert.equal(rj, JSON.stringify(r.snapshot()), `registration snapshot text ${at}`);
  return { d: dj, r: rj };
}

test('changed-only snapshot text equals the full snapshot at every point of the golden stream', () => {
  const stream = goldenStream();
  const d = new DialogTracker();
  const r = new RegistrationTracker();
  stream.forEach((m, i) => {
    d.observe(m);
    r.observe(m);
    // Often enough that most snapshots reuse text, and every kind of change happens between two of them.
    if (i % 7 === 0) assertSameText(d, r, `after message ${i}`);
  });
  d.advanceTo(END);
  r.advanceTo(END);
  assertSameText(d, r, 'at the end');
});

test('snapshots written by the old code restore, and the restored trackers write the same text back', () => {
  const golden = JSON.parse(readFileSync(new URL('../../fixtures/correlation-golden.json', import.meta.url), 'utf8')) as Golden;
  assert.equal(golden.snapshots.length, CUTS.length);
  const stream = goldenStream();
  for (const snap of golden.snapshots) {
    const d = new DialogTracker();
    const r = new RegistrationTracker();
    // The stored form is text: what JSON.stringify of the old full snapshot wrote.
    d.restore(JSON.parse(JSON.stringify(snap.dialogs)));
    r.restore(JSON.parse(JSON.stringify(snap.registrations)));
    assert.equal(d.snapshotJson(), JSON.stringify(snap.dialogs), `dialogs restored at cut ${snap.cut}`);
    assert.equal(r.snapshotJson(), JSON.stringify(snap.registrations), `registrations restored at cut ${snap.cut}`);
    // And they keep agreeing with a full snapshot as the rest of the stream changes them.
    const rest = stream.slice(Math.floor(snap.cut * stream.length));
    rest.forEach((m, i) => {
      d.observe(m);
      r.observe(m);
      if (i % 11 === 0) assertSameText(d, r, `cut ${snap.cut}, message ${i} after the restore`);
    });
  }
});

/** One step of a random run: a message, a clock jump (expiry of calls, transactions, orphans, tombstones), or a
 * snapshot (checked, then restored into a second tracker pair that runs on alongside). */
type Op = { kind: 'msg'; m: ObservedSip } | { kind: 'advance'; byUs: number } | { kind: 'snapshot' };

/** REGISTER exchanges: 0 no answer (closes by timeout), 1 challenge only, 2 challenge then 200, 3 challenge then
 * 403, 4 challenged twice (a second 401 on the same Call-ID grows its challenge list) then 200; the 401 is captured
 * twice, `copyGap` apart, so arrival order can make a later copy the earlier one. */
function registerFlow(i: number, t: number, outcome: number, copyGap: number): ObservedSip[] {
  const base = { callId: `prop-reg-${i}`, user: `${2000 + (i % 5)}`, contactHost: i % 2 === 0 ? '10.0.0.9' : '198.51.100.7' };
  const msgs = [obs(registerText({ ...base, cseq: 1, branch: `pa${i}` }), t)];
  if (outcome === 0) return msgs;
  const challenge = registerText({ ...base, cseq: 1, branch: `pa${i}`, code: 401 });
  msgs.push(obs(challenge, t + 700), obs(challenge, t + 700 - copyGap));
  msgs.push(obs(registerText({ ...base, cseq: 2, branch: `pb${i}`, auth: base.user }), t + 1400));
  if (outcome === 1) return msgs;
  if (outcome === 4) {
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `pb${i}`, code: 401 }), t + 2100));
    msgs.push(obs(registerText({ ...base, cseq: 3, branch: `pc${i}`, auth: base.user }), t + 2800));
    msgs.push(obs(registerText({ ...base, cseq: 3, branch: `pc${i}`, code: 200, expires: 120 }), t + 3500));
    return msgs;
  }
  msgs.push(obs(registerText({ ...base, cseq: 2, branch: `pb${i}`, code: outcome === 2 ? 200 : 403, expires: 120 }), t + 2100));
  return msgs;
}

const runArb = fc.record({
  calls: fc.array(scenarioArb, { minLength: 0, maxLength: 10 }),
  registers: fc.array(fc.record({ start: fc.integer({ min: 0, max: 120_000_000 }), outcome: fc.integer({ min: 0, max: 4 }), copyGap: fc.integer({ min: 1, max: 600 }) }), { maxLength: 8 }),
  delays: fc.array(fc.integer({ min: 0, max: 1_999_999 }), { minLength: 1, maxLength: 16 }),
  // Where snapshots and clock jumps go, in thousandths of the message stream (fc.double clusters at 0 and 1), and
  // jumps from a few ms to past every timeout.
  snapshotsAt: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }),
  advances: fc.array(fc.record({ at: fc.integer({ min: 0, max: 1000 }), byUs: fc.integer({ min: 1_000, max: 400 * S }) }), { maxLength: 4 }),
});

type Run = typeof runArb extends fc.Arbitrary<infer R> ? R : never;

function ops(run: Run): Op[] {
  const msgs = [
    ...run.calls.flatMap((s, i) => build(i, s).msgs),
    ...run.registers.flatMap((g, i) => registerFlow(i, T0 + g.start, g.outcome, g.copyGap)),
  ];
  const stream = arrive(msgs, run.delays);
  const marks: Array<{ at: number; op: Op }> = [
    ...run.snapshotsAt.map((at) => ({ at: Math.floor((at / 1000) * stream.length), op: { kind: 'snapshot' } as Op })),
    ...run.advances.map((a) => ({ at: Math.floor((a.at / 1000) * stream.length), op: { kind: 'advance', byUs: a.byUs } as Op })),
  ].sort((a, b) => a.at - b.at);
  const out: Op[] = [];
  let k = 0;
  stream.forEach((m, i) => {
    while (k < marks.length && marks[k]!.at <= i) out.push(marks[k++]!.op);
    out.push({ kind: 'msg', m });
  });
  while (k < marks.length) out.push(marks[k++]!.op);
  return out;
}

test('property: over random open/update/close/expire runs, changed-only snapshots are the full ones and restore to the same trackers', () => {
  fc.assert(
    fc.property(runArb, (run) => {
      const d = new DialogTracker();
      const r = new RegistrationTracker();
      // Trackers restored from the last changed-only snapshot, run on alongside the originals.
      let restored: { d: DialogTracker; r: RegistrationTracker } | undefined;
      const records = { original: [] as unknown[], restored: [] as unknown[] };
      const step = (dt: DialogTracker, rt: RegistrationTracker, op: Op, into: unknown[]): void => {
        if (op.kind === 'msg') into.push(...dt.observe(op.m), ...rt.observe(op.m));
        else if (op.kind === 'advance') {
          const to = Math.max(dt.clockUs(), rt.clockUs(), T0) + op.byUs;
          into.push(...dt.advanceTo(to), ...rt.advanceTo(to));
        }
      };
      let n = 0;
      for (const op of ops(run)) {
        step(d, r, op, records.original);
        if (restored !== undefined) step(restored.d, restored.r, op, records.restored);
        if (op.kind !== 'snapshot') continue;
        const text = assertSameText(d, r, `snapshot ${n}`);
        if (restored !== undefined) {
          // The pair restored earlier has seen exactly the same input since: same state, same text, same records.
          assert.deepEqual(assertSameText(restored.d, restored.r, `restored pair, snapshot ${n}`), text);
          assert.deepEqual(records.restored, records.original.slice(records.original.length - records.restored.length));
        }
        const full = { d: new DialogTracker(), r: new RegistrationTracker() };
        full.d.restore(JSON.parse(JSON.stringify(d.snapshot())));
        full.r.restore(JSON.parse(JSON.stringify(r.snapshot())));
        restored = { d: new DialogTracker(), r: new RegistrationTracker() };
        restored.d.restore(JSON.parse(text.d));
        restored.r.restore(JSON.parse(text.r));
        // Restored from the changed-only text or from the full snapshot: the same tracker state.
        assert.deepEqual(restored.d.snapshot(), full.d.snapshot());
        assert.deepEqual(restored.r.snapshot(), full.r.snapshot());
        assert.deepEqual(restored.d.stats(), d.stats());
        assert.deepEqual(restored.r.stats(), r.stats());
        records.restored = [];
        n++;
      }
      // Everything closes: the restored pair emits what the originals emit after the restore, and ends in the same state.
      const end = T0 + 30 * 86_400 * S;
      records.original.push(...d.advanceTo(end), ...r.advanceTo(end));
      if (restored !== undefined) {
        records.restored.push(...restored.d.advanceTo(end), ...restored.r.advanceTo(end));
        assert.deepEqual(records.restored, records.original.slice(records.original.length - records.restored.length));
        assert.deepEqual(assertSameText(restored.d, restored.r, 'restored pair at the end'), assertSameText(d, r, 'at the end'));
      }
    }),
    { numRuns: 120 },
  );
});
