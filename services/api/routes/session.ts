/**
 * Browser access for shared links: a ladder URL opened in a browser carries no header, so a person signs in once
 * with their key at /login and the key travels in an HttpOnly, SameSite=Lax cookie scoped to /v1. The auth hook
 * accepts the cookie on GET and HEAD only, so a cookie can read what its key may read but can never change
 * anything (no cross-site request forgery on the writing routes).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { KeyRing } from '../keys.ts';
import { escapeXml } from '../ladder/render.ts';
import { SESSION_COOKIE } from '../session-cookie.ts';

const MAX_AGE_S = 8 * 3600;

export interface SessionRoutesOptions {
  readonly keys: KeyRing;
}

/** Only a path of this API may be the target after sign-in (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/v1\/[^\\]*$/.test(next) && !next.startsWith('//') ? next : '/docs';
}

const page = (next: string, failed: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tollgate: sign in</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;color:#1f2328}input{width:100%;padding:.4rem;font:inherit;margin:.5rem 0}
button{padding:.4rem 1rem;font:inherit}.err{color:#cf222e}</style></head>
<body><h1>tollgate API</h1><p>Sign in with your API key to open <code>${escapeXml(next)}</code>.</p>
${failed ? '<p class="err">That key is not valid.</p>' : ''}
<form method="post" action="/login"><input type="hidden" name="next" value="${escapeXml(next)}">
<label>API key <input type="password" name="key" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form>
<p><small>The key is kept in a cookie of this browser for ${MAX_AGE_S / 3600} hours and only used to read. <a href="/logout">Sign out</a></small></p>
</body></html>`;

export const sessionRoutes: FastifyPluginAsync<SessionRoutesOptions> = async (app, opts) => {
  // The sign-in form posts application/x-www-form-urlencoded; a small parser avoids another dependency.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const html = { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'", 'cache-control': 'no-store' };

  app.get<{ Querystring: { next?: string } }>('/login', {
    schema: { hide: true, querystring: { type: 'object', properties: { next: { type: 'string', maxLength: 4096 } } } },
  }, async (req, reply) => reply.type('text/html; charset=utf-8').headers(html).send(page(safeNext(req.query.next), false)));

  app.post<{ Body: { key?: string; next?: string } }>('/login', {
    schema: {
      hide: true,
      body: { type: 'object', required: ['key'], properties: { key: { type: 'string', minLength: 1, maxLength: 512 }, next: { type: 'string', maxLength: 4096 } } },
    },
  }, async (req, reply) => {
    const next = safeNext(req.body.next);
    const principal = opts.keys.lookup(req.body.key ?? '');
    if (principal === undefined) return reply.code(401).type('text/html; charset=utf-8').headers(html).send(page(next, true));
    const secure = req.protocol === 'https' ? '; Secure' : '';
    reply.header('set-cookie', `${SESSION_COOKIE}=${encodeURIComponent(req.body.key!)}; Path=/v1; Max-Age=${MAX_AGE_S}; HttpOnly; SameSite=Lax${secure}`);
    return reply.code(303).header('location', next).send();
  });

  app.get('/logout', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/v1; Max-Age=0; HttpOnly; SameSite=Lax`);
    return reply.code(303).header('location', '/login').send();
  });
};
