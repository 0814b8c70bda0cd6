import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dedupToken, planCuts, type OffsetRange } from '../../../services/analyzer/consumer/plan.ts';

describe('dedupToken', () => {
  it('names group, topic, partition, the inclusive range and the table', () => {
    assert.equal(dedupToken('tollgate-analyzer', 'tollgate.hep.sip', 3, { first: 100, last: 199 }, 'calls'),
      'tollgate-analyzer:tollgate.hep.sip:3:100-199:calls');
  });
});

describe('planCuts', () => {
  it('cuts freely by row count when the ledger has nothing', () => {
    const p = planCuts([0, 1, 2, 3, 4], [], 2);
    assert.deepEqual(p.cuts.map((c) => c.range), [{ first: 0, last: 1 }, { first: 2, last: 3 }, { first: 4, last: 4 }]);
    assert.equal(p.holdFrom, 5);
  });

  it('re-cuts recorded ranges exactly, whatever the row limit', () => {
    const p = planCuts([10, 11, 12, 13, 14, 15], [{ first: 10, last: 13 }, { first: 14, last: 14 }], 100);
    assert.deepEqual(p.cuts.map((c) => [c.range, c.planned]), [[{ first: 10, last: 13 }, true], [{ first: 14, last: 14 }, true], [{ first: 15, last: 15 }, false]]);
  });

  it('holds the records of a recorded range whose end has not been fetched yet', () => {
    const p = planCuts([10, 11, 12], [{ first: 10, last: 11 }, { first: 12, last: 20 }], 100);
    assert.equal(p.cuts.length, 1);
    assert.equal(p.holdFrom, 2);
    assert.deepEqual(p.remaining, [{ first: 12, last: 20 }]);
  });

  it('stops a free batch before the next recorded range', () => {
    const p = planCuts([5, 6, 7, 8], [{ first: 7, last: 8 }], 100);
    assert.deepEqual(p.cuts.map((c) => c.range), [{ first: 5, last: 6 }, { first: 7, last: 8 }]);
  });

  it('keeps its ranges across gaps in the offsets (compacted or transaction markers)', () => {
    const p = planCuts([10, 13, 14, 20], [{ first: 10, last: 14 }], 100);
    assert.deepEqual(p.cuts.map((c) => [c.start, c.end]), [[0, 3], [3, 4]]);
  });

  it('property: any fetch split of a replay reproduces the original cuts', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 199 }),
      (n, maxRows, fetchSizes, replayRows, crashAt) => {
        const offsets = Array.from({ length: n }, (_, i) => i * 2);
        // The original run: free cuts over fetches of the given sizes.
        const original: OffsetRange[] = [];
        let i = 0;
        let f = 0;
        while (i < n) {
          const size = fetchSizes[f++ % fetchSizes.length]!;
          const chunk = offsets.slice(i, i + size);
          for (const c of planCuts(chunk, [], maxRows).cuts) original.push(c.range);
          i += size;
        }
        // The ledger holds the ranges started before the crash; the replay fetches one record at a time
        // with another row limit and must reproduce them.
        const crashIdx = Math.min(crashAt, original.length - 1);
        const ledger = original.slice(0, crashIdx + 1);
        let planned = ledger;
        let held: number[] = [];
        const replay: OffsetRange[] = [];
        for (const o of offsets) {
          const p = planCuts([...held, o], planned, replayRows);
          for (const c of p.cuts) replay.push(c.range);
          held = [...held, o].slice(p.holdFrom);
          planned = p.remaining;
        }
        assert.deepEqual(replay.slice(0, ledger.length), ledger);
        assert.equal(held.length, 0);
        const covered = replay.reduce((acc, r) => acc + offsets.filter((o) => o >= r.first && o <= r.last).length, 0);
        assert.equal(covered, n);
      }), { numRuns: 300 });
  });
});
