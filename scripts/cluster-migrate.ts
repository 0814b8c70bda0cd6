/**
 * The replicated/sharded schema (`services/shared/clickhouse/cluster-ddl.ts`), derived from `sql/` at run time.
 *
 *   npx tsx scripts/cluster-migrate.ts --print [--cluster tollgate]      # the DDL, for review
 *   npx tsx scripts/cluster-migrate.ts [--cluster tollgate]              # apply it to CLICKHOUSE_URL / CLICKHOUSE_DATABASE
 *
 * Applying runs every statement with ON CLUSTER (each is idempotent: IF NOT EXISTS, ADD ... IF NOT EXISTS, MODIFY
 * TTL), so re-running after a new migration file applies what is new. The single-node ledger `schema_migrations`
 * is not used on a cluster. Start the cluster with `docker compose -f docker-compose.yml -f
 * deploy/clickhouse-cluster/compose.yml --profile cluster up` (sql/cluster/README.md).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClickhouseStore } from '../services/shared/clickhouse/client.ts';
import { ClusterDdlError, clusterDdl } from '../services/shared/clickhouse/cluster-ddl.ts';
import { loadMigrations } from '../services/shared/clickhouse/migrations.ts';
import { isTollgateError } from '../services/shared/errors.ts';

const { values: a } = parseArgs({ options: { print: { type: 'boolean', default: false }, cluster: { type: 'string' } } });
const cluster = a.cluster ?? process.env.CLICKHOUSE_CLUSTER ?? 'tollgate';
try {
  const files = await loadMigrations(fileURLToPath(new URL('../sql/', import.meta.url)));
  const statements = clusterDdl(files, { cluster });
  if (a.print) {
    for (const s of statements) process.stdout.write(`-- from ${s.source}\n${s.sql.trim()};\n\n`);
  } else {
    const url = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
    const database = process.env.CLICKHOUSE_DATABASE ?? 'tollgate';
    const opts = { url, user: process.env.CLICKHOUSE_USER ?? 'default', password: process.env.CLICKHOUSE_PASSWORD ?? '', requestTimeoutMs: 120_000 };
    const admin = createClickhouseStore(opts);
    await admin.command(`CREATE DATABASE IF NOT EXISTS {db:Identifier} ON CLUSTER ${cluster}`, { db: database });
    await admin.close();
    const store = createClickhouseStore({ ...opts, database });
    for (const [i, s] of statements.entries()) {
      process.stdout.write(`cluster-migrate: ${i + 1}/${statements.length} ${s.source}: ${s.sql.trim().split('\n')[0]!.slice(0, 100)}\n`);
      await store.command(s.sql);
    }
    await store.close();
    process.stdout.write(`cluster-migrate: ${statements.length} statements applied on cluster ${cluster}, database ${database}\n`);
  }
} catch (err) {
  if (err instanceof ClusterDdlError || isTollgateError(err)) {
    process.stderr.write(`cluster-migrate: ${(err as Error).message}\n`);
    process.exit(1);
  }
  throw err;
}
