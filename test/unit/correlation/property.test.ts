/**
 * Random call mixes: answered (either side hangs up), busy, cancelled, unanswered 480, and answered after a
 * 407 challenge; random retransmissions; arrival shuffled within the reorder window; many calls interleaved.
 * Whatever the arrival order, exactly one record per call, with the state and times of the generated flow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DialogTracker } from '../../../services/analyzer/correlation/index.ts';
import type { CallRecord, ObservedSip } from '../../../services/analyzer/correlation/index.ts';
import { leg } from './build.ts';
import { arrive, build, scenarioArb, T0, WINDOW } from './scenarios.ts';

function runAll(stream: ObservedSip[]): CallRecord[] {
  const d = new DialogTracker({ reorderWindowUs: WINDOW });
  const out: CallRecord[] = [];
  for (const m of stream) out.push(...d.observe(m));
  out.push(...d.advanceTo(T0 + 10 * 86_400_000_000));
  return out;
}

test('one record per call with the generated state and times, whatever the arrival order', () => {
  fc.assert(
    fc.property(
      fc.array(scenarioArb, { minLength: 1, maxLength: 25 }),
      fc.array(fc.integer({ min: 0, max: WINDOW - 1 }), { minLength: 1, maxLength: 64 }),
      (scenarios, delays) => {
        const built = scenarios.map((s, i) => build(i, s));
        const stream = arrive(built.flatMap((b) => b.msgs), delays);
        const records = runAll(stream);
        assert.equal(records.length, scenarios.length);
        const byId = new Map(records.map((r) => [r.call_id, r]));
        assert.equal(byId.size, scenarios.length);
        built.forEach((b, i) => {
          const r = byId.get(leg(i).callId);
          assert.ok(r);
          assert.deepEqual({
            state: r.state, setup_us: r.setup_us, first_provisional_us: r.first_provisional_us, ring_us: r.ring_us,
            answer_us: r.answer_us, end_us: r.end_us, duration_ms: r.duration_ms, pdd_ms: r.pdd_ms,
            final_status: r.final_status, hangup_side: r.hangup_side, attempts: r.attempts,
            auth_challenges: r.auth_challenges, ack_seen: r.ack_seen,
          }, b.expected, `call ${i} (${scenarios[i]!.kind})`);
        });
      },
    ),
    { numRuns: 150 },
  );
});

test('arrival order within the window does not change any record field', () => {
  fc.assert(
    fc.property(
      fc.array(scenarioArb, { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 0, max: WINDOW - 1 }), { minLength: 1, maxLength: 32 }),
      (scenarios, delays) => {
        const msgs = scenarios.flatMap((s, i) => build(i, s).msgs);
        const sorted = runAll(arrive(msgs, [0]));
        const shuffled = runAll(arrive(msgs, delays));
        const key = (r: CallRecord): string => r.call_id;
        assert.deepEqual([...shuffled].sort((a, b) => key(a).localeCompare(key(b))),
          [...sorted].sort((a, b) => key(a).localeCompare(key(b))));
      },
    ),
    { numRuns: 100 },
  );
});

