import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FastifyPluginAsync } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { effectiveTenant, principalOf } from '../../../services/api/auth.ts';
import { ApiProblem } from '../../../services/api/contract.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing, parseKeys } from '../../../services/api/keys.ts';
import { loadKeyRing } from '../../../services/api/service.ts';
import { buildApiApp, type ApiServerOptions } from '../../../services/api/server.ts';

const KEY_ADMIN = 'admin-key-0123456789abcdef';
const KEY_NOC = 'noc-key-0123456789abcdef01';
const KEY_ACME = 'acme-key-0123456789abcdef0';

const probe: FastifyPluginAsync = async (app) => {
  app.get('/v1/probe', {
    config: { scope: 'calls.read' },
    schema: {
      querystring: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer', minimum: 1, maximum: 10 }, tenant: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { who: { type: 'string' }, tenant: { type: ['string', 'null'] } } } },
    },
  }, async (req) => {
    const p = principalOf(req);
    const q = req.query as { tenant?: string };
    return { who: p.name, tenant: effectiveTenant(p, q.tenant) ?? null };
  });
  app.get('/v1/write', { config: { scope: 'fraud.write' }, schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));
  app.post('/v1/echo', { config: { scope: 'calls.read' }, schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } }, async (req) => req.body);
  app.get('/v1/boom', { config: { scope: 'calls.read' } }, async () => {
    throw new Error('database exploded');
  });
  app.get('/v1/teapot', { config: { scope: 'calls.read' } }, async () => {
    throw new ApiProblem(418, 'teapot', 'I am a teapot', 'short and stout', 'spout', { extra: 1 });
  });
};

function app(extra: Partial<ApiServerOptions> = {}) {
  const keys = new KeyRing(parseKeys(`admin:${KEY_ADMIN}:admin,noc:${KEY_NOC}:calls.read,acme:sha256:${createHash('sha256').update(KEY_ACME).digest('hex')}:calls.read+pii.read@acme`));
  return buildApiApp({
    host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), registry: new Registry(),
    health: () => ({ status: 'ok', components: {} }), keys, routes: [{ plugin: probe }], ...extra,
  });
}

