/**
 * Billing routes of the rating service, written against `services/api/contract.ts`:
 * - `GET /v1/cdrs` (billing.read): CDRs, newest first, keyset-paginated, restricted to the key's tenant in SQL;
 * - `GET /v1/accounts/{account}` (billing.read): the account's balances, read from CGRateS;
 * - `POST /v1/rating/cost` (billing.read): what CGRateS would charge for a destination and a duration;
 * - `POST /freeswitch/cdr`: FreeSWITCH's mod_json_cdr posts (the durable timing of each leg). mod_json_cdr can only
 *   authenticate with HTTP Basic (`cred` + `auth-scheme basic`), which the `/v1` key hook does not take, so this
 *   route sits outside `/v1` and checks its own credentials (`RATING_JSON_CDR_CREDENTIALS`); unset, it refuses all.
 *   It answers 200 only once the CDR is handed on durably (`ingest`), so FreeSWITCH retries and spools otherwise.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ApiProblem, type Principal } from '../contract.ts';

export interface CdrQueryPort {
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
}

export interface AccountPort {
  account(tenant: string, account: string): Promise<{ tenant: string; account: string; monetary: number; balances: readonly { type: string; id: string; value: number }[]; allowNegative: boolean; disabled: boolean } | undefined>;
  cost(q: { tenant: string; category: string; subject: string; destination: string; usage: string; answerTime?: string }): Promise<{ cost: number; usageNs: number; details: unknown }>;
}

export interface RatingRouteDeps {
  readonly store: CdrQueryPort;
  readonly cgrates: AccountPort;
  /** Tenant of a key not bound to one (CGRATES_TENANT). */
  readonly defaultTenant: string;
}

export interface JsonCdrRouteDeps {
  /** `user:password` mod_json_cdr sends (its `cred` param); undefined refuses every post. */
  readonly credentials: string | undefined;
  /** Hands a JSON CDR on durably (Kafka, or the rating service directly); resolves once it is safe to say 200. */
  readonly ingest: (doc: unknown) => Promise<void>;
  readonly bodyLimit?: number;
}

const CDR_COLUMNS = ['unique_id', 'tenant', 'node', 'sip_call_id', 'direction', 'caller', 'callee', 'account', 'subject', 'destination',
  'category', 'request_type', 'created_at', 'answered_at', 'ended_at', 'duration_ms', 'billsec', 'billmsec', 'pdd_ms', 'hangup_cause',
  'hangup_cause_q850', 'sip_hangup_disposition', 'disposition', 'timing_source', 'estimated', 'decision', 'max_usage_ms',
  'rating_status', 'rating_error', 'rating_attempts', 'cost', 'cost_source', 'cgr_id'] as const;

interface CdrListQuery {
  limit?: number;
  cursor?: string;
  from?: string;
  to?: string;
  tenant?: string;
  account?: string;
  sip_call_id?: string;
  unique_id?: string;
  node?: string;
  rating_status?: string;
  disposition?: string;
  request_type?: string;
}

const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Rows per page.' },
    cursor: { type: 'string', maxLength: 512, description: 'The `next_cursor` of the previous page.' },
    from: { type: 'string', format: 'date-time', description: 'Calls ended at or after (RFC 3339).' },
    to: { type: 'string', format: 'date-time', description: 'Calls ended before (RFC 3339).' },
    tenant: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: 'Only this tenant (a tenant-bound key may only name its own).' },
    account: { type: 'string', minLength: 1, maxLength: 128 },
    sip_call_id: { type: 'string', minLength: 1, maxLength: 512, description: 'SIP Call-ID: the CDRs of a captured dialog.' },
    unique_id: { type: 'string', minLength: 1, maxLength: 128, description: 'FreeSWITCH channel Unique-ID.' },
    node: { type: 'string', minLength: 1, maxLength: 64 },
    rating_status: { type: 'string', enum: ['rated', 'pending', 'failed', 'not_rated', 'unanswered'] },
    disposition: { type: 'string', enum: ['answered', 'busy', 'no_answer', 'cancelled', 'refused', 'failed'] },
    request_type: { type: 'string', enum: ['*prepaid', '*pseudoprepaid', '*postpaid', '*rated', '*none'] },
  },
} as const;

