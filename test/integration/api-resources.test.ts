/**
 * The guard and rating routes in the real API server: `buildApiServer` with `buildApiResources` against the real
 * Kafka (the blocklist replica, the mod_json_cdr topic), a fresh ClickHouse database (CDRs, alerts) and the real
 * CGRateS (accounts, cost), through the real auth hook. Auth and tenancy on every route, responses against the
 * published OpenAPI schemas, the CDR CSV export row for row against the JSON pages, masking, CGRateS not configured,
 * and a property test on `/v1/cdrs` query parameters.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApiResources, type ApiResources } from '../../services/api/resources.ts';
import type { ApiServer } from '../../services/api/server.ts';
import { buildApiServer } from '../../services/api/service.ts';
import { AlertBook } from '../../services/guard/alerts.ts';
import { alertRow } from '../../services/guard/service.ts';
import { JSON_CDR_TOPIC_SUFFIX } from '../../services/rating/json-cdr-feed.ts';
import type { CdrRecord } from '../../services/rating/core/cdr.ts';
import { cdrRow } from '../../services/rating/store/cdr-rows.ts';
import { loadConfig } from '../../services/settings.ts';
import { CGRATES_SKIP_REASON, cgrEngineBinary, startCgrates, type CgratesEngine } from '../support/cgrates.ts';
import { ratingDatabase, type RatingDb } from '../support/rating-harness.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const skip = cgrEngineBinary() ? false : CGRATES_SKIP_REASON;
if (skip) process.stderr.write(`skipping API resources test: ${skip}\n`);

const KEYS = {
  bill: 'bill-key-0123456789abcdef012345',
  acmeBill: 'acme-bill-key-0123456789abcdef01',
  fraud: 'fraud-key-0123456789abcdef01234',
  acmeFraud: 'acme-fraud-key-0123456789abcdef0',
  noc: 'noc-key-0123456789abcdef0123456',
  pii: 'pii-key-0123456789abcdef01234567',
} as const;
const API_KEYS = [
  `bill:${KEYS.bill}:billing.read`, `acmebill:${KEYS.acmeBill}:billing.read@acme`, `fraud:${KEYS.fraud}:fraud.read+fraud.write`,
  `acmefraud:${KEYS.acmeFraud}:fraud.read@acme`, `noc:${KEYS.noc}:calls.read`, `pii:${KEYS.pii}:billing.read+pii.read`,
].join(',');

// The CDRs end on 2026-11-01 between 10:00 and 10:01 UTC.
const RANGE = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';
const N_CDRS = 25;

function record(i: number, tenant: string): CdrRecord {
  const base = Date.UTC(2026, 10, 1, 10, 0, 0) * 1000;
  return {
    facts: { uniqueId: `leg-${String(i).padStart(3, '0')}`, node: 'fs1', originHost: 'fs1', tenant, account: `100${i % 3}`, subject: '1001', destination: '442071234567', category: 'call',
      reqtype: '*postpaid', sipCallId: `call-${i}@h`, caller: `49301112${String(i).padStart(2, '0')}`, callee: '442071234567', direction: 'inbound', dialplan: 'XML', context: 'default', createdUs: base + i * 1e6 },
    timing: { createdUs: base + i * 1e6, answeredUs: i % 4 === 3 ? 0 : base + i * 1e6 + 500_000, endedUs: base + i * 1e6 + 10_500_000, progressMediaMs: 200, hangupCause: 'NORMAL_CLEARING', q850: 16, sipDisposition: 'recv_bye', sipTermStatus: '200', source: 'event' },
    decision: 'not_prepaid', maxUsageMs: 0, sessionInitiated: false, sessionTerminated: false, ratingStatus: i % 4 === 3 ? 'unanswered' : 'rated', ratingError: '',
    ratingAttempts: 1, cost: i % 4 === 3 ? null : 0.1 * i, costSource: '*cdrs', cgrId: `cg${i}`, ratingDetails: '',
  };
}

/** RFC 4180 lines → fields (quotes, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += ch;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

describe('API server with the guard and rating resources (real Kafka, ClickHouse, CGRateS)', { skip, timeout: 300_000 }, () => {
  let db: RatingDb;
  let cgr: CgratesEngine;
  let kafka: Kafka;
  let prefix = '';
  let api: ApiServer;
  let masked: ApiServer;
  let deadCgrates: ApiServer;
  const resources: ApiResources[] = [];
  let acmeAlertId = '';
  let betaAlertId = '';

  before(async () => {
    const brokers = process.env['KAFKA_BROKERS']?.split(',') ?? (await ensureLocalStack()).kafkaBrokers;
    [db, cgr] = await Promise.all([ratingDatabase(), startCgrates()]);
    const rows = [];
    for (let i = 0; i < N_CDRS; i++) rows.push(cdrRow(record(i, i % 5 === 0 ? 'beta' : 'acme'), 1));
    await db.store.insert('cdrs', rows);
    const book = new AlertBook({ resolveAfterMs: 60_000, updateEveryMs: 0 });
    const t = Date.now();
    const mk = (subject: string, tenant: string) => book.apply({
      detector: 'tollfraud', rule: 'r', severity: 'critical', subject: { kind: 'account', value: subject }, tenant, at: t, block: [],
      evidence: { count: 9, threshold: 5, windowMs: 60_000, detail: `${subject} over limit`, callIds: ['c-1'] },
    }, t)!.alert;
    const a = mk('acme/1001', 'acme');
    const b = mk('beta/2002', 'beta');
    acmeAlertId = a.id;
    betaAlertId = b.id;
    await db.store.insert('alerts', [a, b].map((x) => alertRow(x, 'test')));

    prefix = `${uniqueName('tgapires')}.`;
    kafka = new Kafka({ clientId: 'api-resources-test', brokers, logLevel: logLevel.NOTHING });
    const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
    const env = {
      API_HOST: '127.0.0.1', API_PORT: '1', API_KEYS, API_MAX_RANGE: '31d', API_RATE_LIMIT: '100000', KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1', RATING_JSON_CDR_CREDENTIALS: 'fs:secret-1234',
    };
    const build = (extra: Record<string, string>, cgratesUrl: string | undefined): ApiServer => {
      const config = { ...loadConfig({ ...env, ...extra }), apiPort: 0 };
      const r = buildApiResources({ ...config, cgratesUrl }, { kafka, store: db.store, log });
      resources.push(r);
      return buildApiServer(config, { store: db.store, log, registry: new Registry(), health: () => ({ status: 'ok', components: {} }), routes: r.routes });
    };
    api = build({}, cgr.url);
    // A second API: numbers masked, CGRateS not configured, its own blocklist replica (another node name).
    masked = build({ API_MASK_NUMBERS: 'true', TOLLGATE_NODE: 'masked-api' }, undefined);
    // A third: CGRATES_URL set to a loopback port nothing listens on (the default URL with no CGRateS behind it).
    const idle = http.createServer();
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    const deadPort = (idle.address() as AddressInfo).port;
    await new Promise<void>((resolve) => idle.close(() => resolve()));
    deadCgrates = build({ TOLLGATE_NODE: 'dead-cgrates-api' }, `http://127.0.0.1:${deadPort}/jsonrpc`);
    for (const r of resources) for (const c of r.components) await c.start();
    await api.start();
    await masked.start();
    await deadCgrates.start();
  });

  after(async () => {
    await api?.close();
    await masked?.close();
    await deadCgrates?.close();
    for (const r of resources) for (const c of [...r.components].reverse()) await c.close();
    await cgr?.stop();
    await db?.drop();
    if (kafka !== undefined) {
      const admin = kafka.admin();
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.disconnect();
    }
  });

  const call = (server: ApiServer, method: 'GET' | 'POST' | 'DELETE', url: string, key: string | null, body?: object, headers: Record<string, string> = {}) =>
    server.app.inject({ method, url, ...(body ? { payload: body } : {}), headers: { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...headers } });

  async function allPages(server: ApiServer, first: string, key: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let url: string | null = first;
    let pages = 0;
    while (url !== null) {
      const r = await call(server, 'GET', url, key);
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as { items: Array<Record<string, unknown>>; next: string | null };
      items.push(...body.items);
      if (body.next !== null) {
        assert.equal(r.headers['link'], `<${body.next}>; rel="next"`);
        const u = new URL(body.next);
        url = u.pathname + u.search;
      } else url = null;
      assert.ok(++pages < 100);
    }
    return items;
  }

  describe('auth and tenancy on every guard and rating route', () => {
    // [name, method, own url, body, key with the scope (tenant acme where the route is tenanted), key without it,
    //  the other-tenant request, its status, the right-key status]
    type Route = { name: string; method: 'GET' | 'POST' | 'DELETE'; url: string; body?: object; right: string; noScope: string;
      other: { url: string; body?: object; key: string; status: number }; okStatus: number };
    const routes = (): Route[] => [
      { name: 'cdrs', method: 'GET', url: `/v1/cdrs?${RANGE}`, right: KEYS.acmeBill, noScope: KEYS.fraud,
        other: { url: `/v1/cdrs?${RANGE}&tenant=beta`, key: KEYS.acmeBill, status: 403 }, okStatus: 200 },
      { name: 'cdrs csv', method: 'GET', url: `/v1/cdrs?${RANGE}&format=csv`, right: KEYS.acmeBill, noScope: KEYS.noc,
        other: { url: `/v1/cdrs?${RANGE}&format=csv&tenant=beta`, key: KEYS.acmeBill, status: 403 }, okStatus: 200 },
      { name: 'account', method: 'GET', url: '/v1/accounts/1003', right: KEYS.bill, noScope: KEYS.fraud,
        other: { url: '/v1/accounts/1003?tenant=cgrates.org', key: KEYS.acmeBill, status: 403 }, okStatus: 200 },
      { name: 'cost', method: 'POST', url: '/v1/rating/cost', body: { destination: '441632960123', duration: '90s', subject: '1003' }, right: KEYS.bill, noScope: KEYS.noc,
        other: { url: '/v1/rating/cost', body: { destination: '441632960123', duration: '90s', subject: '1003', tenant: 'cgrates.org' }, key: KEYS.acmeBill, status: 403 }, okStatus: 200 },
      { name: 'alerts', method: 'GET', url: '/v1/alerts', right: KEYS.acmeFraud, noScope: KEYS.bill,
        other: { url: '/v1/alerts?tenant=beta', key: KEYS.acmeFraud, status: 403 }, okStatus: 200 },
      { name: 'alert', method: 'GET', url: `/v1/alerts/${acmeAlertId}`, right: KEYS.acmeFraud, noScope: KEYS.bill,
        other: { url: `/v1/alerts/${betaAlertId}`, key: KEYS.acmeFraud, status: 404 }, okStatus: 200 },
      // The blocklist is one list across tenants: a tenant key may read it, never change it.
      { name: 'blocklist', method: 'GET', url: '/v1/blocklist', right: KEYS.acmeFraud, noScope: KEYS.bill,
        other: { url: '/v1/blocklist', key: KEYS.acmeFraud, status: 200 }, okStatus: 200 },
      { name: 'block', method: 'POST', url: '/v1/blocklist', body: { ip: '198.51.100.7', reason: 'matrix test' }, right: KEYS.fraud, noScope: KEYS.acmeFraud,
        other: { url: '/v1/blocklist', body: { ip: '198.51.100.7', reason: 'matrix test' }, key: KEYS.acmeFraud, status: 403 }, okStatus: 201 },
      { name: 'one block', method: 'GET', url: '/v1/blocklist/198.51.100.7', right: KEYS.fraud, noScope: KEYS.bill,
        other: { url: '/v1/blocklist/198.51.100.7', key: KEYS.acmeFraud, status: 200 }, okStatus: 200 },
      { name: 'unblock', method: 'DELETE', url: '/v1/blocklist/198.51.100.7', right: KEYS.fraud, noScope: KEYS.bill,
        other: { url: '/v1/blocklist/198.51.100.7', key: KEYS.acmeFraud, status: 403 }, okStatus: 200 },
    ];

    it('no key 401, wrong key 401, missing scope 403, other tenant 403/404, right key 2xx', async () => {
      for (const r of routes()) {
        const cases: Array<[string, string | null, Record<string, string>, string, object | undefined, number]> = [
          ['no key', null, {}, r.url, r.body, 401],
          ['wrong key', 'not-a-key-0123456789abcdef', {}, r.url, r.body, 401],
          ['wrong X-API-Key', null, { 'x-api-key': 'not-a-key-0123456789abcdef' }, r.url, r.body, 401],
          ['missing scope', r.noScope, {}, r.url, r.body, 403],
          ['other tenant', r.other.key, {}, r.other.url, r.other.body, r.other.status],
          ['right key', r.right, {}, r.url, r.body, r.okStatus],
        ];
        for (const [what, key, headers, url, body, status] of cases) {
          const res = await call(api, r.method, url, key, body, headers);
          assert.equal(res.statusCode, status, `${r.name}: ${what}: ${res.body.slice(0, 300)}`);
          if (status >= 400) assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${r.name}: ${what}`);
        }
      }
    });

    it('a tenant-bound key sees only its tenant\'s CDRs and alerts; the exact bodies', async () => {
      const acme = await allPages(api, `/v1/cdrs?${RANGE}&limit=6`, KEYS.acmeBill);
      assert.equal(acme.length, 20);
      assert.ok(acme.every((c) => c['tenant'] === 'acme'));
      const all = await allPages(api, `/v1/cdrs?${RANGE}&limit=1000`, KEYS.bill);
      assert.deepEqual(all.map((c) => c['unique_id']), Array.from({ length: N_CDRS }, (_, i) => `leg-${String(N_CDRS - 1 - i).padStart(3, '0')}`));
      assert.deepEqual(all.find((c) => c['unique_id'] === 'leg-007'), {
        unique_id: 'leg-007', tenant: 'acme', node: 'fs1', sip_call_id: 'call-7@h', direction: 'inbound', caller: '4930111207', callee: '442071234567',
        account: '1001', subject: '1001', destination: '442071234567', category: 'call', request_type: '*postpaid',
        created_at: '2026-11-01T10:00:07.000000Z', answered_at: null, ended_at: '2026-11-01T10:00:17.500000Z', duration_ms: 10_500, billsec: 0, billmsec: 0,
        pdd_ms: 200, hangup_cause: 'NORMAL_CLEARING', hangup_cause_q850: 16, sip_hangup_disposition: 'recv_bye', disposition: 'no_answer',
        timing_source: 'event', estimated: false, decision: 'not_prepaid', max_usage_ms: 0, rating_status: 'unanswered', rating_error: '', rating_attempts: 1,
        cost: null, cost_source: '*cdrs', cgr_id: 'cg7',
      });
      const alerts = (await call(api, 'GET', '/v1/alerts', KEYS.acmeFraud)).json() as { items: Array<{ id: string; tenant: string }>; next: null };
      assert.deepEqual(alerts.items.map((x) => [x.id, x.tenant]), [[acmeAlertId, 'acme']]);
      assert.equal(alerts.next, null);
      const both = (await call(api, 'GET', '/v1/alerts', KEYS.fraud)).json() as { items: Array<{ id: string }> };
      assert.deepEqual(new Set(both.items.map((x) => x.id)), new Set([acmeAlertId, betaAlertId]));
    });
  });

  it('the CDR CSV export holds the JSON pages row for row, by format=csv and by Accept: text/csv', async () => {
    const json = await allPages(api, `/v1/cdrs?${RANGE}&limit=4`, KEYS.bill);
    assert.equal(json.length, N_CDRS);
    for (const [how, url, headers] of [['format=csv', `/v1/cdrs?${RANGE}&format=csv`, {}], ['Accept', `/v1/cdrs?${RANGE}`, { accept: 'text/csv' }]] as const) {
      const r = await call(api, 'GET', url, KEYS.bill, undefined, headers);
      assert.equal(r.statusCode, 200, how);
      assert.match(String(r.headers['content-type']), /^text\/csv/, how);
      assert.equal(r.headers['content-disposition'], 'attachment; filename="cdrs.csv"');
      const [head, ...rows] = parseCsv(r.body);
      assert.deepEqual(head, Object.keys(json[0]!), how);
      assert.equal(rows.length, json.length, how);
      rows.forEach((row, i) => assert.deepEqual(row, head!.map((k) => {
        const v = json[i]![k];
        return v === null || v === undefined ? '' : String(v);
      }), `${how} row ${i}`));
    }
    // The export starts where a page's cursor says, for the same filters only.
    const page1 = (await call(api, 'GET', `/v1/cdrs?${RANGE}&limit=10`, KEYS.bill)).json() as { next: string };
    const rest = await call(api, 'GET', `${new URL(page1.next).pathname}${new URL(page1.next).search}&format=csv`, KEYS.bill);
    assert.equal(parseCsv(rest.body).length - 1, N_CDRS - 10);
    const cursor = new URL(page1.next).searchParams.get('cursor')!;
    const other = await call(api, 'GET', `/v1/cdrs?${RANGE}&limit=10&node=fs1&cursor=${cursor}`, KEYS.bill);
    assert.equal(other.statusCode, 422);
    assert.equal(other.json().param, 'cursor');
  });

  it('alerts page by last seen with a next link, and export the same rows as CSV', async () => {
    const pages = await allPages(api, '/v1/alerts?limit=1', KEYS.fraud);
    assert.equal(pages.length, 2);
    assert.deepEqual(new Set(pages.map((a) => a['id'])), new Set([acmeAlertId, betaAlertId]));
    const csv = await call(api, 'GET', '/v1/alerts?format=csv', KEYS.fraud);
    assert.equal(csv.statusCode, 200);
    const [head, ...rows] = parseCsv(csv.body);
    assert.deepEqual(head!.slice(0, 3), ['id', 'detector', 'rule']);
    assert.deepEqual(rows.map((r) => r[0]), pages.map((a) => a['id']));
    assert.deepEqual(rows.map((r) => r[head!.indexOf('tenant')]), pages.map((a) => a['tenant']));
    const acmeCsv = parseCsv((await call(api, 'GET', '/v1/alerts?format=csv', KEYS.acmeFraud)).body);
    assert.deepEqual(acmeCsv.slice(1).map((r) => r[0]), [acmeAlertId]);
    // A range that ends before the alerts were seen holds none.
    const old = (await call(api, 'GET', '/v1/alerts?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', KEYS.fraud)).json();
    assert.deepEqual(old, { items: [], next: null });
  });

  it('every response matches the schema published in /openapi.json', async () => {
    const spec = (await call(api, 'GET', '/openapi.json', null)).json();
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    for (const [name, schema] of Object.entries(spec.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
    const cases: Array<[string, 'get' | 'post', string, object | undefined, string]> = [
      ['/v1/cdrs', 'get', `/v1/cdrs?${RANGE}&limit=5`, undefined, KEYS.bill],
      ['/v1/accounts/{account}', 'get', '/v1/accounts/1003', undefined, KEYS.bill],
      ['/v1/rating/cost', 'post', '/v1/rating/cost', { destination: '441632960123', duration: '90s', subject: '1003' }, KEYS.bill],
      ['/v1/alerts', 'get', '/v1/alerts', undefined, KEYS.fraud],
      ['/v1/blocklist', 'get', '/v1/blocklist', undefined, KEYS.fraud],
    ];
    for (const [path, method, url, body, key] of cases) {
      const op = spec.paths[path]?.[method];
      assert.ok(op, `${method} ${path} is published`);
      const validate = ajv.compile(op.responses['200'].content['application/json'].schema);
      const res = await call(api, method === 'get' ? 'GET' : 'POST', url, key, body);
      assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
      assert.ok(validate(res.json()), `${path}: ${JSON.stringify(validate.errors)}`);
    }
    const cost = (await call(api, 'POST', '/v1/rating/cost', KEYS.bill, { destination: '441632960123', duration: '90s', subject: '1003' })).json();
    assert.equal(cost.cost, 0.9);
    assert.equal((await call(api, 'GET', '/v1/accounts/1003', KEYS.bill)).json().balance, 10);
    const validateProblem = ajv.compile(spec.components.schemas.Problem);
    for (const [url, key] of [['/v1/cdrs?limit=0', KEYS.bill], ['/v1/cdrs?cursor=junk', KEYS.bill], ['/v1/accounts/nobody', KEYS.bill], ['/v1/alerts?from=yesterday', KEYS.fraud]] as const) {
      const r = await call(api, 'GET', url, key);
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${url}: ${r.statusCode}`);
      assert.ok(validateProblem(r.json()), `${url}: ${JSON.stringify(validateProblem.errors)}`);
    }
  });

  it('masks CDR numbers without pii.read and refuses an account filter; CGRateS unset or not answering is a 503 naming it', async () => {
    const m = (await call(masked, 'GET', `/v1/cdrs?${RANGE}&unique_id=leg-007`, KEYS.bill)).json().items[0];
    assert.deepEqual([m.caller, m.callee, m.account, m.destination], ['493*******', '442*********', '****', '442*********']);
    const clear = (await call(masked, 'GET', `/v1/cdrs?${RANGE}&unique_id=leg-007`, KEYS.pii)).json().items[0];
    assert.equal(clear.caller, '4930111207');
    const csv = (await call(masked, 'GET', `/v1/cdrs?${RANGE}&format=csv`, KEYS.bill)).body;
    assert.ok(!csv.includes('4930111207') && csv.includes('493*******'));
    const f = await call(masked, 'GET', `/v1/cdrs?${RANGE}&account=1001`, KEYS.bill);
    assert.equal(f.statusCode, 403);
    assert.equal(f.json().param, 'account');
    for (const [method, url, body] of [['GET', '/v1/accounts/1003', undefined], ['POST', '/v1/rating/cost', { destination: '4420', duration: '60s', subject: '1003' }]] as const) {
      const r = await call(masked, method, url, KEYS.bill, body);
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(r.json().dependency, 'cgrates');
      assert.match(r.json().detail, /CGRATES_URL/);
      assert.equal(r.headers['retry-after'], '5');
      const dead = await call(deadCgrates, method, url, KEYS.bill, body);
      assert.equal(dead.statusCode, 503, dead.body);
      assert.equal(dead.json().dependency, 'cgrates');
      assert.equal(dead.headers['retry-after'], '5');
    }
  });

  it('mod_json_cdr posts are published to the topic the rating service consumes, only with the credentials', async () => {
    const doc = { variables: { uuid: 'json-cdr-uuid-1', billsec: '3' }, callflow: [] };
    const basic = (c: string) => `Basic ${Buffer.from(c).toString('base64')}`;
    assert.equal((await call(api, 'POST', '/freeswitch/cdr', null, doc)).statusCode, 401);
    assert.equal((await call(api, 'POST', '/freeswitch/cdr', null, doc, { authorization: basic('fs:wrong-12345') })).statusCode, 401);
    const ok = await call(api, 'POST', '/freeswitch/cdr', null, doc, { authorization: basic('fs:secret-1234') });
    assert.equal(ok.statusCode, 200, ok.body);
    const consumer = kafka.consumer({ groupId: uniqueName('api-res-json-cdr'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: `${prefix}${JSON_CDR_TOPIC_SUFFIX}`, fromBeginning: true });
      const got = await new Promise<{ key: string; value: unknown }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no JSON CDR record within 20 s')), 20_000);
        void consumer.run({ eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({ key: message.key?.toString() ?? '', value: JSON.parse(message.value!.toString()) });
        } });
      });
      assert.deepEqual(got, { key: 'json-cdr-uuid-1', value: doc });
    } finally {
      await consumer.disconnect();
    }
  });

  it('APIBAN clients with the key in the path are checked against the API\'s key ring', async () => {
    assert.equal((await call(api, 'POST', '/v1/blocklist', KEYS.fraud, { ip: '203.0.113.9', reason: 'apiban test' })).statusCode, 201);
    const ok = await call(api, 'GET', `/api/${KEYS.fraud}/check/203.0.113.9`, null);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().ipaddress, ['203.0.113.9']);
    assert.equal((await call(api, 'GET', `/api/${KEYS.bill}/check/203.0.113.9`, null)).statusCode, 403);
    assert.equal((await call(api, 'GET', '/api/not-a-key-0123456789abcdef/check/203.0.113.9', null)).statusCode, 403);
  });

  it('property: no query string on /v1/cdrs gets a 500; every refusal is problem+json naming the parameter; a tenant key stays in its tenant', async () => {
    const names = ['from', 'to', 'limit', 'cursor', 'format', 'tenant', 'account', 'sip_call_id', 'unique_id', 'node', 'rating_status', 'disposition', 'request_type', 'colour'];
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom("' OR 1=1 --", '"; DROP TABLE cdrs; --', '\\', '%00', '2026-11-01T00:00:00Z', '2026-02-30T00:00:00Z', '-1', '0', '1001', '1e9',
        'csv', 'json', '*prepaid', 'rated', 'acme', 'beta', '{tenant:String}', 'x'.repeat(3000), 'eyJrIjpbXSwiZiI6IngifQ'),
      fc.integer().map(String),
    );
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 6 }), fc.constantFrom(KEYS.bill, KEYS.acmeBill), async (pairs, key) => {
      const qs = new URLSearchParams(pairs).toString();
      const r = await call(api, 'GET', `/v1/cdrs?${qs}`, key);
      assert.ok(r.statusCode < 500, `${qs} → ${r.statusCode} ${r.body.slice(0, 200)}`);
      if (r.statusCode !== 200) {
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', qs);
        const p = r.json() as { status: number; type: string; param?: string };
        assert.equal(p.status, r.statusCode);
        assert.ok(typeof p.param === 'string' && p.param !== '', `${qs}: ${r.body.slice(0, 200)}`);
      } else if (!/text\/csv/.test(String(r.headers['content-type']))) {
        const items = (r.json() as { items: Array<{ tenant: string }> }).items;
        if (key === KEYS.acmeBill) assert.ok(items.every((c) => c.tenant === 'acme'), qs);
      }
    }), { numRuns: 200 });
  });
});
