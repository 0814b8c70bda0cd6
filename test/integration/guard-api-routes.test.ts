/**
 * The guard's API route plugins on a bare fastify with a test auth stand-in: blocklist JSON / text / APIBAN shapes,
 * manual block and unblock with scopes, and alert listing over a real (dev) ClickHouse with migration 0005.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { alertRoutes } from '../../services/api/routes/alerts.ts';
import { blocklistRoutes } from '../../services/api/routes/blocklist.ts';
import { AlertBook } from '../../services/guard/alerts.ts';
import { Blocklist } from '../../services/guard/blocklist.ts';
import { BlocklistService, type AuditRow } from '../../services/guard/blocklist-service.ts';
import { Allowlist } from '../../services/guard/detect/allowlist.ts';
import { alertRow } from '../../services/guard/service.ts';
import { createClickhouseStore, type SqlStore } from '../../services/shared/clickhouse/client.ts';
import { migrate } from '../../services/shared/clickhouse/migrations.ts';
import { bareApi } from '../support/api-auth-standin.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const SQL = fileURLToPath(new URL('../../sql/', import.meta.url));
const READ = { authorization: 'Bearer noc:fraud.read' };
const WRITE = { authorization: 'Bearer noc:fraud.read,fraud.write' };

describe('blocklist routes', () => {
  let app: FastifyInstance;
  let svc: BlocklistService;
  let now = Date.parse('2026-01-05T10:00:00Z');
  const audit: AuditRow[] = [];

  before(async () => {
    const state = new Blocklist({ baseTtlMs: 600_000, escalationFactor: 4, maxTtlMs: 86_400_000, offenceMemoryMs: 86_400_000, manualTtlMs: 3_600_000, unblockGraceMs: 60_000 }, new Allowlist(['10.0.0.0/8']));
    svc = new BlocklistService(state, { write: async (r) => { state.apply(r); } }, (a) => audit.push(a), () => now);
    app = bareApi();
    await app.register(blocklistRoutes, { blocklist: svc, now: () => now, verifyApibanKey: (k) => (k === 'good' ? { name: 'edge', scopes: new Set(['fraud.read'] as const) } : undefined) });
    await app.ready();
  });
  after(() => app.close());

  it('manual block needs fraud.write; names the actor; refuses allowlisted and bad addresses', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/v1/blocklist', headers: READ, payload: { ip: '192.0.2.1', reason: 'seen in logs' } })).statusCode, 403);
    const ok = await app.inject({ method: 'POST', url: '/v1/blocklist', headers: WRITE, payload: { ip: '192.0.2.1', reason: 'seen in logs', ttl_seconds: 120 } });
    assert.equal(ok.statusCode, 201);
    assert.equal(ok.json().actor, 'api:noc');
    assert.equal(ok.json().expires_at, new Date(now + 120_000).toISOString());
    const allow = await app.inject({ method: 'POST', url: '/v1/blocklist', headers: WRITE, payload: { ip: '10.1.1.1', reason: 'oops' } });
    assert.equal(allow.statusCode, 409);
    assert.match(allow.json().detail, /allowlist/);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/blocklist', headers: WRITE, payload: { ip: '999.1.1.1', reason: 'bad' } })).statusCode, 400);
    const tenantKey = await app.inject({ method: 'POST', url: '/v1/blocklist', headers: { authorization: 'Bearer t1:fraud.write@acme' }, payload: { ip: '192.0.2.9', reason: 'tenant' } });
    assert.equal(tenantKey.statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/blocklist' })).statusCode, 401);
  });

  it('JSON, plain text and one address', async () => {
    now += 1;
    await svc.block({ ip: '2001:db8::7', reason: 'scanner', detector: 'scanner', actor: 'guard' });
    const j = await app.inject({ url: '/v1/blocklist', headers: READ });
    assert.deepEqual(j.json().items.map((i: { ip: string }) => i.ip), ['192.0.2.1', '2001:db8::7']);
    const t = await app.inject({ url: '/v1/blocklist.txt', headers: READ });
    assert.equal(t.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(t.body, '192.0.2.1\n2001:db8::7\n');
    assert.equal((await app.inject({ url: '/v1/blocklist/2001:db8::7', headers: READ })).json().detector, 'scanner');
    assert.equal((await app.inject({ url: '/v1/blocklist/192.0.2.200', headers: READ })).statusCode, 404);
  });

  it('APIBAN shape: pages of 250 from ID 100 until "no new bans"; check; key in the path', async () => {
    for (let i = 0; i < 300; i++) {
      now += 1;
      await svc.block({ ip: `198.51.${Math.floor(i / 250)}.${i % 250}`, reason: 'flood', detector: 'flood', actor: 'guard' });
    }
    const seen: string[] = [];
    let id = '100';
    let pages = 0;
    for (;;) {
      const r = await app.inject({ url: `/api/good/banned/${id}` });
      if (r.statusCode === 400) {
        assert.deepEqual(r.json(), { ipaddress: ['no new bans'], ID: 'none' });
        break;
      }
      pages++;
      assert.ok(r.json().ipaddress.length <= 250);
      seen.push(...r.json().ipaddress);
      id = r.json().ID;
    }
    assert.equal(pages, 2);
    assert.equal(seen.length, 302);
    assert.equal(new Set(seen).size, 302);
    assert.deepEqual((await app.inject({ url: '/api/good/check/198.51.0.7' })).json(), { ipaddress: ['198.51.0.7'], ID: (await app.inject({ url: '/api/good/check/198.51.0.7' })).json().ID });
    const not = await app.inject({ url: '/api/good/check/203.0.113.1' });
    assert.equal(not.statusCode, 400);
    assert.deepEqual(not.json(), { ipaddress: ['not blocked'], ID: 'none' });
    const bad = await app.inject({ url: '/api/wrong/banned' });
    assert.equal(bad.statusCode, 403);
    assert.deepEqual(bad.json(), { ipaddress: ['unauthorized'], ID: 'unauthorized' });
    assert.equal((await app.inject({ url: '/v1/apiban/banned', headers: READ })).json().ipaddress.length, 250);
  });

  it('unblock lifts it, with reason and actor in the audit', async () => {
    const r = await app.inject({ method: 'DELETE', url: '/v1/blocklist/192.0.2.1?reason=customer%20asked', headers: WRITE });
    assert.equal(r.statusCode, 200);
    assert.equal((await app.inject({ url: '/v1/blocklist/192.0.2.1', headers: READ })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/blocklist/192.0.2.1', headers: WRITE })).statusCode, 404);
    const last = audit.at(-1)!;
    assert.deepEqual([last.action, last.ip, last.reason, last.actor], ['unblock', '192.0.2.1', 'customer asked', 'api:noc']);
  });
});

describe('alert routes (dev ClickHouse)', () => {
  let app: FastifyInstance;
  let admin: SqlStore;
  let store: SqlStore;
  const database = uniqueName('tg_guard_api');

  before(async () => {
    const stack = await ensureLocalStack();
    admin = createClickhouseStore({ url: stack.clickhouseUrl, user: 'default' });
    store = createClickhouseStore({ url: stack.clickhouseUrl, user: 'default', database });
    await migrate({ admin, store, database, dir: SQL });
    const book = new AlertBook({ resolveAfterMs: 1_000, updateEveryMs: 0 });
    const t = Date.now();
    const mk = (detector: 'flood' | 'tollfraud', subject: string, tenant: string, severity: 'warning' | 'critical') => book.apply({
      detector, rule: 'r', severity, subject: { kind: detector === 'flood' ? 'ip' : 'account', value: subject }, tenant, at: t, block: [],
      evidence: { count: 1, threshold: 1, windowMs: 0, detail: 'd', callIds: ['c'] },
    }, t)!.alert;
    const a = mk('flood', '192.0.2.1', '', 'critical');
    const b = mk('tollfraud', 'acme/1001', 'acme', 'warning');
    const b2 = book.apply({ detector: 'tollfraud', rule: 'r', severity: 'critical', subject: { kind: 'account', value: 'acme/1001' }, tenant: 'acme', at: t + 1, block: [], evidence: { count: 9, threshold: 9, windowMs: 0, detail: 'd2', callIds: [] } }, t + 1)!.alert;
    const resolved = book.tick(t + 5_000).find((c) => c.alert.id === a.id)!.alert;
    await store.insert('alerts', [a, b, b2, resolved].map((x) => alertRow(x, 'test')));
    app = bareApi();
    await app.register(alertRoutes, { store });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await admin?.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
    await admin?.close();
    await store?.close();
  });

  it('lists the latest state of each alert, filters, and keeps a tenant key to its tenant', async () => {
    const res = await app.inject({ url: "/v1/alerts", headers: READ });
    assert.equal(res.statusCode, 200, res.body);
    const all = res.json();
    assert.equal(all.items.length, 2);
    assert.equal(all.next, null);
    const byId = new Map(all.items.map((i: { subject: { value: string } }) => [i.subject.value, i]));
    assert.equal((byId.get('192.0.2.1') as { state: string }).state, 'resolved');
    assert.equal((byId.get('acme/1001') as { severity: string }).severity, 'critical');
    assert.equal((await app.inject({ url: '/v1/alerts?state=firing', headers: READ })).json().items.length, 1);
    assert.equal((await app.inject({ url: '/v1/alerts?detector=flood&state=firing', headers: READ })).json().items.length, 0);
    const tenant = (await app.inject({ url: '/v1/alerts', headers: { authorization: 'Bearer t:fraud.read@acme' } })).json();
    assert.deepEqual(tenant.items.map((i: { tenant: string }) => i.tenant), ['acme']);
    assert.equal((await app.inject({ url: '/v1/alerts?tenant=other', headers: { authorization: 'Bearer t:fraud.read@acme' } })).statusCode, 403);
    const one = (await app.inject({ url: `/v1/alerts/${tenant.items[0].id}`, headers: READ })).json();
    assert.equal(one.evidence.detail, 'd2');
    assert.equal((await app.inject({ url: '/v1/alerts?limit=0', headers: READ })).statusCode, 400);
    assert.equal((await app.inject({ url: '/v1/alerts', headers: { authorization: 'Bearer x:calls.read' } })).statusCode, 403);
  });
});