/** Which tenant a request may see: a tenant-bound key only its own; otherwise the one asked for, if any. */
function tenantScope(p: Principal | undefined, asked: string | undefined): string | undefined {
  if (p?.tenant !== undefined) {
    if (asked !== undefined && asked !== p.tenant) {
      throw new ApiProblem(403, 'tenant-forbidden', 'The key is bound to another tenant', `this key may only read tenant ${p.tenant}, not ${asked}`, 'tenant');
    }
    return p.tenant;
  }
  return asked;
}

function principal(req: FastifyRequest): Principal {
  const p = req.principal;
  if (p === undefined) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
  return p;
}

interface Cursor {
  readonly e: string;
  readonly u: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.e === 'string' && typeof c.u === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?$/.test(c.e)) return c;
  } catch {
    // fall through to the problem below
  }
  throw new ApiProblem(400, 'invalid-parameter', 'Invalid cursor', 'cursor must be the next_cursor of a previous page, unchanged', 'cursor');
}

function chTime(iso: string, param: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new ApiProblem(400, 'invalid-parameter', 'Invalid time', `${param} must be an RFC 3339 date-time, got ${JSON.stringify(iso)}`, param);
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function ratingRoutes(deps: RatingRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: CdrListQuery }>('/v1/cdrs', {
      config: { scope: 'billing.read' },
      schema: { querystring: listQuerySchema },
    }, async (req) => {
      const q = req.query;
      const tenant = tenantScope(principal(req), q.tenant);
      const where: string[] = [];
      const params: Record<string, unknown> = {};
      // The tenant restriction is part of the SQL, never a filter applied afterwards.
      if (tenant !== undefined) {
        where.push('tenant = {tenant:String}');
        params['tenant'] = tenant;
      }
      if (q.from !== undefined) {
        where.push("ended_at >= toDateTime64({from:String}, 6, 'UTC')");
        params['from'] = chTime(q.from, 'from');
      }
      if (q.to !== undefined) {
        where.push("ended_at < toDateTime64({to:String}, 6, 'UTC')");
        params['to'] = chTime(q.to, 'to');
      }
      for (const [key, col] of [['account', 'account'], ['sip_call_id', 'sip_call_id'], ['unique_id', 'unique_id'], ['node', 'node'],
        ['rating_status', 'rating_status'], ['disposition', 'disposition'], ['request_type', 'request_type']] as const) {
        const v = q[key];
        if (v !== undefined) {
          where.push(`${col} = {${key}:String}`);
          params[key] = v;
        }
      }
      if (q.cursor !== undefined) {
        const c = decodeCursor(q.cursor);
        where.push("(ended_at, unique_id) < (toDateTime64({ce:String}, 6, 'UTC'), {cu:String})");
        params['ce'] = c.e;
        params['cu'] = c.u;
      }
      const limit = q.limit ?? 100;
      params['limit'] = limit + 1;
      const rows = await deps.store.query<Record<string, unknown>>(
        `SELECT ${CDR_COLUMNS.join(', ')} FROM cdrs FINAL${where.length ? ` WHERE ${where.join(' AND ')}` : ''} `
        + 'ORDER BY ended_at DESC, unique_id DESC LIMIT {limit:UInt32}', params);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const next = rows.length > limit && last ? encodeCursor({ e: String(last['ended_at']), u: String(last['unique_id']) }) : null;
      return { items: page.map(cdrItem), next_cursor: next };
    });

    app.get<{ Params: { account: string }; Querystring: { tenant?: string } }>('/v1/accounts/:account', {
      config: { scope: 'billing.read' },
      schema: {

        params: { type: 'object', required: ['account'], properties: { account: { type: 'string', minLength: 1, maxLength: 128 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: listQuerySchema.properties.tenant } },
      },
    }, async (req) => {
      const tenant = tenantScope(principal(req), req.query.tenant) ?? deps.defaultTenant;
      const acc = await callCgrates(() => deps.cgrates.account(tenant, req.params.account));
      if (!acc) throw new ApiProblem(404, 'not-found', 'No such account', `CGRateS has no account ${req.params.account} in tenant ${tenant}`, 'account');
      return { tenant: acc.tenant, account: acc.account, balance: acc.monetary, balances: acc.balances, allow_negative: acc.allowNegative, disabled: acc.disabled };
    });

    app.post<{ Body: { destination: string; duration: string; subject?: string; account?: string; category?: string; tenant?: string; answer_time?: string } }>('/v1/rating/cost', {
      config: { scope: 'billing.read' },
      schema: {

        body: {
          type: 'object', additionalProperties: false, required: ['destination', 'duration'],
          properties: {
            destination: { type: 'string', pattern: '^[0-9A-Za-z+*#._-]{1,64}$' },
            duration: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$', description: 'Go duration, e.g. `90s`, `1m30s`.' },
            subject: { type: 'string', minLength: 1, maxLength: 128 },
            account: { type: 'string', minLength: 1, maxLength: 128 },
            category: { type: 'string', minLength: 1, maxLength: 64 },
            tenant: listQuerySchema.properties.tenant,
            answer_time: { type: 'string', format: 'date-time' },
          },
        },
      },
    }, async (req) => {
      const b = req.body;
      const tenant = tenantScope(principal(req), b.tenant) ?? deps.defaultTenant;
      const subject = b.subject ?? b.account;
      if (subject === undefined) throw new ApiProblem(400, 'invalid-parameter', 'Missing subject', 'give the rating subject (or account) to price for', 'subject');
      const r = await callCgrates(() => deps.cgrates.cost({
        tenant, category: b.category ?? 'call', subject, destination: b.destination, usage: b.duration,
        ...(b.answer_time ? { answerTime: b.answer_time } : {}),
      }));
      return { tenant, subject, destination: b.destination, duration_s: r.usageNs / 1e9, cost: r.cost, details: r.details };
    });
  };
}

