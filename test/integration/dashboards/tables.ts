/**
 * The guard's and the rating service's tables the Security and Billing dashboards read. Their migrations
 * (sql/0005_guard.sql, sql/0006_rating.sql) are written on other branches: when a migration is in this tree the
 * test database already has the table (the migration runner applied it); otherwise the table is created here from
 * the DDL below, copied from the guard's and the rating service's migrations as they stood on their branches. Rows are seeded through the columns only, so a reconciled schema needs only this file adjusted.
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
  unique_id String, version UInt64, tenant LowCardinality(String), node LowCardinality(String), origin_host LowCardinality(String),
  sip_call_id String, direction LowCardinality(String), caller String, callee String, account String, subject String, destination String,
  category LowCardinality(String), request_type LowCardinality(String), created_at DateTime64(6, 'UTC'), answered_at Nullable(DateTime64(6, 'UTC')),
  ended_at DateTime64(6, 'UTC'), duration_ms UInt64, billsec UInt32, billmsec UInt64, pdd_ms UInt32, hangup_cause LowCardinality(String),
  hangup_cause_q850 UInt16, sip_hangup_disposition LowCardinality(String), disposition LowCardinality(String), timing_source LowCardinality(String),
  estimated Bool, decision LowCardinality(String), max_usage_ms UInt64, rating_status LowCardinality(String), rating_error String,
  rating_attempts UInt16, cost Nullable(Float64), cost_source LowCardinality(String), cgr_id String, rating_details String,
  session_terminated Bool, written_at DateTime64(3, 'UTC') DEFAULT now64(3)
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
