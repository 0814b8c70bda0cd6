/**
 * The rating route plugins on a bare fastify with a test-only auth stand-in (the API's real hook lives in the API
 * service): CDR listing with tenant restriction and keyset pages over a real ClickHouse, account and cost from the
 * real CGRateS, and the mod_json_cdr route's own Basic authentication.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiProblem, type Principal, type Scope } from '../../services/api/contract.ts';
import { jsonCdrRoutes, ratingRoutes } from '../../services/api/routes/rating.ts';
import { CgratesClient } from '../../services/rating/cgrates/client.ts';
import { cdrRow } from '../../services/rating/store/cdr-rows.ts';
import type { CdrRecord } from '../../services/rating/core/cdr.ts';
import { CGRATES_SKIP_REASON, cgrEngineBinary, startCgrates, type CgratesEngine } from '../support/cgrates.ts';
import { ratingDatabase, type RatingDb } from '../support/rating-harness.ts';

const skip = cgrEngineBinary() ? false : CGRATES_SKIP_REASON;
if (skip) process.stderr.write(`skipping rating routes test: ${skip}\n`);

const KEYS: Record<string, Principal> = {
  all: { name: 'all', scopes: new Set<Scope>(['billing.read']) },
  acme: { name: 'acme', scopes: new Set<Scope>(['billing.read']), tenant: 'acme' },
  noc: { name: 'noc', scopes: new Set<Scope>(['calls.read']) },
};

/** Test-only stand-in for the API's auth hook: `Authorization: Bearer <name>`, scope from the route config. */
function authStandIn(app: FastifyInstance): void {
  app.decorateRequest('principal', undefined);
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiProblem) return reply.code(err.status).type('application/problem+json').send({ type: err.type, title: err.title, status: err.status, detail: err.detail, param: err.param });
    const e = err as { statusCode?: number; message: string };
    return reply.code(e.statusCode ?? 500).send({ title: e.message });
  });
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1')) return;
    const p = KEYS[/^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''];
    if (!p) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
    const scope = req.routeOptions.config?.scope;
    if (scope && !p.scopes.has(scope)) throw new ApiProblem(403, 'insufficient-scope', 'The API key lacks a scope');
    req.principal = p;
  });
}

function record(i: number, tenant: string): CdrRecord {
  const base = Date.UTC(2026, 10, 1, 10, 0, 0) * 1000;
  return {
    facts: { uniqueId: `leg-${String(i).padStart(3, '0')}`, node: 'fs1', originHost: 'fs1', tenant, account: `10${i % 3}`, subject: '1001', destination: '4420', category: 'call',
      reqtype: '*postpaid', sipCallId: `call-${i}@h`, caller: '1001', callee: '4420', direction: 'inbound', dialplan: 'XML', context: 'default', createdUs: base + i * 1e6 },
    timing: { createdUs: base + i * 1e6, answeredUs: base + i * 1e6 + 500_000, endedUs: base + i * 1e6 + 10_500_000, progressMediaMs: 200, hangupCause: 'NORMAL_CLEARING', q850: 16, sipDisposition: 'recv_bye', sipTermStatus: '200', source: 'event' },
    decision: 'not_prepaid', maxUsageMs: 0, sessionInitiated: false, sessionTerminated: false, ratingStatus: 'rated', ratingError: '', ratingAttempts: 1, cost: 0.1, costSource: '*cdrs', cgrId: `cg${i}`, ratingDetails: '',
  };
}

function pick(body: unknown): { cost: number; duration_s: number } {
  const b = body as { cost: number; duration_s: number };
  return { cost: b.cost, duration_s: b.duration_s };
}

// The CDRs below end on 2026-11-01 between 10:00 and 10:01 UTC.
const RANGE = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';

