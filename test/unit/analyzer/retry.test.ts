/** What the analyzer retries and what it does not: the registry's `retryable`, client flags, and bugs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRetryable, retryForever } from '../../../services/analyzer/consumer/retry.ts';
import { toCompactRows } from '../../../services/shared/clickhouse/client.ts';
import { CLICKHOUSE_OVERLOADED, CLICKHOUSE_REJECTED, CLICKHOUSE_UNAVAILABLE } from '../../../services/shared/clickhouse/errors.ts';
import { isTollgateError, TollgateError } from '../../../services/shared/errors.ts';

describe('analyzer retry policy', () => {
  it('follows the error registry, the client flag, and never retries a bug', () => {
    assert.equal(isRetryable(new TollgateError(CLICKHOUSE_UNAVAILABLE, 'x')), true);
    assert.equal(isRetryable(new TollgateError(CLICKHOUSE_OVERLOADED, 'x')), true);
    assert.equal(isRetryable(new TollgateError(CLICKHOUSE_REJECTED, 'x')), false);
    assert.equal(isRetryable(Object.assign(new Error('leader not available'), { retriable: true })), true);
    assert.equal(isRetryable(Object.assign(new Error('message too large'), { retriable: false })), false);
    assert.equal(isRetryable(new TypeError('x is undefined')), false);
    assert.equal(isRetryable(new Error('socket hang up')), true);
  });

  it('a row that does not fit its table is refused before it is sent, not retried as an outage', () => {
    assert.throws(() => toCompactRows('calls', [{ a: 1, b: 2 }, { a: 1 }]),
      (e: unknown) => isTollgateError(e, CLICKHOUSE_REJECTED) && /row 1 for calls has no value for column b/.test((e as Error).message));
    assert.throws(() => toCompactRows('calls', [{ a: 1 }, { a: 1, c: 3 }]),
      (e: unknown) => isTollgateError(e, CLICKHOUSE_REJECTED) && /other columns than a/.test((e as Error).message));
  });

  it('retries what can pass and throws the first failure that cannot', async () => {
    let n = 0;
    const v = await retryForever('x', async () => {
      if (++n < 3) throw new TollgateError(CLICKHOUSE_UNAVAILABLE, 'down');
      return 'ok';
    }, { stopped: () => false, initialMs: 1, maxMs: 2 });
    assert.deepEqual([v, n], ['ok', 3]);
    n = 0;
    await assert.rejects(retryForever('x', async () => {
      n++;
      throw new TollgateError(CLICKHOUSE_REJECTED, 'no');
    }, { stopped: () => false, initialMs: 1, maxMs: 2 }), (e: unknown) => isTollgateError(e, CLICKHOUSE_REJECTED));
    assert.equal(n, 1);
  });
});