describe('API framework: auth, scopes, tenants, problems, OpenAPI', () => {
  it('refuses every /v1 request when no key is configured, and says how to configure one; health stays open', async () => {
    const a = buildApiApp({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), registry: new Registry(), health: () => ({ status: 'ok', components: {} }), routes: [{ plugin: probe }] });
    const r = await a.inject({ url: '/v1/probe', headers: { authorization: `Bearer ${KEY_ADMIN}` } });
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    const b = r.json();
    assert.equal(b.type, 'https://tollgate.dev/problems/api-keys-not-configured');
    assert.match(b.detail, /API_KEYS=name:key:scopes\[@tenant\]/);
    assert.equal((await a.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await a.inject({ url: '/metrics' })).statusCode, 200);
    await a.close();
  });

  it('401 without a key, with a wrong key, with a malformed Authorization; 200 with Bearer or X-API-Key', async () => {
    const a = app();
    for (const headers of [{}, { authorization: 'Bearer wrong-key-0123456789' }, { 'x-api-key': 'nope' }, { authorization: `Basic ${KEY_NOC}` }]) {
      const r = await a.inject({ url: '/v1/probe', headers });
      assert.equal(r.statusCode, 401, JSON.stringify(headers));
      assert.equal(r.json().type, 'https://tollgate.dev/problems/unauthorized');
      assert.equal(r.json().instance, '/v1/probe');
    }
    assert.deepEqual((await a.inject({ url: '/v1/probe', headers: { authorization: `Bearer ${KEY_NOC}` } })).json(), { who: 'noc', tenant: null });
    assert.deepEqual((await a.inject({ url: '/v1/probe', headers: { 'x-api-key': KEY_ACME } })).json(), { who: 'acme', tenant: 'acme' });
    await a.close();
  });

  it('403 for a missing scope (admin satisfies all) and for another tenant', async () => {
    const a = app();
    const r = await a.inject({ url: '/v1/write', headers: { authorization: `Bearer ${KEY_NOC}` } });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().scope, 'fraud.write');
    assert.equal((await a.inject({ url: '/v1/write', headers: { authorization: `Bearer ${KEY_ADMIN}` } })).statusCode, 200);
    const t = await a.inject({ url: '/v1/probe?tenant=beta', headers: { authorization: `Bearer ${KEY_ACME}` } });
    assert.equal(t.statusCode, 403);
    assert.equal(t.json().param, 'tenant');
    assert.deepEqual((await a.inject({ url: '/v1/probe?tenant=beta', headers: { authorization: `Bearer ${KEY_ADMIN}` } })).json(), { who: 'admin', tenant: 'beta' });
    await a.close();
  });

  it('422 naming the parameter for schema violations and unknown parameters; ApiProblem rendered as is; 404 problem', async () => {
    const a = app();
    const h = { authorization: `Bearer ${KEY_NOC}` };
    const big = await a.inject({ url: '/v1/probe?n=11', headers: h });
    assert.equal(big.statusCode, 422);
    assert.equal(big.json().param, 'n');
    assert.match(big.json().detail, /query parameter n must be <= 10/);
    const unknown = await a.inject({ url: '/v1/probe?nn=1', headers: h });
    assert.equal(unknown.statusCode, 422);
    assert.equal(unknown.json().param, 'nn');
    const tea = await a.inject({ url: '/v1/teapot', headers: h });
    assert.equal(tea.statusCode, 418);
    assert.deepEqual(tea.json(), { type: 'https://tollgate.dev/problems/teapot', title: 'I am a teapot', status: 418, detail: 'short and stout', instance: '/v1/teapot', param: 'spout', extra: 1 });
    const nf = await a.inject({ url: '/v1/nothing', headers: h });
    assert.equal(nf.statusCode, 404);
    assert.equal(nf.json().type, 'https://tollgate.dev/problems/not-found');
    assert.equal((await a.inject({ url: '/v1/nothing' })).statusCode, 401);
    await a.close();
  });

  it('429 with Retry-After per key once the key\'s limit is used up; other keys unaffected', async () => {
    const a = app({ rateLimitPerMinute: 3 });
    const codes: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await a.inject({ url: '/v1/probe', headers: { authorization: `Bearer ${KEY_NOC}` } });
      codes.push(last.statusCode);
    }
    assert.deepEqual(codes, [200, 200, 200, 429]);
    assert.equal(last!.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(last!.json().type, 'https://tollgate.dev/problems/rate-limited');
    assert.ok(Number(last!.headers['retry-after']) > 0);
    assert.equal((await a.inject({ url: '/v1/probe', headers: { authorization: `Bearer ${KEY_ADMIN}` } })).statusCode, 200);
    await a.close();
  });

  it('publishes OpenAPI 3.1 with security and problem responses on /v1 routes, and the docs UI', async () => {
    const a = app();
    const spec = (await a.inject({ url: '/openapi.json' })).json();
    assert.equal(spec.openapi, '3.1.0');
    const get = spec.paths['/v1/probe'].get;
    assert.deepEqual(get.security, [{ bearer: [] }, { apiKey: [] }]);
    for (const code of ['200', '401', '403', '422', '429', '503']) assert.ok(get.responses[code], code);
    assert.ok(spec.components.schemas.Problem);
    const docs = await a.inject({ url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
    await a.close();
  });

  it('bodies: oversized 413, malformed JSON 400, schema 422, all as problems; unexpected errors 500 without leaking keys into logs', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace' }, { write: (l: string) => { lines.push(l); } });
    const a = app({ log });
    const h = { authorization: `Bearer ${KEY_NOC}`, 'content-type': 'application/json' };
    const big = await a.inject({ method: 'POST', url: '/v1/echo', headers: h, payload: JSON.stringify({ n: 1, pad: 'x'.repeat(2_000_000) }) });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().type, 'https://tollgate.dev/problems/body-too-large');
    const bad = await a.inject({ method: 'POST', url: '/v1/echo', headers: h, payload: '{"n":' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().type, 'https://tollgate.dev/problems/malformed-body');
    const missing = await a.inject({ method: 'POST', url: '/v1/echo', headers: h, payload: '{}' });
    assert.equal(missing.statusCode, 422);
    assert.equal(missing.json().param, 'n');
    assert.match(missing.json().detail, /body field n is required/);
    const boom = await a.inject({ url: '/v1/boom', headers: h });
    assert.equal(boom.statusCode, 500);
    assert.equal(boom.json().type, 'https://tollgate.dev/problems/internal-error');
    assert.ok(!boom.body.includes('exploded'), 'internal detail stays in the log');
    await a.inject({ url: '/v1/probe', headers: { authorization: 'Bearer wrong-key-0123456789abcdef' } });
    await a.inject({ url: '/v1/probe', headers: { 'x-api-key': KEY_ADMIN } });
    await a.close();
    const all = lines.join('');
    assert.match(all, /database exploded/);
    for (const k of [KEY_NOC, KEY_ADMIN, 'wrong-key-0123456789abcdef']) assert.ok(!all.includes(k), 'a key was logged');
  });

  it('browser sessions: a shared link without a key goes to /login and back; the cookie reads but never writes', async () => {
    const a = app();
    const go = await a.inject({ url: '/v1/probe?n=2', headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(go.statusCode, 303);
    assert.equal(go.headers['location'], '/login?next=%2Fv1%2Fprobe%3Fn%3D2');
    const form = await a.inject({ url: go.headers['location'] as string });
    assert.equal(form.statusCode, 200);
    assert.match(form.body, /<input type="hidden" name="next" value="\/v1\/probe\?n=2">/);
    const form1 = { 'content-type': 'application/x-www-form-urlencoded' };
    const wrong = await a.inject({ method: 'POST', url: '/login', headers: form1, payload: 'key=nope-nope-nope-nope&next=%2Fv1%2Fprobe' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['set-cookie'], undefined);
    const ok = await a.inject({ method: 'POST', url: '/login', headers: form1, payload: `key=${KEY_NOC}&next=${encodeURIComponent('/v1/probe?n=2')}` });
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers['location'], '/v1/probe?n=2');
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /^tg_api_key=[^;]+; Path=\/v1; Max-Age=28800; HttpOnly; SameSite=Lax$/);
    const jar = cookie.split(';')[0]!;
    const read = await a.inject({ url: '/v1/probe', headers: { cookie: jar, accept: 'text/html' } });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().who, 'noc');
    const write = await a.inject({ method: 'POST', url: '/v1/echo', headers: { cookie: jar, 'content-type': 'application/json' }, payload: '{"n":1}' });
    assert.equal(write.statusCode, 401);
    const evil = await a.inject({ method: 'POST', url: '/login', headers: form1, payload: `key=${KEY_NOC}&next=${encodeURIComponent('//evil.example/')}` });
    assert.equal(evil.headers['location'], '/docs');
    await a.close();
  });

  it('reads API_KEYS_FILE (comments, sha256 keys) merged with API_KEYS; an unreadable file is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-keys-'));
    try {
      const file = join(dir, 'keys.txt');
      writeFileSync(file, `# NOC\nnoc:sha256:${createHash('sha256').update(KEY_NOC).digest('hex')}:calls.read@acme\n\n`);
      const ring = loadKeyRing({ apiKeys: `admin:${KEY_ADMIN}:admin`, apiKeysFile: file });
      assert.equal(ring.size, 2);
      assert.deepEqual([ring.lookup(KEY_NOC)?.name, ring.lookup(KEY_NOC)?.tenant, ring.lookup(KEY_ADMIN)?.name, ring.lookup('x'.repeat(20))], ['noc', 'acme', 'admin', undefined]);
      assert.throws(() => loadKeyRing({ apiKeys: undefined, apiKeysFile: join(dir, 'missing.txt') }), /API_KEYS_FILE .*missing\.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses malformed key entries with the entry named and the key not echoed', () => {
    assert.throws(() => parseKeys('a:short:calls.read'), /API_KEYS entry 1: key a: the key must be at least 16/);
    assert.throws(() => parseKeys(`a:${KEY_NOC}:calls.raed`), (e: Error) => /unknown scope "calls.raed"/.test(e.message) && !e.message.includes(KEY_NOC));
    assert.throws(() => parseKeys(undefined, { name: 'keys.txt', text: `# c\n\nb:${KEY_NOC}\n` }), /keys.txt line 3/);
    assert.throws(() => parseKeys(`a:${KEY_NOC}:admin,a:${KEY_ADMIN}:admin`), /configured twice/);
    assert.equal(parseKeys(undefined, { name: 'k', text: `x:${KEY_NOC}:admin@t1\n` })[0]!.principal.tenant, 't1');
  });
});
