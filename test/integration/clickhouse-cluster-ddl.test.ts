/**
 * The replicated schema variant (services/shared/clickhouse/cluster-ddl.ts) against the dev/CI ClickHouse engine.
 *
 * What the engine can and cannot check here: it has no Keeper and no `remote_servers` (a ReplicatedMergeTree create
 * fails with NO_ZOOKEEPER, a Distributed one with CLUSTER_DOESNT_EXIST), so
 *   - every cluster statement (ON CLUSTER, Replicated* engines with Keeper paths and macros, Distributed) is parsed by
 *     the engine's own parser (`formatQuery`), and the parsed text is checked for the engine and clause we meant;
 *   - the single-node twin (same derivation, without ON CLUSTER / Keeper / cluster) is created for real, next to the
 *     ordinary migrations in another database, and the two are compared: same tables (t ↔ t_local), same columns with
 *     types, defaults and codecs, same engines, sorting, partition and TTL keys, same views; every Distributed
 *     sharding key is evaluated against its local table; rows inserted into a local table reach the rollup through
 *     the materialized view reading the local table.
 * Not checked here: Keeper replication, ON CLUSTER execution, Distributed routing between servers (that needs the
 * compose profile in deploy/clickhouse-cluster/).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClickhouseStore, type SqlStore } from '../../services/shared/clickhouse/client.ts';
import { clusterDdl } from '../../services/shared/clickhouse/cluster-ddl.ts';
import { loadMigrations, migrate, type MigrationFile } from '../../services/shared/clickhouse/migrations.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

interface TableRow { name: string; engine: string; sorting_key: string; partition_key: string; as_select: string }
interface ColumnRow { table: string; name: string; type: string; default_kind: string; default_expression: string; compression_codec: string }

describe('replicated ClickHouse schema variant, derived from sql/', () => {
  let url: string;
  let single: string;
  let twin: string;
  let admin: SqlStore;
  let files: MigrationFile[];

  before(async () => {
    url = (await ensureLocalStack()).clickhouseUrl;
    single = uniqueName('tg_cluster_ref');
    twin = uniqueName('tg_cluster_twin');
    admin = createClickhouseStore({ url, user: 'default' });
    files = await loadMigrations(SQL_DIR);
    // The ordinary migrations in one database, the single-node twin of the cluster DDL in another.
    const store = createClickhouseStore({ url, user: 'default', database: single });
    await migrate({ admin, store, database: single, dir: SQL_DIR });
    await store.close();
    await admin.command('CREATE DATABASE {db:Identifier}', { db: twin });
    const t = createClickhouseStore({ url, user: 'default', database: twin });
    try {
      for (const s of clusterDdl(files, { cluster: 'tollgate', twin: true })) await t.command(s.sql);
    } finally {
      await t.close();
    }
  });

  after(async () => {
    for (const db of [single, twin]) await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db });
    await admin.close();
  });

  it('parses every cluster statement with the engine\'s own parser, with the engines and clauses intended', async () => {
    const statements = clusterDdl(files, { cluster: 'tollgate' });
    const creates = files.flatMap((f) => f.statements).filter((s) => /^\s*CREATE\s+TABLE/i.test(s)).length;
    let replicated = 0;
    let distributed = 0;
    for (const s of statements) {
      const [row] = await admin.query<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: s.sql });
      const f = row!.f;
      assert.match(f, /ON CLUSTER tollgate/, `${s.source}: ${f.slice(0, 200)}`);
      if (/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\w+_local', '\{replica\}'/.test(f)) replicated++;
      if (/ENGINE = Distributed\('tollgate', currentDatabase\(\), '\w+_local', /.test(f)) distributed++;
      assert.doesNotMatch(f, /non_replicated_deduplication_window/, `${s.source}: a replicated table keeps the non-replicated setting`);
    }
    assert.equal(replicated, creates, 'one replicated local table per CREATE TABLE in sql/');
    assert.equal(distributed, creates, 'one Distributed table per CREATE TABLE in sql/');
  });

  it('builds a single-node twin with the same tables, columns, keys and views as the migrations', async () => {
    const tables = (db: string) => admin.query<TableRow>(
      `SELECT name, engine, sorting_key, partition_key, as_select FROM system.tables
       WHERE database = {db:String} AND name != 'schema_migrations' ORDER BY name`, { db });
    const columns = (db: string) => admin.query<ColumnRow>(
      `SELECT table, name, type, default_kind, default_expression, compression_codec FROM system.columns
       WHERE database = {db:String} AND table != 'schema_migrations' ORDER BY table, position`, { db });
    const ref = await tables(single);
    const got = new Map((await tables(twin)).map((r) => [r.name, r]));
    const refCols = await columns(single);
    const gotCols = await columns(twin);
    const colsOf = (rows: ColumnRow[], table: string) => rows.filter((c) => c.table === table).map(({ table: _t, ...c }) => c);
    const ttl = async (db: string, table: string) => {
      const [r] = await admin.query<{ q: string }>('SELECT create_table_query AS q FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db, t: table });
      return /\bTTL (.+?)(?= SETTINGS|$)/.exec(r!.q)?.[1];
    };

    let mergeTrees = 0;
    for (const r of ref) {
      if (/MergeTree$/.test(r.engine)) {
        mergeTrees++;
        const local = got.get(`${r.name}_local`);
        assert.ok(local, `${r.name}: no ${r.name}_local in the twin`);
        assert.equal(local.engine, r.engine, `${r.name}: engine`);
        assert.equal(local.sorting_key, r.sorting_key, `${r.name}: sorting key`);
        assert.equal(local.partition_key, r.partition_key, `${r.name}: partition key`);
        assert.equal(await ttl(twin, local.name), await ttl(single, r.name), `${r.name}: TTL`);
        assert.deepEqual(colsOf(gotCols, local.name), colsOf(refCols, r.name), `${r.name}: columns of the local table`);
        const front = got.get(r.name);
        assert.equal(front?.engine, 'Merge', `${r.name}: the twin's stand-in for the Distributed table`);
        assert.deepEqual(colsOf(gotCols, r.name).map((c) => [c.name, c.type]), colsOf(refCols, r.name).map((c) => [c.name, c.type]),
          `${r.name}: columns of the Distributed stand-in`);
      } else {
        const v = got.get(r.name);
        assert.ok(v, `${r.name} (${r.engine}): missing in the twin`);
        assert.equal(v.engine, r.engine, `${r.name}: engine`);
        const expected = r.engine === 'MaterializedView' ? r.as_select.replace(/\b(FROM \S+?\.)(\w+)/g, '$1$2_local') : r.as_select;
        assert.equal(v.as_select.replaceAll(twin, 'DB'), expected.replaceAll(single, 'DB'), `${r.name}: query`);
      }
    }
    assert.ok(mergeTrees >= 10, `only ${mergeTrees} MergeTree tables found`);
    assert.equal(got.size, ref.length + mergeTrees, 'the twin has exactly one extra (local) table per MergeTree table');
  });

  it('evaluates every Distributed sharding key against its local table as an integer', async () => {
    const t = createClickhouseStore({ url, user: 'default', database: twin });
    try {
      for (const s of clusterDdl(files, { cluster: 'tollgate' })) {
        if (!s.shardingKey) continue;
        const [d] = await t.query<{ type: string }>(`DESCRIBE (SELECT ${s.shardingKey.expr} AS k FROM ${s.shardingKey.table})`);
        assert.equal(d!.type, s.shardingKey.expr === 'rand()' ? 'UInt32' : 'UInt64', `${s.shardingKey.table}: ${s.shardingKey.expr}`);
      }
    } finally {
      await t.close();
    }
  });

  it('feeds the rollups from the local tables through the materialized views', async () => {
    const t = createClickhouseStore({ url, user: 'default', database: twin });
    try {
      await t.command(`INSERT INTO calls_local (call_id, tenant, setup_ts, state) VALUES
        ('c1', 'acme', '2026-01-01 10:00:01', 'answered'), ('c2', 'acme', '2026-01-01 10:00:30', 'busy')`);
      const rows = await t.query<{ attempts: string; answered: string }>(
        "SELECT sum(attempts) AS attempts, sum(answered) AS answered FROM calls_minute WHERE tenant = 'acme'");
      assert.deepEqual(rows.map((r) => [Number(r.attempts), Number(r.answered)]), [[2, 1]]);
      const [kpi] = await t.query<{ a: string }>("SELECT sum(call_attempts) AS a FROM calls_minute_kpi WHERE tenant = 'acme'");
      assert.equal(Number(kpi!.a), 2, 'the plain view reads the rollup through its front table');
    } finally {
      await t.close();
    }
  });
});
