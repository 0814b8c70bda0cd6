/**
 * Billing routes of the rating service, written against `services/api/contract.ts`:
 * - `GET /v1/cdrs` (billing.read): CDRs, newest first, on the API's list helpers (keyset pages with an opaque cursor
 *   and a `next` link, `from`/`to`, streamed CSV), restricted to the key's tenant in SQL, numbers masked without pii.read;
 * - `GET /v1/accounts/{account}` (billing.read): the account's balances, read from CGRateS;
 * - `POST /v1/rating/cost` (billing.read): what CGRateS would charge for a destination and a duration;
 * - `POST /freeswitch/cdr`: FreeSWITCH's mod_json_cdr posts (the durable timing of each leg). mod_json_cdr can only
 *   authenticate with HTTP Basic (`cred` + `auth-scheme basic`), which the `/v1` key hook does not take, so this
 *   route sits outside `/v1` and checks its own credentials (`RATING_JSON_CDR_CREDENTIALS`); unset, it refuses all.
 *   It answers 200 only once the CDR is handed on durably (`ingest`), so FreeSWITCH retries and spools otherwise.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { QueryParams } from '../../shared/clickhouse/client.ts';
import { effectiveTenant, principalOf } from '../auth.ts';
import { ApiProblem } from '../contract.ts';
import { limitClause, respondList } from '../list.ts';
import { maskUser, shouldMask } from '../mask.ts';
import { chTime, chToUs, isoTime, timeRange, type ListQuery } from '../paging.ts';
import { listRouteSchema, refuseNumberFilters, type DataRouteOptions } from './common.ts';

export interface AccountPort {
  account(tenant: string, account: string): Promise<{ tenant: string; account: string; monetary: number; balances: readonly { type: string; id: string; value: number }[]; allowNegative: boolean; disabled: boolean } | undefined>;
  cost(q: { tenant: string; category: string; subject: string; destination: string; usage: string; answerTime?: string }): Promise<{ cost: number; usageNs: number; details: unknown }>;
}

/** The API's data-route options (store, masking, range limit, public URL) plus CGRateS. */
export interface RatingRouteDeps extends DataRouteOptions {
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

interface CdrListQuery extends ListQuery {
  tenant?: string;
  account?: string;
  sip_call_id?: string;
  unique_id?: string;
  node?: string;
  rating_status?: string;
  disposition?: string;
  request_type?: string;
}

const CDR_FILTERS = ['account', 'sip_call_id', 'unique_id', 'node', 'rating_status', 'disposition', 'request_type'] as const;
/** Numbers and user parts masked without pii.read (API_MASK_NUMBERS). */
const NUMBER_FIELDS = ['caller', 'callee', 'account', 'subject', 'destination'] as const;

const cdrFilters = {
  account: { type: 'string', minLength: 1, maxLength: 128, description: 'CGRateS account, exact (needs pii.read when numbers are masked).' },
  sip_call_id: { type: 'string', minLength: 1, maxLength: 512, description: 'SIP Call-ID: the CDRs of a captured dialog.' },
  unique_id: { type: 'string', minLength: 1, maxLength: 128, description: 'FreeSWITCH channel Unique-ID.' },
  node: { type: 'string', minLength: 1, maxLength: 64, description: 'FreeSWITCH node (FREESWITCH_ESL name).' },
  rating_status: { type: 'string', enum: ['rated', 'pending', 'failed', 'not_rated', 'unanswered'] },
  disposition: { type: 'string', enum: ['answered', 'busy', 'no_answer', 'cancelled', 'refused', 'failed'] },
  request_type: { type: 'string', enum: ['*prepaid', '*pseudoprepaid', '*postpaid', '*rated', '*none'] },
} as const;

const tenantSchema = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: 'Only this tenant (a tenant-bound key may only name its own).' } as const;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const cdrItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...CDR_COLUMNS],
  properties: {
    unique_id: str, tenant: str, node: str, sip_call_id: str, direction: str, caller: str, callee: str, account: str, subject: str,
    destination: str, category: str, request_type: str,
    created_at: { type: 'string', format: 'date-time' }, answered_at: { type: ['string', 'null'], format: 'date-time' },
    ended_at: { type: 'string', format: 'date-time' },
    duration_ms: int, billsec: int, billmsec: int, pdd_ms: int, hangup_cause: str, hangup_cause_q850: int, sip_hangup_disposition: str,
    disposition: str, timing_source: str, estimated: { type: 'boolean' }, decision: str, max_usage_ms: int, rating_status: str,
    rating_error: str, rating_attempts: int, cost: { type: ['number', 'null'] }, cost_source: str, cgr_id: str,
  },
} as const;

const accountSchema = {
  type: 'object',
  required: ['tenant', 'account', 'balance', 'balances', 'allow_negative', 'disabled'],
  properties: {
    tenant: str, account: str, balance: { type: 'number', description: 'Monetary balance (sum of *monetary balances).' },
    balances: { type: 'array', items: { type: 'object', required: ['type', 'id', 'value'], properties: { type: str, id: str, value: { type: 'number' } } } },
    allow_negative: { type: 'boolean' }, disabled: { type: 'boolean' },
  },
} as const;

const costSchema = {
  type: 'object',
  required: ['tenant', 'subject', 'destination', 'duration_s', 'cost'],
  properties: {
    tenant: str, subject: str, destination: str, duration_s: { type: 'number' }, cost: { type: 'number' },
    details: { type: 'object', additionalProperties: true, description: 'CGRateS\' answer (the CallCost of Responder.GetCost), as it gave it.' },
  },
} as const;

type CdrRow = Record<(typeof CDR_COLUMNS)[number], unknown>;
type CdrItem = ReturnType<typeof cdrItem>;

