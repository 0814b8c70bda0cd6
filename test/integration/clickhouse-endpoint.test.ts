/**
 * The dev/CI ClickHouse endpoint must behave like a ClickHouse server towards `@clickhouse/client`; every check
 * here goes through the real client (or raw HTTP and raw sockets where the client hides what a server sends).
 * The tests run endpoints of their own (free ports, temporary data): they restart them and tighten their limits,
 * which must never touch the dev ClickHouse other processes use.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { startPrivateEndpoint } from '../support/clickhouse.ts';
import type { PrivateEndpoint } from '../support/clickhouse.ts';

const password = process.env['CLICKHOUSE_DEV_PASSWORD'] ?? '';
const table = `t_endpoint_${randomBytes(6).toString('hex')}`;
const rowCount = 100_000;

let client: ClickHouseClient;
let ep: PrivateEndpoint;
let url = '';

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
    const t0 = performance.now();
    ep = await startPrivateEndpoint();
    url = ep.url;
    ep.ctx.progress(`clickhouse up in ${Math.round(performance.now() - t0)} ms on ${url}`);
    client = newClient();
    await client.command({
      query: `CREATE TABLE ${table} (id UInt32, k LowCardinality(String), v UInt64, s String, at DateTime64(3, 'UTC'))
              ENGINE = MergeTree ORDER BY id`,
    });
  });

  after(async () => {
    await client?.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await client?.close();
    await ep?.stop();
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
    ep.ctx.progress(`inserted ${rowCount} rows in ${Math.round(performance.now() - t0)} ms`);
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

  test('an insert whose rows break a CHECK constraint is refused with 469 and writes nothing, as on a server', async () => {
    // Regression: the engine's streaming insert reported such an insert as written and stored nothing, so a client
    // (the analyzer's poison-row handling) never learnt which rows the table refused.
    const checked = `${table}_checked`;
    await client.command({ query: `CREATE TABLE ${checked} (a UInt32, CONSTRAINT small CHECK a < 100) ENGINE = MergeTree ORDER BY a` });
    try {
      await assert.rejects(
        client.insert({ table: checked, values: [{ a: 1 }, { a: 500 }, { a: 2 }], format: 'JSONEachRow' }),
        (err: unknown) => err instanceof ClickHouseError && err.code === '469',
      );
      const [none] = await rows<{ c: string }>(client, `SELECT toString(count()) AS c FROM ${checked}`);
      assert.equal(none?.c, '0');
      await client.insert({ table: checked, values: [{ a: 1 }, { a: 2 }], format: 'JSONEachRow' });
      const [two] = await rows<{ c: string }>(client, `SELECT toString(count()) AS c FROM ${checked}`);
      assert.equal(two?.c, '2');
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${checked}` });
    }
  });

  test('a RowBinary insert is read byte for byte, and one with a refused row gets 469 and writes nothing', async () => {
    // Regression: inline in the engine's query text, two line breaks in a row (any string, port or timestamp can
    // hold them in RowBinary) came back as "Cannot read all data"; a body of blanks only was taken for no data.
    const bin = `${table}_rowbinary`;
    await client.command({ query: `CREATE TABLE ${bin} (a UInt16, s String, t DateTime64(6, 'UTC'), CONSTRAINT small CHECK a < 60000) ENGINE = MergeTree ORDER BY tuple()` });
    const row = (a: number, str: string, us: bigint): Buffer => {
      const b = Buffer.from(str, 'utf8');
      const out = Buffer.alloc(2 + 1 + b.length + 8);
      out.writeUInt16LE(a, 0);
      out[2] = b.length;
      b.copy(out, 3);
      out.writeBigInt64LE(us, 3 + b.length);
      return out;
    };
    const insert = async (body: Buffer): Promise<void> => {
      const res = await client.exec({ query: `INSERT INTO ${bin} (a, s, t) FORMAT RowBinary`, values: Readable.from([body]) });
      for await (const _ of res.stream) { /* an insert answers nothing */ }
    };
    try {
      const strings = ['\n\n', ' ', '', '\r\n\r\n', 'é\0\n\n\t'];
      const rowsIn = strings.map((str, i) => row(0x0a0a + i, str, BigInt(-1 - i) * 0x0a0a0a0an));
      await insert(Buffer.concat(rowsIn));
      await insert(Buffer.concat([row(0x2020, '', 0x2020202020202020n)]));
      const back = await rows<{ a: number; h: string; t: string }>(client,
        `SELECT a, hex(s) AS h, toString(toUnixTimestamp64Micro(t)) AS t FROM ${bin} ORDER BY a`);
      assert.deepEqual(back, [
        ...strings.map((str, i) => ({ a: 0x0a0a + i, h: Buffer.from(str).toString('hex').toUpperCase(), t: String(BigInt(-1 - i) * 0x0a0a0a0an) })),
        { a: 0x2020, h: '', t: String(0x2020202020202020n) },
      ]);
      await assert.rejects(insert(Buffer.concat([row(1, 'ok', 0n), row(65_000, '\n\n', 0n)])),
        (err: unknown) => err instanceof ClickHouseError && err.code === '469');
      const [n] = await rows<{ c: string }>(client, `SELECT toString(count()) AS c FROM ${bin}`);
      assert.equal(n?.c, String(strings.length + 1));
    } finally {
      await client.command({ query: `DROP TABLE IF EXISTS ${bin}` });
    }
  });

  test('an empty result still carries the names and types rows a server sends', async () => {
    // Regression: the engine's stream yields no block for an empty result, and the header rows went missing
    // (Grafana reads a panel's columns from them).
    const rs = await client.query({ query: `SELECT id, s FROM ${table} WHERE id > 4000000000`, format: 'JSONCompactEachRowWithNamesAndTypes' });
    assert.deepEqual(await rs.json(), [['id', 's'], ['UInt32', 'String']]);
    const csv = await client.query({ query: `SELECT id FROM ${table} WHERE id > 4000000000`, format: 'CSVWithNames' });
    assert.equal(await csv.text(), '"id"\n');
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

  test('an empty INSERT is accepted and writes nothing, as on a server', async () => {
    const res = await fetch(`${url}/?query=${encodeURIComponent(`INSERT INTO ${table} FORMAT JSONEachRow`)}`, {
      method: 'POST',
      body: '',
      headers: { Authorization: authHeader() },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const summary = JSON.parse(res.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
    assert.equal(summary['written_rows'], '0');
    await client.insert({ table, values: [], format: 'JSONEachRow' });
  });

  test('an error after the first blocks arrives inside the stream, as the server 25.11+ sends it', async () => {
    // one row per block, slowly: the first blocks go out before the engine reaches the failing row
    const rs = await client.query({
      query: "SELECT number, throwIf(number = 10, 'boom') AS e, sleepEachRow(0.01) AS z FROM system.numbers",
      format: 'JSONEachRow',
      clickhouse_settings: { max_block_size: '1' },
    });
    assert.ok(rs.response_headers['x-clickhouse-exception-tag'], 'a streamed response names its exception tag');
    const err = await rejection(rs.json());
    assert.equal(err.code, '395');
    assert.match(err.message, /^boom: while executing/);
  });

  test('error bodies are compressed under enable_http_compression', async () => {
    const res = await fetch(`${url}/?enable_http_compression=1&query=${encodeURIComponent('SELECT * FROM nope_missing_table')}`, {
      headers: { Authorization: authHeader(), 'Accept-Encoding': 'gzip' },
    });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(await res.text(), /^Code: 60\. DB::Exception: /); // fetch decompresses
  });

  test('header formats stream as one output: names and types once, whatever the number of blocks', async () => {
    const q = 'SELECT number AS n, toString(number) AS s FROM numbers(100000)';
    const settings = { max_block_size: '1000' };
    const csv = await (await client.query({ query: q, format: 'CSVWithNamesAndTypes', clickhouse_settings: settings })).text();
    const lines = csv.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['"n","s"', '"UInt64","String"', '0,"0"']);
    assert.equal(lines.length, 100_002);
    const compact = await (await client.query({ query: q, format: 'JSONCompactEachRowWithNames', clickhouse_settings: settings })).json<unknown[]>();
    assert.deepEqual(compact[0], ['n', 's']);
    assert.equal(compact.length, 100_001);
    const res = await fetch(`${url}/?max_block_size=1000&query=${encodeURIComponent(`${q} FORMAT RowBinaryWithNamesAndTypes`)}`, { headers: { Authorization: authHeader() } });
    const bin = Buffer.from(await res.arrayBuffer());
    // 2 columns, names n and s, types UInt64 and String, then 100,000 rows of 8 bytes + a length-prefixed string
    const header = Buffer.from([2, 1, 0x6e, 1, 0x73, 6, ...Buffer.from('UInt64'), 6, ...Buffer.from('String')]);
    assert.deepEqual(bin.subarray(0, header.length), header);
    let expectedLength = header.length;
    for (let i = 0; i < 100_000; i++) expectedLength += 8 + 1 + String(i).length;
    assert.equal(bin.length, expectedLength);
  });

  test('WITH TOTALS and extremes come back complete, and progress rows come first', async () => {
    const q = 'SELECT number % 3 AS k, count() AS c FROM numbers(30) GROUP BY k WITH TOTALS ORDER BY k';
    const tsv = await (await client.query({ query: q, format: 'TabSeparated', clickhouse_settings: { extremes: 1 } })).text();
    assert.equal(tsv, '0\t10\n1\t10\n2\t10\n\n0\t30\n\n0\t10\n2\t10\n');
    const rows = await (await client.query({ query: q, format: 'JSONEachRowWithProgress' })).json<Record<string, unknown>>();
    assert.ok('progress' in (rows[0] ?? {}), JSON.stringify(rows[0]));
    assert.ok(rows.some((r) => 'totals' in r));
  });

  test('max_result_rows and max_execution_time are honoured by the engine, as on a server', async () => {
    const rowsErr = await rejection(
      (async () =>
        (await client.query({
          query: 'SELECT number FROM system.numbers',
          format: 'JSONEachRow',
          clickhouse_settings: { max_result_rows: '10', result_overflow_mode: 'throw' },
        })).json())(),
    );
    assert.equal(rowsErr.code, '396');
    const broken = await (await client.query({
      query: 'SELECT number FROM numbers(1000000)',
      format: 'JSONEachRow',
      clickhouse_settings: { max_result_rows: '10', result_overflow_mode: 'break', max_block_size: '10' },
    })).json();
    assert.ok(broken.length >= 10 && broken.length < 1_000_000, `break mode returned ${broken.length} rows`);
    const t0 = performance.now();
    const timeErr = await rejection(
      (async () =>
        (await client.query({
          query: 'SELECT count() FROM numbers(100000000000)',
          format: 'JSONEachRow',
          clickhouse_settings: { max_execution_time: 1 },
        })).json())(),
    );
    assert.equal(timeErr.code, '159');
    ep.ctx.progress(`max_execution_time=1 stopped the query after ${Math.round(performance.now() - t0)} ms`);
  });

  test('settings of one request never leak into the next', async () => {
    await client.query({ query: 'SELECT 1', format: 'JSONEachRow', clickhouse_settings: { max_threads: 1, max_block_size: '77' } });
    const all = await Promise.all(
      Array.from({ length: 8 }, async () => rows<{ v: string }>(client, "SELECT toString(getSetting('max_block_size')) AS v")),
    );
    for (const r of all) assert.notEqual(r[0]?.v, '77');
    // a setting the engine refuses in SET is passed inside the query instead
    assert.deepEqual(await rows(client, 'SELECT 1 AS one', undefined), [{ one: 1 }]);
    const bg = await client.query({ query: 'SELECT 2 AS two', format: 'JSONEachRow', clickhouse_settings: { run_query_in_background: 0 } as Record<string, number> });
    assert.deepEqual(await bg.json(), [{ two: 2 }]);
  });

  test('data survives a down/up restart', async () => {
    const before = await ep.part.status(ep.ctx);
    assert.ok(before.pid !== undefined);
    await ep.part.down(ep.ctx);
    assert.equal((await ep.part.status(ep.ctx)).running, false);
    const t0 = performance.now();
    await ep.part.up(ep.ctx);
    ep.ctx.progress(`warm restart in ${Math.round(performance.now() - t0)} ms`);
    const [after] = await rows<{ c: string }>(client, `SELECT toString(count()) AS c FROM ${table} WHERE id < {n:UInt32}`, { n: rowCount });
    assert.equal(after?.c, String(rowCount));
  });
});

interface Exchange {
  readonly text: string;
  /** HTTP status lines the server sent back, in order. */
  readonly statuses: number[];
  /** The server closed the connection (rather than the wait running out). */
  readonly closedByServer: boolean;
}

/** Writes raw bytes on one connection and collects everything the server answers until it closes or `waitMs`. */
function exchange(port: number, parts: readonly (string | Buffer)[], waitMs = 3_000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: '127.0.0.1', port });
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ text, statuses, closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (err) => (chunks.length > 0 ? finish(true) : reject(err)));
    sock.on('connect', () => {
      void (async () => {
        for (const p of parts) {
          const pause = typeof p === 'string' ? undefined : (p as { delayMs?: number }).delayMs;
          if (pause !== undefined) await new Promise((r) => setTimeout(r, pause));
          if (!sock.destroyed) sock.write(p);
        }
      })();
    });
  });
}

