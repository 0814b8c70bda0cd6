/**
 * The guard's blocklist on the API: the active set as JSON and as plain text (one address per line, for ipset and
 * firewalls), the APIBAN shape so an edge that already runs an APIBAN client can point it at tollgate, and manual
 * block / unblock with reason and actor (the key's name). Reads and writes go through the caller's replica of the
 * blocklist topic (`BlocklistView`), so the API and the guards see one list.
 */
import { isIP } from 'node:net';
// Brings the OpenAPI schema keys (summary, tags, hide) into FastifySchema.
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblem, type Principal } from '../contract.ts';
import type { BlockRecord } from '../../guard/blocklist.ts';
import type { BlocklistView } from '../../guard/blocklist-service.ts';
import { isTollgateError } from '../../shared/errors.ts';
import { GuardErrors } from '../../guard/errors.ts';

export interface BlocklistRoutesOptions {
  readonly blocklist: BlocklistView;
  /**
   * APIBAN clients put their key in the path (`/api/{KEY}/banned`); the API's key ring checks it here. Unset: the
   * `/api/...` compatibility routes are not registered (the `/v1/apiban/...` ones, with ordinary auth, still are).
   */
  readonly verifyApibanKey?: (key: string) => Principal | undefined;
  readonly now?: () => number;
}

const APIBAN_PAGE = 250;
const ipPattern = '^[0-9A-Fa-f:.]{2,45}$';

export function blockItem(r: BlockRecord) {
  return {
    ip: r.ip, reason: r.reason, detector: r.detector, actor: r.actor, alert_id: r.alertId || null, offences: r.offences,
    created_at: new Date(r.createdAt).toISOString(), expires_at: new Date(r.expiresAt).toISOString(),
  };
}

const blockSchema = {
  type: 'object',
  properties: {
    ip: { type: 'string' }, reason: { type: 'string' }, detector: { type: 'string' }, actor: { type: 'string' }, alert_id: { type: ['string', 'null'] },
    offences: { type: 'integer' }, created_at: { type: 'string', format: 'date-time' }, expires_at: { type: 'string', format: 'date-time' },
  },
} as const;

function principal(req: FastifyRequest): Principal {
  if (req.principal === undefined) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
  return req.principal;
}

function checkIp(ip: string, param: string): void {
  if (isIP(ip) === 0) throw new ApiProblem(400, 'invalid-parameter', 'Invalid parameter', `${param} "${ip}" is not an IPv4 or IPv6 address`, param);
}

/** One APIBAN page after cursor `id` (ms of the last block seen); ties of one millisecond are never split. */
export function apibanPage(active: readonly BlockRecord[], id: string): { ips: string[]; next: string } | undefined {
  const after = /^\d{1,16}$/.test(id) ? Number(id) : 0;
  const rest = active.filter((r) => r.createdAt > after).sort((a, b) => a.createdAt - b.createdAt || (a.ip < b.ip ? -1 : 1));
  if (rest.length === 0) return undefined;
  let n = Math.min(APIBAN_PAGE, rest.length);
  while (n < rest.length && rest[n]!.createdAt === rest[n - 1]!.createdAt) n++;
  const page = rest.slice(0, n);
  return { ips: page.map((r) => r.ip), next: String(page[page.length - 1]!.createdAt) };
}

