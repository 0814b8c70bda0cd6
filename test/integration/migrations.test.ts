import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createClickhouseStore, type SqlStore } from '../../services/shared/clickhouse/client.ts';
import { migrate } from '../../services/shared/clickhouse/migrations.ts';
import { isTollgateError } from '../../services/shared/errors.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

describe('ClickHouse migrations against the real engine', () => {
  let url: string;
  let database: string;
  let dir: string;
  let admin: SqlStore;
  let store: SqlStore;
  let client: ClickHouseClient;

  before(async () => {
    url = (await ensureLocalStack()).clickhouseUrl;
    database = uniqueName('tg_mig');
    dir = await mkdtemp(path.join(tmpdir(), 'tollgate-migrations-'));
    await writeFile(path.join(dir, '0001_events.sql'), `-- events; a comment with a semicolon
CREATE TABLE IF NOT EXISTS events (
  id UInt64,
  name String,
  ts DateTime64(3, 'UTC')
) ENGINE = MergeTree PARTITION BY toDate(ts) ORDER BY id;
`);
    await writeFile(path.join(dir, '0002_events_tenant.sql'),
      "ALTER TABLE events ADD COLUMN IF NOT EXISTS tenant LowCardinality(String) DEFAULT 'default';\n");
    admin = createClickhouseStore({ url, user: 'default' });
    store = createClickhouseStore({ url, user: 'default', database });
    client = createClient({ url, database });
  });

  after(async () => {
    await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
    await Promise.all([admin.close(), store.close(), client.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('applies pending migrations once, in order', async () => {
    const first = await migrate({ admin, store, database, dir });
    assert.deepEqual(first.applied, ['0001_events.sql', '0002_events_tenant.sql']);
    const second = await migrate({ admin, store, database, dir });
    assert.deepEqual(second.applied, []);
    assert.equal(second.alreadyApplied, 2);
    const cols = await store.query<{ name: string }>(
      'SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position',
      { db: database, t: 'events' });
    assert.deepEqual(cols.map((c) => c.name), ['id', 'name', 'ts', 'tenant']);
  });

  it('stores 100,000 rows inserted through @clickhouse/client and reads them back with typed parameters', async () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({
      id: i + 1, name: `n${i % 1000}`, ts: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString().replace('T', ' ').replace('Z', ''),
      tenant: i % 2 === 0 ? 'even' : 'odd',
    }));
    await client.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
    const rs = await client.query({
      query: `SELECT count() AS n, sum(id) AS s, uniqExact(name) AS names FROM events
              WHERE tenant = {tenant:String} AND id > {min:UInt64} AND ts >= {from:DateTime64(3, 'UTC')}`,
      query_params: { tenant: 'odd', min: 50_000, from: '2026-11-01 00:00:00.000' },
      format: 'JSONEachRow',
    });
    const [agg] = await rs.json<{ n: string; s: string; names: string }>();
    // ids 50,002, 50,004 ... 100,000 are the odd-index rows above 50,000: 25,000 rows.
    assert.equal(Number(agg!.n), 25_000);
    let expected = 0;
    for (let id = 50_002; id <= 100_000; id += 2) expected += id;
    assert.equal(Number(agg!.s), expected);
    assert.equal(Number(agg!.names), 500);
    const total = await store.query<{ n: string }>('SELECT count() AS n FROM events');
    assert.equal(Number(total[0]!.n), 100_000);
  });

  it('stores an SQL-injection string passed as a parameter verbatim and runs nothing', async () => {
    const evil = "x'); DROP TABLE events; --\\' \" \t\n ünï ☎ `;` {db:Identifier}";
    await client.insert({ table: 'events', values: [{ id: 999_999_999, name: evil, ts: '2026-11-02 00:00:00.000' }], format: 'JSONEachRow' });
    const got = await store.query<{ name: string }>('SELECT name FROM events WHERE name = {v:String}', { v: evil });
    assert.equal(got.length, 1);
    assert.equal(got[0]!.name, evil);
    const tables = await store.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String}', { db: database });
    assert.ok(tables.some((t) => t.name === 'events'), 'table still exists');
  });

  it('refuses a changed applied migration with a clear message', async () => {
    await writeFile(path.join(dir, '0001_events.sql'), 'CREATE TABLE IF NOT EXISTS events (id UInt64) ENGINE = MergeTree ORDER BY id;\n');
    await assert.rejects(migrate({ admin, store, database, dir }), (err: unknown) => {
      assert.ok(isTollgateError(err));
      assert.equal(err.code, 'TG_MIGRATION_CHECKSUM_MISMATCH');
      assert.match(err.message, /migration 0001_events\.sql was applied with checksum [0-9a-f]{12}… but the file now has [0-9a-f]{12}…/);
      return true;
    });
  });

  it('reports a wrong statement with a ClickHouse error code, classified as not retryable', async () => {
    await assert.rejects(store.command('SELEC 1'), (err: unknown) => {
      assert.ok(isTollgateError(err));
      assert.equal(err.code, 'TG_CLICKHOUSE_REJECTED');
      assert.equal(err.retryable, false);
      assert.equal(err.details.serverCode, '62');
      return true;
    });
  });

  it('applies the shipped sql/ migrations to a fresh database', async () => {
    const db = uniqueName('tg_sql');
    const s = createClickhouseStore({ url, user: 'default', database: db });
    try {
      const report = await migrate({ admin, store: s, database: db, dir: SQL_DIR });
      const again = await migrate({ admin, store: s, database: db, dir: SQL_DIR });
      assert.equal(again.applied.length, 0);
      assert.equal(again.alreadyApplied, report.applied.length);
    } finally {
      await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db });
      await s.close();
    }
  });
});
