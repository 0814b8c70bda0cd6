/** The slab hands out buffers of exactly the asked size that never share bytes, across rollovers and own allocations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Slab } from '../../../services/shared/slab.ts';

// Slab sizes include 0 (no slab: every buffer its own allocation).
test('slab buffers have the asked length and keep their bytes while later ones are carved', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2048 }), fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 200 }), (size, sizes) => {
    const slab = new Slab(size);
    const got = sizes.map((n, i) => {
      const b = slab.alloc(n);
      assert.equal(b.length, n);
      b.fill(i & 0xff);
      return b;
    });
    got.forEach((b, i) => assert.ok(b.every((x) => x === (i & 0xff)), `buffer ${i} was overwritten`));
  }), { numRuns: 500 });
});

