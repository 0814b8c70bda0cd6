import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandMacros, MacroError, unknownMacros } from '../../../dashboards/lib/macros.ts';

// 2026-03-04T05:06:07.890Z → 2026-03-05T00:00:30.250Z, a 15 s panel interval.
const ctx = { from: new Date(Date.UTC(2026, 2, 4, 5, 6, 7, 890)), to: new Date(Date.UTC(2026, 2, 5, 0, 0, 30, 250)), intervalMs: 15_000 };
const FROM_S = 1772600767;
const TO_S = 1772668830;

describe('ClickHouse datasource macros, expanded as the plugin backend does', () => {
  it('$__timeFilter(c): seconds, both ends inclusive', () => {
    assert.equal(FROM_S, Math.floor(ctx.from.getTime() / 1000));
    assert.equal(expandMacros('WHERE $__timeFilter(setup_ts)', ctx),
      `WHERE setup_ts >= toDateTime(${FROM_S}) AND setup_ts <= toDateTime(${TO_S})`);
  });

  it('$__timeFilter_ms(c): milliseconds', () => {
    assert.equal(expandMacros('$__timeFilter_ms(ts)', ctx),
      'ts >= fromUnixTimestamp64Milli(1772600767890) AND ts <= fromUnixTimestamp64Milli(1772668830250)');
  });

  it('$__dateFilter(c): UTC dates', () => {
    assert.equal(expandMacros('$__dateFilter(d)', ctx), "d >= toDate('2026-03-04') AND d <= toDate('2026-03-05')");
  });

  it('$__fromTime / $__toTime and their _ms forms', () => {
    assert.equal(expandMacros('$__fromTime, $__toTime', ctx), `toDateTime(${FROM_S}), toDateTime(${TO_S})`);
    assert.equal(expandMacros('$__fromTime_ms|$__toTime_ms', ctx), 'fromUnixTimestamp64Milli(1772600767890)|fromUnixTimestamp64Milli(1772668830250)');
    // A trailing () is an empty argument list, as in the plugin's editor snippets.
    assert.equal(expandMacros('$__fromTime()', ctx), `toDateTime(${FROM_S})`);
  });

  it('$__timeInterval(c): whole seconds, at least 1', () => {
    assert.equal(expandMacros('$__timeInterval(ts)', ctx), 'toStartOfInterval(toDateTime(ts), INTERVAL 15 second)');
    assert.equal(expandMacros('$__timeInterval(ts)', { ...ctx, intervalMs: 200 }), 'toStartOfInterval(toDateTime(ts), INTERVAL 1 second)');
    assert.equal(expandMacros('$__timeInterval(ts)', { ...ctx, intervalMs: 2_500 }), 'toStartOfInterval(toDateTime(ts), INTERVAL 2 second)');
  });

  it('$__timeInterval_ms(c): milliseconds, at least 1', () => {
    assert.equal(expandMacros('$__timeInterval_ms(ts)', ctx), 'toStartOfInterval(toDateTime64(ts, 3), INTERVAL 15000 millisecond)');
    assert.equal(expandMacros('$__timeInterval_ms(ts)', { ...ctx, intervalMs: 0 }), 'toStartOfInterval(toDateTime64(ts, 3), INTERVAL 1 millisecond)');
  });

  it('$__interval_s: integer seconds, at least 1', () => {
    assert.equal(expandMacros('x / $__interval_s', ctx), 'x / 15');
    assert.equal(expandMacros('$__interval_s', { ...ctx, intervalMs: 10 }), '1');
  });

  it('$__timeGroup(c, 5m)', () => {
    assert.equal(expandMacros('$__timeGroup(ts, 5m)', ctx), 'toStartOfInterval(toDateTime(ts), INTERVAL 300 second)');
    assert.equal(expandMacros("$__timeGroup(ts, '1h')", ctx), 'toStartOfInterval(toDateTime(ts), INTERVAL 3600 second)');
    assert.throws(() => expandMacros('$__timeGroup(ts, soon)', ctx), MacroError);
  });

  it('nested arguments, several macros, wrong argument counts, unknown names', () => {
    assert.equal(expandMacros('$__timeFilter(toDateTime(ts, \'UTC\')) AND $__fromTime < now()', ctx),
      `toDateTime(ts, 'UTC') >= toDateTime(${FROM_S}) AND toDateTime(ts, 'UTC') <= toDateTime(${TO_S}) AND toDateTime(${FROM_S}) < now()`);
    assert.throws(() => expandMacros('$__timeFilter(a, b)', ctx), /expected 1 argument, received 2/);
    assert.throws(() => expandMacros('$__timeFilter(a', ctx), /missing closing parenthesis/);
    assert.equal(expandMacros('$__notAMacro(x) $tenant', ctx), '$__notAMacro(x) $tenant');
    assert.deepEqual(unknownMacros('$__timeFiltr(x) $__interval_s $__conditionalAll(a, $b)'), ['timeFiltr']);
  });
});
