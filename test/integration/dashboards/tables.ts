/**
 * The guard's and the rating service's tables the Security and Billing dashboards read. Their migrations
 * (sql/0005_guard.sql, sql/0006_rating.sql) are written on other branches: when a migration is in this tree the
 * test database already has the table (the migration runner applied it); otherwise the table is created here from
 * the DDL below, copied from the guard's migration as it stood and, for `cdrs`, from the columns the rating issue
 * describes. Rows are seeded through the columns only, so a reconciled schema needs only this file adjusted.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SqlStore } from '../../../services/shared/clickhouse/client.ts';

const SQL_DIR = fileURLToPath(new URL('../../../sql/', import.meta.url));

const FALLBACK_DDL: Record<string, { migration: string; ddl: string[] }> = {
  guard: {
    migration: '0005_',
    ddl: [`CREATE TABLE IF NOT EXISTS alerts (
  id String, version UInt64, detector LowCardinality(String), rule LowCardinality(String), severity LowCardinality(String),
  state LowCardinality(String), subject_kind LowCardinality(String), subject String, tenant LowCardinality(String),
  first_seen DateTime64(3, 'UTC'), last_seen DateTime64(3, 'UTC'), resolved_at Nullable(DateTime64(3, 'UTC')),
  findings UInt64, blocked Array(String), evidence String, node LowCardinality(String)
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(first_seen) ORDER BY (tenant, detector, id)`,
    `CREATE TABLE IF NOT EXISTS blocklist_audit (
  ts DateTime64(3, 'UTC'), ip String, action LowCardinality(String), reason String, detector LowCardinality(String), actor String,
  alert_id String, ttl_s UInt32, offences UInt32, expires_at Nullable(DateTime64(3, 'UTC')), node LowCardinality(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (ip, ts)`],
  },
  rating: {
    migration: '0006_',
    ddl: [`CREATE TABLE IF NOT EXISTS cdrs (
  unique_id String, call_id String, tenant LowCardinality(String), account String, caller String, callee String, destination String,
  request_type LowCardinality(String), created_at DateTime64(3, 'UTC'), answered_at Nullable(DateTime64(3, 'UTC')),
  ended_at Nullable(DateTime64(3, 'UTC')), billsec UInt32, pdd_ms Nullable(Float64), hangup_cause LowCardinality(String),
  disposition LowCardinality(String), node LowCardinality(String), cost Nullable(Float64), currency LowCardinality(String),
  rating_status LowCardinality(String), rating_error String, version UInt64
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(created_at) ORDER BY (tenant, unique_id)`],
  },
};

/** Which of the two migrations this tree carries; the missing ones are created from the fallback DDL. */
export async function ensureGuardAndRatingTables(store: SqlStore): Promise<{ fromMigrations: string[]; fromFallback: string[] }> {
  const files = existsSync(SQL_DIR) ? readdirSync(SQL_DIR) : [];
  const fromMigrations: string[] = [];
  const fromFallback: string[] = [];
  for (const [name, f] of Object.entries(FALLBACK_DDL)) {
    if (files.some((x) => x.startsWith(f.migration))) {
      fromMigrations.push(name);
      continue;
    }
    for (const ddl of f.ddl) await store.command(ddl);
    fromFallback.push(name);
  }
  return { fromMigrations, fromFallback };
}
