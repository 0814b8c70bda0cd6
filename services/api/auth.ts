/**
 * The auth hook for `/v1`: the key from `Authorization: Bearer` or `X-API-Key` becomes `request.principal`, then
 * the route's `config.scope` is enforced (admin satisfies all). Health, metrics and the docs stay open; they hold
 * no call data.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiProblem, type Principal, type Scope } from './contract.ts';
import { hasScope, type KeyRing } from './keys.ts';
import { cookieKey } from './session-cookie.ts';

export const NO_KEYS_DETAIL = 'no API key is configured, so every /v1 request is refused: set API_KEYS=name:key:scopes[@tenant] '
  + '(e.g. API_KEYS=noc:$(openssl rand -hex 24):calls.read) or API_KEYS_FILE to a file of such lines, and restart the API';

export function isV1(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?');
}

/** The key a request presents, or undefined; a malformed Authorization header is a 401 naming the header. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    if (!m) throw new ApiProblem(401, 'unauthorized', 'Authentication required', 'the Authorization header must be "Bearer <key>"', 'Authorization');
    return m[1];
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x.trim();
  return undefined;
}

export function installAuth(app: FastifyInstance, ring: KeyRing): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (req, reply) => {
    if (!isV1(req.url)) return;
    if (ring.size === 0) throw new ApiProblem(503, 'api-keys-not-configured', 'The API has no keys configured', NO_KEYS_DETAIL);
    const reading = req.method === 'GET' || req.method === 'HEAD';
    // The browser session cookie (see routes/session.ts) counts for reading only.
    const header = presentedKey(req);
    const key = header ?? (reading ? cookieKey(req.headers.cookie) : undefined);
    const browser = reading && header === undefined && /\btext\/html\b/.test(req.headers.accept ?? '');
    if (browser && (key === undefined || ring.lookup(key) === undefined)) {
      // A person opening a shared link without (a valid) session: sign in, then come back here.
      return reply.code(303).header('location', `/login?next=${encodeURIComponent(req.url)}`).send();
    }
    if (key === undefined) {
      throw new ApiProblem(401, 'unauthorized', 'Authentication required', 'send the API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"');
    }
    const principal = ring.lookup(key);
    if (principal === undefined) throw new ApiProblem(401, 'unauthorized', 'Authentication required', 'the API key is not valid');
    req.principal = principal;
    const scope = req.routeOptions.config?.scope;
    if (scope !== undefined) requireScope(principal, scope);
  });
}

export function requireScope(p: Principal, scope: Scope): void {
  if (!hasScope(p, scope)) {
    throw new ApiProblem(403, 'insufficient-scope', 'The API key lacks a scope', `this route needs the ${scope} scope; key ${p.name} has ${[...p.scopes].join(', ')}`, undefined, { scope });
  }
}

/** The principal of an authenticated `/v1` request (the hook guarantees it; a route outside `/v1` must not ask). */
export function principalOf(req: FastifyRequest): Principal {
  const p = req.principal;
  if (p === undefined) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
  return p;
}

/**
 * The tenant a query is restricted to: the key's tenant when it has one (asking for another is a 403), else the
 * `tenant` parameter if given, else none (all tenants). Callers put the result in SQL as a parameter.
 */
export function effectiveTenant(p: Principal, requested: string | undefined): string | undefined {
  if (p.tenant !== undefined) {
    if (requested !== undefined && requested !== p.tenant) {
      throw new ApiProblem(403, 'other-tenant', 'Another tenant\'s data', `key ${p.name} is bound to tenant ${p.tenant}`, 'tenant');
    }
    return p.tenant;
  }
  return requested;
}