describe('rating API routes', { skip }, () => {
  let db: RatingDb;
  let cgr: CgratesEngine;
  let app: FastifyInstance;
  const posted: unknown[] = [];

  before(async () => {
    [db, cgr] = await Promise.all([ratingDatabase(), startCgrates()]);
    const rows = [];
    for (let i = 0; i < 25; i++) rows.push(cdrRow(record(i, i % 5 === 0 ? 'beta' : 'acme'), 1));
    // A later revision of leg-000 replaces the first: still one row.
    rows.push(cdrRow({ ...record(0, 'beta'), cost: 0.2 }, 2));
    await db.store.insert('cdrs', rows);
    app = Fastify();
    authStandIn(app);
    const cgrates = new CgratesClient({ url: cgr.url, timeoutMs: 2_000, breakerFailures: 3, breakerCooldownMs: 1_000 });
    await app.register(ratingRoutes({ store: db.store, maskNumbers: false, maxRangeMs: 31 * 86_400_000, publicUrl: undefined, cgrates, defaultTenant: 'cgrates.org' }));
    await app.register(jsonCdrRoutes({ credentials: 'fs:secret-1234', ingest: async (doc) => { posted.push(doc); } }));
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await cgr?.stop();
    await db?.drop();
  });

  it('lists CDRs newest first in keyset pages, one row per leg', async () => {
    const seen: string[] = [];
    let url: string | null = `/v1/cdrs?limit=7&${RANGE}`;
    let pages = 0;
    do {
      const res: { statusCode: number; body: string; json: () => unknown } = await app.inject({ url, headers: { authorization: 'Bearer all' } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { items: { unique_id: string; cost: number }[]; next: string | null };
      seen.push(...body.items.map((x) => x.unique_id));
      url = body.next === null ? null : new URL(body.next).pathname + new URL(body.next).search;
      pages++;
    } while (url);
    assert.equal(pages, 4);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.equal(seen[0], 'leg-024');
    assert.equal(seen[24], 'leg-000');
    const one = await app.inject({ url: `/v1/cdrs?unique_id=leg-000&${RANGE}`, headers: { authorization: 'Bearer all' } });
    assert.equal((one.json() as { items: { cost: number }[] }).items[0]!.cost, 0.2);
  });

  it('restricts a tenant-bound key to its tenant in SQL and refuses another tenant', async () => {
    const res = await app.inject({ url: `/v1/cdrs?limit=100&${RANGE}`, headers: { authorization: 'Bearer acme' } });
    const items = (res.json() as { items: { tenant: string }[] }).items;
    assert.equal(items.length, 20);
    assert.ok(items.every((x) => x.tenant === 'acme'));
    const other = await app.inject({ url: '/v1/cdrs?tenant=beta', headers: { authorization: 'Bearer acme' } });
    assert.equal(other.statusCode, 403);
    assert.equal((await app.inject({ url: '/v1/cdrs', headers: { authorization: 'Bearer noc' } })).statusCode, 403);
    assert.equal((await app.inject({ url: '/v1/cdrs' })).statusCode, 401);
    const bad = await app.inject({ url: `/v1/cdrs?cursor=nonsense&${RANGE}`, headers: { authorization: 'Bearer all' } });
    assert.equal(bad.statusCode, 422);
    assert.equal((bad.json() as { param: string }).param, 'cursor');
  });

  it('reads an account balance and a price from CGRateS', async () => {
    const acc = await app.inject({ url: '/v1/accounts/1003', headers: { authorization: 'Bearer all' } });
    assert.equal(acc.statusCode, 200, acc.body);
    assert.equal((acc.json() as { balance: number }).balance, 10);
    assert.equal((await app.inject({ url: '/v1/accounts/nobody', headers: { authorization: 'Bearer all' } })).statusCode, 404);
    const cost = await app.inject({ method: 'POST', url: '/v1/rating/cost', headers: { authorization: 'Bearer all' }, payload: { destination: '441632960123', duration: '90s', subject: '1003' } });
    assert.equal(cost.statusCode, 200, cost.body);
    assert.deepEqual(pick(cost.json()), { cost: 0.9, duration_s: 90 });
    // Per-minute increments: 61 s is rated as 120 s (connect fee 0.05 + 2 × 0.06).
    const us = await app.inject({ method: 'POST', url: '/v1/rating/cost', headers: { authorization: 'Bearer all' }, payload: { destination: '1555', duration: '1m1s', subject: '1003', answer_time: '2026-11-30T12:00:00Z' } });
    assert.equal(us.statusCode, 200, us.body);
    assert.deepEqual(pick(us.json()), { cost: 0.17, duration_s: 120 });
    const unknown = await app.inject({ method: 'POST', url: '/v1/rating/cost', headers: { authorization: 'Bearer all' }, payload: { destination: '999', duration: '60s', subject: '1003' } });
    assert.equal(unknown.statusCode, 422);
    // Junk never reaches CGRateS: refused by the route, naming the field.
    for (const [field, junk] of [['duration', '90'], ['duration', '1d'], ['duration', '-5s'], ['duration', '1m30'], ['answer_time', 'yesterday']] as const) {
      const bad = await app.inject({ method: 'POST', url: '/v1/rating/cost', headers: { authorization: 'Bearer all' }, payload: { destination: '4420', duration: '60s', subject: '1003', [field]: junk } });
      assert.equal(bad.statusCode, 400, `${field} ${junk}: ${bad.body}`);
      assert.match((bad.json() as { title: string }).title, new RegExp(field), bad.body);
    }
  });

  it('takes mod_json_cdr posts only with the configured Basic credentials', async () => {
    const doc = { variables: { uuid: 'u-1', billsec: '3' }, callflow: [] };
    const basic = (c: string) => `Basic ${Buffer.from(c).toString('base64')}`;
    assert.equal((await app.inject({ method: 'POST', url: '/freeswitch/cdr', payload: doc })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: '/freeswitch/cdr', headers: { authorization: basic('fs:wrong-1234') }, payload: doc })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: '/freeswitch/cdr', headers: { authorization: basic('fs:secret-1234') }, payload: { nope: 1 } })).statusCode, 400);
    const ok = await app.inject({ method: 'POST', url: '/freeswitch/cdr', headers: { authorization: basic('fs:secret-1234') }, payload: doc });
    assert.equal(ok.statusCode, 200);
    const form = await app.inject({ method: 'POST', url: '/freeswitch/cdr', headers: { authorization: basic('fs:secret-1234'), 'content-type': 'application/x-www-form-urlencoded' }, payload: `cdr=${encodeURIComponent(JSON.stringify(doc))}` });
    assert.equal(form.statusCode, 200);
    assert.equal(posted.length, 2);
    const off = Fastify();
    await off.register(jsonCdrRoutes({ credentials: undefined, ingest: async () => {} }));
    assert.equal((await off.inject({ method: 'POST', url: '/freeswitch/cdr', payload: doc })).statusCode, 503);
    await off.close();
  });
});
