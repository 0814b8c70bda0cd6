/**
 * A test-only stand-in for the API's auth hook (services/api builds the real one): `authorization: Bearer
 * <name>:<scope,scope>[@tenant]` becomes the principal; a route's `config.scope` is enforced; ApiProblem is rendered
 * as problem+json. Enough to test route plugins on a bare fastify, nothing more.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiProblem, SCOPES, type Scope } from '../../services/api/contract.ts';

export function bareApi(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req) => {
    const scope = req.routeOptions.config.scope;
    if (scope === undefined) return;
    const m = /^Bearer ([a-z0-9-]+):([a-z.,]*)(?:@(\S+))?$/.exec(req.headers.authorization ?? '');
    if (m === null) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
    const scopes = new Set(m[2]!.split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)));
    req.principal = { name: m[1]!, scopes, ...(m[3] !== undefined ? { tenant: m[3] } : {}) };
    if (!scopes.has(scope) && !scopes.has('admin')) throw new ApiProblem(403, 'insufficient-scope', 'The API key lacks a scope', `needs ${scope}`);
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ApiProblem) {
      return reply.code(err.status).type('application/problem+json').send({ type: `https://tollgate.dev/problems/${err.type}`, title: err.title, status: err.status, detail: err.detail, param: err.param });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).type('application/problem+json').send({ title: (err as Error).message, status });
  });
  return app;
}