/** CGRateS failures as problems: its own errors are the client's (422), no answer is ours (503). */
async function callCgrates<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as Error & { code?: string; details?: Record<string, unknown> };
    if (e.code === 'TG_CGRATES_ERROR') {
      throw new ApiProblem(422, 'rating-refused', 'CGRateS refused the request', String(e.details?.['cgratesError'] ?? e.message));
    }
    if (e.code === 'TG_CGRATES_UNAVAILABLE') throw new ApiProblem(503, 'rating-unavailable', 'CGRateS is not answering', e.message);
    throw err;
  }
}

function cdrItem(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of CDR_COLUMNS) out[c] = r[c];
  for (const c of ['duration_ms', 'billsec', 'billmsec', 'pdd_ms', 'hangup_cause_q850', 'max_usage_ms', 'rating_attempts'] as const) out[c] = Number(r[c]);
  out['cost'] = r['cost'] === null || r['cost'] === undefined ? null : Number(r['cost']);
  out['estimated'] = r['estimated'] === true || r['estimated'] === 1 || r['estimated'] === 'true';
  return out;
}

export function jsonCdrRoutes(deps: JsonCdrRouteDeps): FastifyPluginAsync {
  const expected = deps.credentials === undefined ? undefined : Buffer.from(deps.credentials);
  return async (app) => {
    // mod_json_cdr posts `application/json`, or a form field `cdr=<json>` when `encode` is on.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      const cdr = new URLSearchParams(String(body)).get('cdr');
      if (cdr === null) return done(new ApiProblem(400, 'invalid-body', 'Not a mod_json_cdr post', 'form posts carry the CDR in a "cdr" field', 'cdr'));
      try {
        done(null, JSON.parse(cdr));
      } catch {
        done(new ApiProblem(400, 'invalid-body', 'Not a mod_json_cdr post', 'the "cdr" field is not JSON', 'cdr'));
      }
    });
    app.post('/freeswitch/cdr', { bodyLimit: deps.bodyLimit ?? 4 * 1024 * 1024 }, async (req, reply) => {
      if (expected === undefined) {
        throw new ApiProblem(503, 'json-cdr-not-configured', 'mod_json_cdr posts are not accepted',
          'set RATING_JSON_CDR_CREDENTIALS=user:password and the same value as mod_json_cdr\'s "cred" (auth-scheme basic)');
      }
      const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
      const given = m ? Buffer.from(m[1]!, 'base64') : Buffer.alloc(0);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        void reply.header('www-authenticate', 'Basic realm="tollgate json_cdr"');
        throw new ApiProblem(401, 'unauthorized', 'Authentication required', 'send mod_json_cdr\'s cred as HTTP Basic credentials');
      }
      const doc = req.body as { variables?: unknown } | null;
      if (doc === null || typeof doc !== 'object' || typeof doc.variables !== 'object' || doc.variables === null) {
        throw new ApiProblem(400, 'invalid-body', 'Not a mod_json_cdr post', 'a FreeSWITCH JSON CDR has a "variables" object');
      }
      await deps.ingest(doc);
      return reply.code(200).send({ accepted: true });
    });
  };
}