const pingRequest = 'GET /ping HTTP/1.1\r\nHost: x\r\n\r\n';

async function pingMs(base: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(await res.text(), 'Ok.\n');
  return performance.now() - t0;
}

async function processesLike(base: string, marker: string): Promise<number> {
  const q = `SELECT count() FROM system.processes WHERE query LIKE '%${marker}%' AND query NOT LIKE '%system.processes%'`;
  const res = await fetch(`${base}/?query=${encodeURIComponent(q)}`, { headers: { Authorization: authHeader() } });
  const text = (await res.text()).trim();
  assert.equal(res.status, 200, text);
  return Number(text);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

describe('dev ClickHouse endpoint under hostile or heavy clients', () => {
  // tight limits, so every bound is reached with a few requests
  let tight: PrivateEndpoint;
  const auth = () => `Authorization: ${authHeader()}\r\n`;

  before(async () => {
    tight = await startPrivateEndpoint([
      '--max-body-bytes', '65536', '--max-connections', '6', '--engine-connections', '2', '--engine-wait-ms', '300',
      '--max-result-bytes', '2000000',
    ]);
  });

  after(async () => {
    await tight?.stop();
  });

  test('a bad Content-Length answers 400 and closes: the body is never read as the next request', async () => {
    for (const bad of ['abc', '-5', '1e3', '5, 6']) {
      const r = await exchange(tight.port, [
        `POST /?query=SELECT%201 HTTP/1.1\r\nHost: x\r\n${auth()}Content-Length: ${bad}\r\n\r\n${pingRequest}`,
      ]);
      assert.deepEqual(r.statuses, [400], `Content-Length: ${bad}: ${r.text}`);
      assert.equal(r.closedByServer, true);
      assert.match(r.text, /Code: 1000\. DB::Exception: (Invalid|Conflicting) Content-Length/);
      assert.doesNotMatch(r.text, /Ok\./);
    }
  });

  test('Content-Length together with Transfer-Encoding is refused and the connection closed', async () => {
    const r = await exchange(tight.port, [
      `POST / HTTP/1.1\r\nHost: x\r\n${auth()}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n8\r\nSELECT 1\r\n0\r\n\r\n${pingRequest}`,
    ]);
    assert.deepEqual(r.statuses, [400]);
    assert.equal(r.closedByServer, true);
  });

  test('an oversized chunked body answers 413 and closes the connection; a bad chunk size answers 400', async () => {
    const head = `POST / HTTP/1.1\r\nHost: x\r\n${auth()}Transfer-Encoding: chunked\r\n\r\n`;
    const piece = `1000\r\n${'x'.repeat(0x1000)}\r\n`;
    const r = await exchange(tight.port, [head, "8\r\nSELECT '\r\n", ...Array.from({ length: 100 }, () => piece), `0\r\n\r\n${pingRequest}`]);
    assert.deepEqual(r.statuses, [413], r.text.slice(0, 300));
    assert.match(r.text, /Code: 393\. .*QUERY_IS_TOO_LARGE/);
    assert.equal(r.closedByServer, true);

    const bad = await exchange(tight.port, [`${head}zz\r\nSELECT 1\r\n0\r\n\r\n${pingRequest}`]);
    assert.deepEqual(bad.statuses, [400]);
    assert.match(bad.text, /Invalid chunk size 'zz'/);
    assert.equal(bad.closedByServer, true);
  });

  test('a chunked request cut at every offset is read whole: one response, the right answer', async () => {
    const sql = "SELECT 'cut-anywhere' AS s, 40 + 2 AS n FORMAT JSONEachRow";
    const body = `${(10).toString(16)}\r\n${sql.slice(0, 10)}\r\n${(sql.length - 10).toString(16)};ext=1\r\n${sql.slice(10)}\r\n0\r\n\r\n`;
    const request = Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\n${auth()}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`);
    for (let cut = 1; cut < request.length; cut++) {
      const r = await exchangeSplit(tight.port, request, cut);
      assert.deepEqual(r.statuses, [200], `cut at ${cut}: ${r.text.slice(0, 200)}`);
      assert.match(r.text, /\r\n\r\n\{"s":"cut-anywhere","n":42\}\n$/, `cut at ${cut}`);
    }
  });

  test('a wrong password is refused on the headers alone, before any of the body is sent', async () => {
    const wrong = Buffer.from('default:not-the-password').toString('base64');
    const r = await exchange(tight.port, [
      `POST /?query=INSERT%20INTO%20x%20FORMAT%20CSV HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${wrong}\r\nContent-Length: 50000000\r\n\r\n`,
    ]);
    assert.deepEqual(r.statuses, [403]);
    assert.match(r.text, /Code: 516\./);
    assert.equal(r.closedByServer, true);
  });

  test('connections past --max-connections get 503 at once; a freed slot serves again', async () => {
    const held = await Promise.all(Array.from({ length: 6 }, () => openKeptAlive(tight.port)));
    try {
      const r = await exchange(tight.port, [pingRequest]);
      assert.deepEqual(r.statuses, [503]);
      assert.match(r.text, /Code: 202\. .*--max-connections/);
    } finally {
      for (const s of held) s.destroy();
    }
    await waitUntil(async () => (await exchange(tight.port, [pingRequest], 1_000)).statuses[0] === 200, 5_000);
  });

  test('a query waits for a busy engine at most --engine-wait-ms, then gets Code 202; /ping answers throughout', async () => {
    const slowQuery = () => fetch(`${tight.url}/?query=${encodeURIComponent('SELECT sleep(2)')}`, { headers: { Authorization: authHeader() } });
    const slow = [slowQuery(), slowQuery()];
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const second = await fetch(`${tight.url}/?query=${encodeURIComponent('SELECT 1')}`, { headers: { Authorization: authHeader() } });
    const waited = performance.now() - t0;
    assert.equal(second.status, 503);
    assert.equal(second.headers.get('x-clickhouse-exception-code'), '202');
    assert.match(await second.text(), /all 2 engine connections .* busy for 300 ms/);
    assert.ok(waited < 1_500, `answered after ${Math.round(waited)} ms`);
    assert.ok((await pingMs(tight.url)) < 1_000);
    for (const res of await Promise.all(slow)) assert.equal((await res.text()).trim(), '0');
  });

  test('an unbounded SELECT streams; the client hanging up frees the engine and /ping answers throughout', async () => {
    const c = createClient({ url: tight.url, username: 'default', password, log: { level: ClickHouseLogLevel.OFF } });
    const pings: number[] = [];
    let pinging = true;
    const pinger = (async () => {
      while (pinging) {
        pings.push(await pingMs(tight.url));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      // a query may lift the endpoint's default result cap, as any setting
      const rs = await c.query({
        query: 'SELECT * FROM system.numbers /* unbounded-stream */',
        format: 'JSONEachRow',
        clickhouse_settings: { max_result_bytes: '0' },
      });
      let seen = 0;
      for await (const rows of rs.stream()) {
        seen += rows.length;
        if (seen >= 200_000) break; // leaving the loop destroys the response stream
      }
      assert.ok(seen >= 200_000);
      const freedIn = await waitUntil(async () => (await processesLike(tight.url, 'unbounded-stream')) === 0, 5_000);
      ep.ctx.progress(`engine freed ${Math.round(freedIn)} ms after the client hung up; pings max ${Math.round(Math.max(...pings))} ms`);
      // the single engine connection is free again
      assert.deepEqual(await rows(c, 'SELECT 7 AS n'), [{ n: 7 }]);
    } finally {
      pinging = false;
      await pinger;
      await c.close();
    }
    assert.ok(pings.length > 0 && pings.every((ms) => ms < 1_000), `pings: ${pings.map(Math.round).join(',')}`);
  });

  test('a query still computing its first block is killed when its client hangs up', async () => {
    const ac = new AbortController();
    const q = 'SELECT count() FROM numbers(100000000000) /* blocked-first-block */';
    const pending = fetch(`${tight.url}/?query=${encodeURIComponent(q)}`, { headers: { Authorization: authHeader() }, signal: ac.signal }).catch(() => undefined);
    await waitUntil(async () => (await processesLike(tight.url, 'blocked-first-block')) === 1, 5_000);
    ac.abort();
    await pending;
    const freedIn = await waitUntil(async () => (await processesLike(tight.url, 'blocked-first-block')) === 0, 5_000);
    ep.ctx.progress(`blocked query killed ${Math.round(freedIn)} ms after the client hung up`);
  });

  test('the default result cap (--max-result-bytes) stops a runaway result with Code 396 inside the stream', async () => {
    const c = createClient({ url: tight.url, username: 'default', password, log: { level: ClickHouseLogLevel.OFF } });
    try {
      // refused before the first byte went out (a plain HTTP error) or inside the stream: the cap holds either way
      const err = await rejection((async () => (await c.query({ query: 'SELECT number FROM system.numbers', format: 'JSONEachRow' })).json())());
      assert.equal(err.code, '396');
    } finally {
      await c.close();
    }
  });

  test('INSERT data is streamed to the engine: a body far above --max-body-bytes is accepted', async () => {
    const name = `t_stream_${randomBytes(4).toString('hex')}`;
    const c = createClient({ url: tight.url, username: 'default', password, log: { level: ClickHouseLogLevel.OFF } });
    try {
      await c.command({ query: `CREATE TABLE ${name} (id UInt32, s String) ENGINE = MergeTree ORDER BY id` });
      const n = 20_000; // ~1 MB of JSON against a 64 KiB body limit
      await c.insert({ table: name, values: Array.from({ length: n }, (_, id) => ({ id, s: 'y'.repeat(30) })), format: 'JSONEachRow' });
      assert.deepEqual(await rows(c, `SELECT toString(count()) AS c FROM ${name}`), [{ c: String(n) }]);
    } finally {
      await c.command({ query: `DROP TABLE IF EXISTS ${name}` }).catch(() => undefined);
      await c.close();
    }
  });
});

/** One request written in two pieces, cut at `cut`, the second after the first has surely been read. */
async function exchangeSplit(port: number, request: Buffer, cut: number): Promise<Exchange> {
  return exchange(port, [request.subarray(0, cut), delayed(request.subarray(cut))]);
}

/** A marker `exchange` waits on before writing: lets a test put a pause between two writes. */
function delayed(data: Buffer): Buffer & { delayMs?: number } {
  return Object.assign(Buffer.from(data), { delayMs: 5 });
}

function openKeptAlive(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('error', reject);
    sock.once('data', () => resolve(sock));
    sock.on('connect', () => sock.write(pingRequest));
  });
}
