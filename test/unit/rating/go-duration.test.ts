import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { goDurationNs } from '../../../services/rating/cgrates/client.ts';

const UNITS = [['ns', 1], ['us', 1e3], ['µs', 1e3], ['ms', 1e6], ['s', 1e9], ['m', 60e9], ['h', 3600e9]] as const;

describe('Go duration strings (the cost route hands CGRateS nanoseconds)', () => {
  it('reads the forms the API documents', () => {
    assert.equal(goDurationNs('90s'), 90e9);
    assert.equal(goDurationNs('1m30s'), 90e9);
    assert.equal(goDurationNs('1.5h'), 5400e9);
    assert.equal(goDurationNs('250ms'), 250e6);
    assert.equal(goDurationNs('1h2m3s4ms5us6ns'), 3723e9 + 4e6 + 5e3 + 6);
  });

  it('sums any sequence of number-unit parts', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(...UNITS)), { minLength: 1, maxLength: 6 }), (parts) => {
      const text = parts.map(([n, [u]]) => `${n}${u}`).join('');
      assert.equal(goDurationNs(text), parts.reduce((sum, [n, [, ns]]) => sum + n * ns, 0));
    }));
  });

  it('refuses anything else and names the value', () => {
    for (const bad of ['', '90', 's', '1d', '1m30', ' 90s', '90s ', '-5s', '1.s', '5sec']) {
      assert.throws(() => goDurationNs(bad), (e: Error) => e instanceof TypeError && e.message.includes(JSON.stringify(bad)) && /Go duration/.test(e.message), bad);
    }
    fc.assert(fc.property(fc.string(), (junk) => {
      try {
        const ns = goDurationNs(junk);
        assert.ok(Number.isInteger(ns) && ns >= 0, `${JSON.stringify(junk)} → ${ns}`);
      } catch (e) {
        assert.ok(e instanceof TypeError, String(e));
      }
    }));
  });
});
