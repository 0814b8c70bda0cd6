/** ClickHouse failures are classified once, where they enter our code, into stable codes and a retryable flag. */
import { ClickHouseError } from '@clickhouse/client';
import { defineError, TollgateError } from '../errors.ts';

export const CLICKHOUSE_UNAVAILABLE = defineError('TG_CLICKHOUSE_UNAVAILABLE',
  'ClickHouse could not be reached or timed out; the operation may be retried.', true);
export const CLICKHOUSE_REJECTED = defineError('TG_CLICKHOUSE_REJECTED',
  'ClickHouse rejected the statement (syntax, unknown table, bad parameter ...); retrying will not help.');
export const CLICKHOUSE_OVERLOADED = defineError('TG_CLICKHOUSE_OVERLOADED',
  'ClickHouse refused for load (too many parts, memory limit, too many queries); retry with backoff.', true);

/** Server error codes that mean "try again later" rather than "your statement is wrong". */
const TRANSIENT_SERVER_CODES = new Set([
  '159', // TIMEOUT_EXCEEDED
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '241', // MEMORY_LIMIT_EXCEEDED
  '242', // TABLE_IS_READ_ONLY
  '252', // TOO_MANY_PARTS
  '319', // UNKNOWN_STATUS_OF_INSERT
  '373', // SESSION_IS_LOCKED
  '425', // SYSTEM_ERROR
  '999', // KEEPER_EXCEPTION
]);

export function classifyClickhouseError(err: unknown, context: Record<string, unknown> = {}): TollgateError {
  if (err instanceof TollgateError) return err;
  if (err instanceof ClickHouseError) {
    const spec = TRANSIENT_SERVER_CODES.has(err.code) ? CLICKHOUSE_OVERLOADED : CLICKHOUSE_REJECTED;
    return new TollgateError(spec, `ClickHouse error ${err.code} (${err.type ?? 'unknown'}): ${err.message}`,
      { ...context, serverCode: err.code, serverType: err.type }, { cause: err });
  }
  const e = err as Error;
  return new TollgateError(CLICKHOUSE_UNAVAILABLE, `ClickHouse unavailable: ${e?.message ?? String(err)}`, context, { cause: err });
}
