import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OldestFirst } from '../../../services/shared/oldest-first.ts';
import { KeyedState } from '../../../services/guard/detect/window.ts';

type Op = { readonly op: 'set' | 'delete' | 'take' | 'reset'; readonly k: number };
const ops = fc.array(fc.record({ op: fc.constantFrom('set', 'set', 'set', 'delete', 'take', 'take', 'reset'), k: fc.nat(40) }) as fc.Arbitrary<Op>, { maxLength: 400 });

describe('OldestFirst', () => {
  it('takes what a fresh keys().next() would, through sets, deletes, takes and rehashes (property)', () => {
    fc.assert(fc.property(ops, (list) => {
      const m = new Map<number, number>();
      const oldest = new OldestFirst(m);
      for (const { op, k } of list) {
        if (op === 'set') m.set(k, k);
        else if (op === 'delete') m.delete(k);
        else if (op === 'reset') oldest.reset();
        else {
          const expected = m.keys().next().value;
          const got = oldest.take();
          assert.equal(got, expected);
          if (got !== undefined) m.delete(got);
        }
      }
    }), { numRuns: 2_000 });
  });

  it('works on a Set, and keeps taking after the table was emptied and refilled', () => {
    const s = new Set<string>();
    const oldest = new OldestFirst(s);
    assert.equal(oldest.take(), undefined);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) s.add(`${round}/${i}`);
      for (let i = 0; i < 5000; i++) {
        const k = oldest.take()!;
        assert.equal(k, `${round}/${i}`);
        s.delete(k);
      }
      assert.equal(oldest.take(), undefined);
    }
  });
});

describe('KeyedState', () => {
  it('drops the oldest key when full, as a fresh iterator would, through sweeps (property)', () => {
    const steps = fc.array(fc.oneof(fc.record({ get: fc.nat(60), t: fc.nat(1000) }), fc.record({ sweep: fc.nat(1000) })), { maxLength: 300 });
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), steps, (max, list) => {
      const ks = new KeyedState(() => ({ last: 0 }), max);
      const model = new Map<string, { last: number }>();
      for (const s of list) {
        if ('get' in s) {
          const key = String(s.get);
          if (!model.has(key)) {
            if (model.size >= max) model.delete(model.keys().next().value!);
            model.set(key, { last: 0 });
          }
          (ks.get(key) as { last: number }).last = s.t;
          model.get(key)!.last = s.t;
        } else {
          ks.sweep(s.sweep, 100);
          for (const [k, v] of model) if (v.last < s.sweep - 100) model.delete(k);
        }
        assert.deepEqual([...ks.entries()].map(([k, v]) => [k, v.last]), [...model].map(([k, v]) => [k, v.last]));
      }
    }), { numRuns: 1_000 });
  });
});
