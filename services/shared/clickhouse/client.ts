/**
 * The ClickHouse adapter. Services depend on the narrow `SqlStore` port; only this file knows @clickhouse/client.
 * Every statement is parameterized: values travel as typed `{name:Type}` query parameters, never spliced into text.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { classifyClickhouseError } from './errors.ts';

export type QueryParams = Record<string, unknown>;

export interface SqlStore {
  /** DDL or a statement without result rows. */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Rows as objects (JSONEachRow). */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Batch insert; `dedupToken` makes a retried batch idempotent on replicated/non-replicated MergeTree. */
  insert(table: string, rows: readonly Record<string, unknown>[], opts?: { dedupToken?: string }): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface ClickhouseOptions {
  readonly url: string;
  readonly user: string;
  readonly password?: string;
  /** `undefined`: the server's default database (used to create ours). */
  readonly database?: string;
  readonly requestTimeoutMs?: number;
}

export function createClickhouseStore(opts: ClickhouseOptions): SqlStore {
  const client: ClickHouseClient = createClient({
    url: opts.url,
    username: opts.user,
    password: opts.password ?? '',
    ...(opts.database ? { database: opts.database } : {}),
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    application: 'tollgate',
    // Errors are classified and logged once by the caller that owns the context; the client's own log would repeat them.
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  const ctx = { url: redactUrl(opts.url), database: opts.database };
  return {
    async command(sql, params) {
      try {
        await client.command({ query: sql, query_params: params });
      } catch (err) {
        throw classifyClickhouseError(err, { ...ctx, sql: sql.slice(0, 200) });
      }
    },
    async query<T>(sql: string, params?: QueryParams) {
      try {
        const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
        return await rs.json<T>();
      } catch (err) {
        throw classifyClickhouseError(err, { ...ctx, sql: sql.slice(0, 200) });
      }
    },
    async insert(table, rows, insertOpts) {
      if (rows.length === 0) return;
      try {
        await client.insert({
          table,
          values: rows as Record<string, unknown>[],
          format: 'JSONEachRow',
          // A token also covers the materialized views fed by the table (their targets need a deduplication
          // window too), so a replayed block is dropped from the rollups as well; older servers default this off.
          ...(insertOpts?.dedupToken
            ? { clickhouse_settings: { insert_deduplication_token: insertOpts.dedupToken, deduplicate_blocks_in_dependent_materialized_views: 1 } }
            : {}),
        });
      } catch (err) {
        throw classifyClickhouseError(err, { ...ctx, table, rows: rows.length });
      }
    },
    async ping() {
      const r = await client.ping();
      return r.success;
    },
    close: () => client.close(),
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '<redacted>';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