const CDR_CSV = CDR_COLUMNS.map((name) => ({ name, get: (r: CdrItem) => r[name] }));

export function ratingRoutes(deps: RatingRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: CdrListQuery }>('/v1/cdrs', {
      config: { scope: 'billing.read' },
      schema: {
        ...listRouteSchema({
          tag: 'billing',
          summary: 'Search CDRs',
          description: 'One CDR per FreeSWITCH call leg (its latest revision), by the time the leg ended, newest first; `format=csv` streams the whole range.',
          filters: cdrFilters,
          item: cdrItemSchema,
        }),
      },
    }, async (req, reply) => {
      const q = req.query;
      const p = principalOf(req);
      const mask = shouldMask(deps.maskNumbers, p);
      refuseNumberFilters(mask, q as Record<string, unknown>, ['account']);
      const range = timeRange(q, deps.maxRangeMs);
      const tenant = effectiveTenant(p, q.tenant);
      // The tenant restriction is part of the SQL, never a filter applied afterwards.
      const c: string[] = ['ended_at >= {from:DateTime64(6)} AND ended_at < {to:DateTime64(6)}'];
      const base: QueryParams = { from: chTime(range.fromUs), to: chTime(range.toUs) };
      if (tenant !== undefined) { c.push('tenant = {tenant:String}'); base['tenant'] = tenant; }
      for (const key of CDR_FILTERS) {
        const v = q[key];
        if (v !== undefined) { c.push(`${key} = {${key}:String}`); base[key] = v; }
      }
      const filters: Record<string, unknown> = { tenant };
      for (const key of CDR_FILTERS) filters[key] = q[key];
      return respondList(req, reply, {
        query: q, range, publicUrl: deps.publicUrl, arity: 2, filters, store: deps.store,
        statement: (after, limit, window) => {
          const params: QueryParams = { ...base };
          const where = [...c];
          if (window !== undefined) {
            where.push('ended_at >= {w_from:DateTime64(6)} AND ended_at < {w_to:DateTime64(6)}');
            Object.assign(params, { w_from: chTime(window.fromUs), w_to: chTime(window.toUs) });
          }
          if (after !== undefined) {
            where.push('(ended_at, unique_id) < ({k_ended:DateTime64(6)}, {k_uid:String})');
            Object.assign(params, { k_ended: String(after[0]), k_uid: String(after[1]) });
          }
          return {
            sql: `SELECT ${CDR_COLUMNS.join(', ')} FROM cdrs FINAL WHERE ${where.join(' AND ')} ORDER BY ended_at DESC, unique_id DESC${limitClause(params, limit)}`,
            params,
          };
        },
        keyTimeUs: (k) => chToUs(String(k[0])),
        keyOf: (r: CdrRow) => [String(r.ended_at), String(r.unique_id)],
        toItem: (r) => cdrItem(r, mask),
        csvName: 'cdrs.csv',
        csvColumns: CDR_CSV,
      });
    });

    app.get<{ Params: { account: string }; Querystring: { tenant?: string } }>('/v1/accounts/:account', {
      config: { scope: 'billing.read' },
      schema: {

        params: { type: 'object', required: ['account'], properties: { account: { type: 'string', minLength: 1, maxLength: 128 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { tenant: tenantSchema } },
        response: { 200: accountSchema },
      },
    }, async (req) => {
      const tenant = effectiveTenant(principalOf(req), req.query.tenant) ?? deps.defaultTenant;
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
            tenant: tenantSchema,
            answer_time: { type: 'string', format: 'date-time' },
          },
        },
        response: { 200: costSchema },
      },
    }, async (req) => {
      const b = req.body;
      const tenant = effectiveTenant(principalOf(req), b.tenant) ?? deps.defaultTenant;
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
    if (e.code === 'TG_CGRATES_UNAVAILABLE') throw new ApiProblem(503, 'rating-unavailable', 'CGRateS is not answering', e.message, undefined, { dependency: 'cgrates' });
    throw err;
  }
}

function cdrItem(r: CdrRow, mask: boolean) {
  const text = (c: (typeof CDR_COLUMNS)[number]): string => String(r[c] ?? '');
  const n = (c: (typeof CDR_COLUMNS)[number]): number => Number(r[c]);
  const num = (c: (typeof NUMBER_FIELDS)[number]): string => (mask ? maskUser(text(c)) : text(c));
  return {
    unique_id: text('unique_id'), tenant: text('tenant'), node: text('node'), sip_call_id: text('sip_call_id'), direction: text('direction'),
    caller: num('caller'), callee: num('callee'), account: num('account'), subject: num('subject'), destination: num('destination'),
    category: text('category'), request_type: text('request_type'),
    created_at: isoTime(text('created_at'))!, answered_at: isoTime(r.answered_at as string | null), ended_at: isoTime(text('ended_at'))!,
    duration_ms: n('duration_ms'), billsec: n('billsec'), billmsec: n('billmsec'), pdd_ms: n('pdd_ms'), hangup_cause: text('hangup_cause'),
    hangup_cause_q850: n('hangup_cause_q850'), sip_hangup_disposition: text('sip_hangup_disposition'), disposition: text('disposition'),
    timing_source: text('timing_source'), estimated: r.estimated === true || r.estimated === 1 || r.estimated === 'true',
    decision: text('decision'), max_usage_ms: n('max_usage_ms'), rating_status: text('rating_status'), rating_error: text('rating_error'),
    rating_attempts: n('rating_attempts'), cost: r.cost === null || r.cost === undefined ? null : Number(r.cost),
    cost_source: text('cost_source'), cgr_id: text('cgr_id'),
  };
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