export const blocklistRoutes: FastifyPluginAsync<BlocklistRoutesOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now;
  const bl = opts.blocklist;

  app.get('/v1/blocklist', {
    config: { scope: 'fraud.read' },
    schema: {
      summary: 'Active blocks (JSON)', tags: ['blocklist'],
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: blockSchema }, count: { type: 'integer' } } } },
    },
  }, async () => {
    const items = bl.active(now()).map(blockItem);
    return { items, count: items.length };
  });

  app.get('/v1/blocklist.txt', {
    config: { scope: 'fraud.read' },
    schema: { summary: 'Active blocks, one address per line (ipset, firewalls)', tags: ['blocklist'], produces: ['text/plain'] },
  }, async (_req, reply) => {
    const ips = bl.active(now()).map((r) => r.ip);
    return reply.type('text/plain; charset=utf-8').send(ips.length === 0 ? '' : `${ips.join('\n')}\n`);
  });

  app.get<{ Params: { ip: string } }>('/v1/blocklist/:ip', {
    config: { scope: 'fraud.read' },
    schema: { summary: 'One active block', tags: ['blocklist'], params: { type: 'object', properties: { ip: { type: 'string', pattern: ipPattern } } }, response: { 200: blockSchema } },
  }, async (req) => {
    checkIp(req.params.ip, 'ip');
    const r = bl.get(req.params.ip);
    if (r === undefined || !bl.isActive(req.params.ip, now())) throw new ApiProblem(404, 'not-found', 'Not blocked', `${req.params.ip} is not blocked`, 'ip');
    return blockItem(r);
  });

  app.post<{ Body: { ip: string; reason: string; ttl_seconds?: number } }>('/v1/blocklist', {
    config: { scope: 'fraud.write' },
    schema: {
      summary: 'Block an address by hand', tags: ['blocklist'],
      body: {
        type: 'object', required: ['ip', 'reason'], additionalProperties: false,
        properties: { ip: { type: 'string', maxLength: 45 }, reason: { type: 'string', minLength: 3, maxLength: 500 }, ttl_seconds: { type: 'integer', minimum: 1, maximum: 31_536_000 } },
      },
      response: { 201: blockSchema },
    },
  }, async (req, reply) => {
    const p = principal(req);
    refuseTenantKey(p);
    checkIp(req.body.ip, 'ip');
    try {
      const d = await bl.block({ ip: req.body.ip, reason: req.body.reason, detector: 'manual', actor: `api:${p.name}`, ...(req.body.ttl_seconds !== undefined ? { ttlMs: req.body.ttl_seconds * 1000 } : {}) });
      if (d.kind !== 'block') throw new Error(`manual block gave ${d.kind}`);
      return reply.code(201).send(blockItem(d.record));
    } catch (err) {
      if (isTollgateError(err, GuardErrors.allowlisted)) throw new ApiProblem(409, 'allowlisted', 'Address is allowlisted', err.message, 'ip');
      throw err;
    }
  });

  app.delete<{ Params: { ip: string }; Querystring: { reason?: string } }>('/v1/blocklist/:ip', {
    config: { scope: 'fraud.write' },
    schema: {
      summary: 'Lift a block by hand (detectors leave the address alone for GUARD_UNBLOCK_GRACE)', tags: ['blocklist'],
      params: { type: 'object', properties: { ip: { type: 'string', pattern: ipPattern } } },
      querystring: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', minLength: 3, maxLength: 500 } } },
    },
  }, async (req, reply) => {
    const p = principal(req);
    refuseTenantKey(p);
    checkIp(req.params.ip, 'ip');
    const r = await bl.unblock(req.params.ip, req.query.reason ?? 'unblocked by hand', `api:${p.name}`);
    if (r === undefined) throw new ApiProblem(404, 'not-found', 'Not blocked', `${req.params.ip} is not blocked`, 'ip');
    return reply.code(200).send({ ip: r.ip, state: 'lifted', reason: r.reason, actor: r.actor });
  });

  // APIBAN: GET banned[/{ID}] pages of 250 with a cursor; "no new bans" and "not blocked" are HTTP 400, as APIBAN answers.
  const banned = (id: string, reply: FastifyReply) => {
    const page = apibanPage(bl.active(now()), id);
    if (page === undefined) return reply.code(400).send({ ipaddress: ['no new bans'], ID: 'none' });
    return reply.send({ ipaddress: page.ips, ID: page.next });
  };
  const check = (ip: string, reply: FastifyReply) => {
    const r = isIP(ip) !== 0 && bl.isActive(ip, now()) ? bl.get(ip) : undefined;
    if (r === undefined) return reply.code(400).send({ ipaddress: ['not blocked'], ID: 'none' });
    return reply.send({ ipaddress: [ip], ID: String(r.createdAt) });
  };
  const apibanTag = { tags: ['blocklist'] };
  app.get('/v1/apiban/banned', { config: { scope: 'fraud.read' }, schema: { summary: 'APIBAN: first page', ...apibanTag } }, async (_req, reply) => banned('100', reply));
  app.get<{ Params: { id: string } }>('/v1/apiban/banned/:id', { config: { scope: 'fraud.read' }, schema: { summary: 'APIBAN: page after ID', ...apibanTag } }, async (req, reply) => banned(req.params.id, reply));
  app.get<{ Params: { ip: string } }>('/v1/apiban/check/:ip', { config: { scope: 'fraud.read' }, schema: { summary: 'APIBAN: is this address banned', ...apibanTag } }, async (req, reply) => check(req.params.ip, reply));

  const verify = opts.verifyApibanKey;
  if (verify !== undefined) {
    const authorised = (key: string, reply: FastifyReply): boolean => {
      const p = verify(key);
      if (p !== undefined && (p.scopes.has('fraud.read') || p.scopes.has('admin'))) return true;
      void reply.code(403).send({ ipaddress: ['unauthorized'], ID: 'unauthorized' });
      return false;
    };
    // Outside /v1 (no scope in config): the key is in the path, exactly where APIBAN clients put it.
    app.get<{ Params: { key: string } }>('/api/:key/banned', { schema: { hide: true } }, async (req, reply) => (authorised(req.params.key, reply) ? banned('100', reply) : reply));
    app.get<{ Params: { key: string; id: string } }>('/api/:key/banned/:id', { schema: { hide: true } }, async (req, reply) => (authorised(req.params.key, reply) ? banned(req.params.id, reply) : reply));
    app.get<{ Params: { key: string; ip: string } }>('/api/:key/check/:ip', { schema: { hide: true } }, async (req, reply) => (authorised(req.params.key, reply) ? check(req.params.ip, reply) : reply));
  }
};

/** Blocks are per address, across tenants: a key bound to one tenant may read the list but not change it. */
function refuseTenantKey(p: Principal): void {
  if (p.tenant !== undefined) {
    throw new ApiProblem(403, 'insufficient-scope', 'The API key lacks a scope', `key "${p.name}" is bound to tenant ${p.tenant}; blocking an address affects every tenant and needs an unbound key`);
  }
}
