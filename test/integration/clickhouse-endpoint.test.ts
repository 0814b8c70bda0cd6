/**
 * The dev/CI ClickHouse endpoint must behave like a ClickHouse server towards `@clickhouse/client`; every check
 * here goes through the real client (or raw HTTP where the client hides what a server sends).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { clickhousePart } from '../../scripts/stack/clickhouse.ts';
import { stackContext } from '../support/clickhouse.ts';

const url = 'http://127.0.0.1:8123';
const password = process.env['CLICKHOUSE_DEV_PASSWORD'] ?? '';
const ctx = stackContext();
const table = `t_endpoint_${randomBytes(6).toString('hex')}`;
const rowCount = 100_000;

let client: ClickHouseClient;
let startedHere = false;

function newClient(extra: Parameters<typeof createClient>[0] = {}): ClickHouseClient {
  // the client logs every rejected request; these tests provoke errors on purpose
  return createClient({ url, username: 'default', password, log: { level: ClickHouseLogLevel.OFF }, ...extra });
}

async function rows<T>(c: ClickHouseClient, query: string, query_params?: Record<string, unknown>): Promise<T[]> {
  const rs = await c.query({ query, format: 'JSONEachRow', ...(query_params ? { query_params } : {}) });
  return rs.json<T>();
}

async function rejection(p: Promise<unknown>): Promise<ClickHouseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ClickHouseError, `expected a ClickHouseError, got ${String(err)}`);
  return err;
}

function authHeader(): string {
  return `Basic ${Buffer.from(`default:${password}`).toString('base64')}`;
}

describe('dev ClickHouse endpoint', () => {
  before(async () => {
    startedHere = !(await clickhousePart.status(ctx)).running;
    const t0 = performance.now();
    const st = await clickhousePart.up(ctx);
    ctx.progress(`clickhouse up in ${Math.round(performance.now() - t0)} ms`);
    assert.equal(st.running, true);
    client = newClient();
    await client.command({
      query: `CREATE TABLE ${table} (id UInt32, k LowCardinality(String), v UInt64, s String, at DateTime64(3, 'UTC'))
              ENGINE = MergeTree ORDER BY id`,
    });
  });

  after(async () => {
    await client?.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await client?.close();
    if (startedHere) await clickhousePart.down(ctx);
  });

  test('ping answers like a server', async () => {
    const res = await client.ping();
    assert.equal(res.success, true);
    const raw = await fetch(`${url}/`);
    assert.equal(await raw.text(), 'Ok.\n');
  });

  test('100,000 JSONEachRow rows insert and read back with exact aggregates through typed parameters', async () => {
    const values = Array.from({ length: rowCount }, (_, i) => ({
      id: i,
      k: `k${i % 7}`,
      v: (i * 7919) % 1_000_003,
      s: `row-${i}`,
      at: '2024-01-02 03:04:05.678',
    }));
    const t0 = performance.now();
    const res = await client.insert({ table, values, format: 'JSONEachRow' });
    ctx.progress(`inserted ${rowCount} rows in ${Math.round(performance.now() - t0)} ms`);
    assert.equal(res.summary?.written_rows, String(rowCount));

    const from = 12_345;
    const key = 'k3';
    let sum = 0n;
    let n = 0;
    let max = 0;
    for (const r of values) {
      if (r.id >= from && r.k === key) {
        sum += BigInt(r.v);
        n += 1;
        max = Math.max(max, r.v);
      }
    }
    const [all] = await rows<{ c: string; total: string }>(
      client,
      `SELECT toString(count()) AS c, toString(sum(v)) AS total FROM ${table}`,
    );
    assert.deepEqual(all, {
      c: String(rowCount),
      total: String(values.reduce((acc, r) => acc + BigInt(r.v), 0n)),
    });
    const [part] = await rows<{ c: string; total: string; top: string }>(
      client,
      `SELECT toString(count()) AS c, toString(sum(v)) AS total, toString(max(v)) AS top
         FROM ${table} WHERE id >= {from:UInt32} AND k = {key:String}`,
      { from, key },
    );
    assert.deepEqual(part, { c: String(n), total: String(sum), top: String(max) });
  });

  test('an injection string passed as a parameter is stored and returned byte for byte', async () => {
    const evil = `x'); DROP TABLE ${table}; --\\ \\' \t tab\nnewline\r\n ünïcødé 😀 "dq" \`bt\` {p:String} \\N`;
    await client.command({
      query: `INSERT INTO ${table} (id, k, v, s, at) SELECT {id:UInt32}, 'evil', 0, {s:String}, {at:DateTime64(3, 'UTC')}`,
      query_params: { id: 9_000_000, s: evil, at: new Date('2024-05-06T07:08:09.123Z') },
    });
    const back = await rows<{ s: string; at: string }>(
      client,
      `SELECT s, toString(at) AS at FROM ${table} WHERE id = {id:UInt32} AND s = {s:String}`,
      { id: 9_000_000, s: evil },
    );
    assert.deepEqual(back, [{ s: evil, at: '2024-05-06 07:08:09.123' }]);
    const [exists] = await rows<{ e: number }>(client, `EXISTS TABLE ${table}`);
    assert.equal(Number(Object.values(exists ?? {})[0]), 1);

    const arr = ["a'b", 'c\\d', 'tab\there', 'nl\nhere', 'ü😀'];
    const [arrBack] = await rows<{ a: string[] }>(client, 'SELECT {a:Array(String)} AS a', { a: arr });
    assert.deepEqual(arrBack, { a: arr });
  });

  test('a syntax error is a ClickHouseError 62 SYNTAX_ERROR', async () => {
    // The client takes the first `(UPPER_CASE)` in the message as the type, on a server as here; `SELEC 1` would be
    // echoed as `(SELEC)`, so the probe is a statement whose error text quotes no upper-case word in parentheses.
    // `command` sends the text as is: `query` appends `FORMAT ...`, which the error text would then quote.
    const err = await rejection(client.command({ query: 'SELECT (1' }));
    assert.equal(err.code, '62');
    assert.equal(err.type, 'SYNTAX_ERROR');
  });

  test('several statements in one request are refused like a server does', async () => {
    const err = await rejection(client.command({ query: `SELECT 1; DROP TABLE ${table}` }));
    assert.equal(err.code, '62');
    const [still] = await rows<{ c: string }>(client, `SELECT toString(count()) AS c FROM ${table}`);
    assert.ok(Number(still?.c) >= rowCount);
  });

  test('an unknown table is code 60 with HTTP 404', async () => {
    const missing = `nope_${randomBytes(4).toString('hex')}`;
    const err = await rejection(client.query({ query: `SELECT * FROM ${missing}`, format: 'JSONEachRow' }));
    assert.equal(err.code, '60');
    assert.equal(err.type, 'UNKNOWN_TABLE');
    const raw = await fetch(`${url}/`, {
      method: 'POST',
      body: `SELECT * FROM ${missing}`,
      headers: { Authorization: authHeader() },
    });
    assert.equal(raw.status, 404);
    assert.equal(raw.headers.get('x-clickhouse-exception-code'), '60');
    assert.match(await raw.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version [^)]+\)\n$/s);
  });

  test('a parameter of the wrong type is code 457', async () => {
    const err = await rejection(
      client.query({ query: 'SELECT {n:UInt32} AS n', query_params: { n: 'not a number' }, format: 'JSONEachRow' }),
    );
    assert.equal(err.code, '457');
  });

  test('GET requests are read-only (164 READONLY)', async () => {
    const q = encodeURIComponent(`CREATE TABLE ${table}_ro (a UInt8) ENGINE = Memory`);
    const raw = await fetch(`${url}/?query=${q}`, { headers: { Authorization: authHeader() } });
    assert.equal(raw.headers.get('x-clickhouse-exception-code'), '164');
    assert.equal(raw.status, 500);
    await raw.text();
  });

  test('a wrong password is refused with 516', async () => {
    const bad = newClient({ password: `${password}-wrong` });
    try {
      const err = await rejection(bad.query({ query: 'SELECT 1', format: 'JSONEachRow' }));
      assert.equal(err.code, '516');
    } finally {
      await bad.close();
    }
  });

  test('summary and identity headers come back like a server sends them', async () => {
    const rs = await client.query({ query: 'SELECT number FROM system.numbers LIMIT 5', format: 'JSONEachRow', query_id: 'qid-endpoint-test' });
    assert.equal(rs.query_id, 'qid-endpoint-test');
    assert.equal(rs.response_headers['x-clickhouse-query-id'], 'qid-endpoint-test');
    assert.equal(rs.response_headers['x-clickhouse-format'], 'JSONEachRow');
    const summary = JSON.parse(String(rs.response_headers['x-clickhouse-summary'])) as Record<string, string>;
    assert.equal(summary['result_rows'], '5');
    assert.equal(typeof summary['elapsed_ns'], 'string');
    assert.equal((await rs.json()).length, 5);
  });

  test('20 concurrent queries all succeed with their own parameters', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rows<{ n: string; c: string }>(
          client,
          `SELECT toString({i:UInt32}) AS n, toString(count()) AS c FROM ${table} WHERE id < {i:UInt32} * 1000`,
          { i },
        ),
      ),
    );
    results.forEach((r, i) => assert.deepEqual(r, [{ n: String(i), c: String(i * 1000) }]));
  });

  test('gzip request bodies and gzip responses work', async () => {
    const gz = newClient({ compression: { request: true, response: true } });
    try {
      await gz.insert({
        table,
        values: Array.from({ length: 1000 }, (_, i) => ({ id: 8_000_000 + i, k: 'gz', v: 1, s: 'z'.repeat(50), at: 0 })),
        format: 'JSONEachRow',
      });
      const rs = await gz.query({ query: `SELECT toString(count()) AS c FROM ${table} WHERE k = {k:String}`, query_params: { k: 'gz' }, format: 'JSONEachRow' });
      assert.equal(rs.response_headers['content-encoding'], 'gzip');
      assert.deepEqual(await rs.json(), [{ c: '1000' }]);
    } finally {
      await gz.close();
    }
  });

  test('a second concurrent request in the same session gets 373 SESSION_IS_LOCKED', async () => {
    const session_id = `s-${randomBytes(6).toString('hex')}`;
    const slow = client.query({ query: 'SELECT sleep(1.5) AS z', format: 'JSONEachRow', session_id });
    await new Promise((r) => setTimeout(r, 300));
    const err = await rejection(client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow', session_id }));
    assert.equal(err.code, '373');
    assert.equal(err.type, 'SESSION_IS_LOCKED');
    await (await slow).json();
    // once the first request is done the session is usable again
    assert.deepEqual(await (await client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow', session_id })).json(), [{ one: 1 }]);
  });

  test('data survives a down/up restart', async () => {
    const before = await clickhousePart.status(ctx);
    assert.ok(before.pid !== undefined, 'the endpoint on 8123 was not started by this stack (no pid file), so it cannot be restarted here');
    await clickhousePart.down(ctx);
    assert.equal((await clickhousePart.status(ctx)).running, false);
    const t0 = performance.now();
    await clickhousePart.up(ctx);
    ctx.progress(`warm restart in ${Math.round(performance.now() - t0)} ms`);
    const [after] = await rows<{ c: string }>(client, `SELECT toString(count()) AS c FROM ${table} WHERE id < {n:UInt32}`, { n: rowCount });
    assert.equal(after?.c, String(rowCount));
  });
});
