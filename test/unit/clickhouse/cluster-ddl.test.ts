import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterDdlError, clusterDdlFromText } from '../../../services/shared/clickhouse/cluster-ddl.ts';

const BASE = `CREATE TABLE IF NOT EXISTS t (
  id UInt64,
  call_id String,
  note String DEFAULT 'a;b'
) ENGINE = ReplacingMergeTree(v) ORDER BY (id, call_id)
SETTINGS non_replicated_deduplication_window = 10000;`;

const sqlOf = (text: string) => clusterDdlFromText([{ name: '0001_t.sql', text }], { cluster: 'c1' }).map((s) => s.sql);

describe('cluster DDL derivation', () => {
  it('turns a table into a replicated local table and a Distributed front sharded by the sorting key', () => {
    const [local, front] = sqlOf(BASE);
    assert.match(local!, /^CREATE TABLE IF NOT EXISTS t_local ON CLUSTER c1 \(/);
    assert.match(local!, /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/t_local', '\{replica\}', v\)\s+ORDER BY/);
    assert.match(local!, /SETTINGS replicated_deduplication_window = 10000$/);
    assert.match(local!, /DEFAULT 'a;b'/);
    assert.equal(front, "CREATE TABLE IF NOT EXISTS t ON CLUSTER c1 AS t_local ENGINE = Distributed('c1', currentDatabase(), 't_local', cityHash64(id, call_id))");
  });

  it('sends column changes to both tables and index/TTL changes to the local one only', () => {
    const out = sqlOf(`${BASE}\nALTER TABLE t ADD COLUMN IF NOT EXISTS x UInt8, ADD INDEX IF NOT EXISTS i x TYPE minmax GRANULARITY 1;
ALTER TABLE t MODIFY TTL now() + toIntervalDay(1);`);
    assert.deepEqual(out.slice(2), [
      'ALTER TABLE t_local ON CLUSTER c1 ADD COLUMN IF NOT EXISTS x UInt8, ADD INDEX IF NOT EXISTS i x TYPE minmax GRANULARITY 1',
      'ALTER TABLE t ON CLUSTER c1 ADD COLUMN IF NOT EXISTS x UInt8',
      'ALTER TABLE t_local ON CLUSTER c1 MODIFY TTL now() + toIntervalDay(1)',
    ]);
  });

  it('points materialized views at the local tables and drops both tables of a pair', () => {
    const out = sqlOf(`${BASE}
CREATE TABLE r (id UInt64) ENGINE = MergeTree ORDER BY id;
CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO r AS SELECT id FROM t JOIN other USING id;
DROP TABLE IF EXISTS r;`);
    assert.equal(out[4], 'CREATE MATERIALIZED VIEW IF NOT EXISTS mv ON CLUSTER c1 TO r_local AS SELECT id FROM t_local JOIN other USING id');
    assert.match(out[3]!, /Distributed\('c1', currentDatabase\(\), 'r_local', rand\(\)\)$/);
    assert.deepEqual(out.slice(5), ['DROP TABLE IF EXISTS r ON CLUSTER c1', 'DROP TABLE IF EXISTS r_local ON CLUSTER c1']);
  });

  it('refuses what it has no rule for, naming the file and the statement', () => {
    assert.throws(() => sqlOf('CREATE TABLE m (a UInt8) ENGINE = Memory;'), (e: unknown) =>
      e instanceof ClusterDdlError && /0001_t\.sql: table m: engine Memory/.test(e.message));
    assert.throws(() => sqlOf('CREATE MATERIALIZED VIEW v ENGINE = MergeTree ORDER BY a AS SELECT 1 AS a;'), /without TO/);
    assert.throws(() => sqlOf('ALTER TABLE nowhere ADD COLUMN a UInt8;'), /ALTER of nowhere/);
    assert.throws(() => sqlOf('RENAME TABLE a TO b;'), /no cluster rule for this statement.*RENAME TABLE a TO b/);
  });
});
