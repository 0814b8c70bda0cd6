import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../../services/rating/cgrates/breaker.ts';

describe('CGRateS circuit breaker', () => {
  it('opens after N failures, fails fast, lets one trial through after the cooldown, closes on success', () => {
    let now = 0;
    const changes: string[] = [];
    const b = new CircuitBreaker({ failures: 3, cooldownMs: 1_000, now: () => now, onChange: (s) => changes.push(s) });
    for (let i = 0; i < 2; i++) {
      assert.ok(b.tryAcquire());
      b.failure();
    }
    assert.equal(b.state, 'closed');
    b.success(); // an answer resets the count
    for (let i = 0; i < 3; i++) {
      assert.ok(b.tryAcquire());
      b.failure();
    }
    assert.equal(b.state, 'open');
    assert.equal(b.tryAcquire(), false);
    now = 1_000;
    assert.equal(b.state, 'half-open');
    assert.equal(b.tryAcquire(), true);
    assert.equal(b.tryAcquire(), false, 'one trial at a time');
    b.failure();
    assert.equal(b.state, 'open', 'a failed trial re-opens');
    now = 2_500;
    assert.ok(b.tryAcquire());
    b.success();
    assert.equal(b.state, 'closed');
    assert.deepEqual(changes, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});
