/**
 * The guard's alerts from ClickHouse `alerts` (latest version of each): listing on the API's list helpers (keyset
 * pages by last seen, `next` link, `from`/`to`, streamed CSV), and one by id.
 */
// Brings the OpenAPI schema keys (summary, tags, hide) into FastifySchema.
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { ApiProblem } from '../contract.ts';
import type { QueryParams, SqlStore } from '../../shared/clickhouse/client.ts';
import { effectiveTenant, principalOf } from '../auth.ts';
import { limitClause, respondList } from '../list.ts';
import { maskUser, shouldMask } from '../mask.ts';
import { chTime, timeRange, type ListQuery } from '../paging.ts';
import { listRouteSchema, refuseNumberFilters } from './common.ts';
import { alertFromRow, ALERT_COLUMNS } from '../../guard/service.ts';
import { publicAlert } from '../../guard/notify/receivers.ts';

export interface AlertRoutesOptions {
  readonly store: SqlStore;
  /** API_MASK_NUMBERS: account subjects masked for keys without pii.read (default off). */
  readonly maskNumbers?: boolean;
  /** API_MAX_RANGE (default 31 days). */
  readonly maxRangeMs?: number;
  readonly publicUrl?: URL | undefined;
}

interface Query extends ListQuery {
  state?: 'firing' | 'resolved';
  detector?: string;
  severity?: 'warning' | 'critical';
  subject?: string;
  tenant?: string;
  since?: string;
}

type AlertRow = Parameters<typeof alertFromRow>[0] & { ls_key: string };
type AlertItem = ReturnType<typeof publicAlert>;
const DEFAULT_RANGE_MS = 7 * 86_400_000;

const alertSchema = {
  type: 'object',
  required: ['id', 'detector', 'rule', 'severity', 'state', 'subject', 'tenant', 'first_seen', 'last_seen', 'findings', 'blocked', 'evidence'],
  properties: {
    id: { type: 'string' }, detector: { type: 'string' }, rule: { type: 'string' }, severity: { type: 'string', enum: ['warning', 'critical'] },
    state: { type: 'string', enum: ['firing', 'resolved'] },
    subject: { type: 'object', required: ['kind', 'value'], properties: { kind: { type: 'string' }, value: { type: 'string' } } },
    tenant: { type: 'string' }, first_seen: { type: 'string', format: 'date-time' }, last_seen: { type: 'string', format: 'date-time' },
    resolved_at: { type: ['string', 'null'], format: 'date-time' }, findings: { type: 'integer' }, blocked: { type: 'array', items: { type: 'string' } },
    evidence: { type: 'object', additionalProperties: true },
  },
} as const;

const CSV = ([
  ['id', (a: AlertItem) => a['id']], ['detector', (a: AlertItem) => a['detector']], ['rule', (a: AlertItem) => a['rule']],
  ['severity', (a: AlertItem) => a['severity']], ['state', (a: AlertItem) => a['state']],
  ['subject_kind', (a: AlertItem) => (a['subject'] as { kind: string }).kind], ['subject', (a: AlertItem) => (a['subject'] as { value: string }).value],
  ['tenant', (a: AlertItem) => a['tenant']], ['first_seen', (a: AlertItem) => a['first_seen']], ['last_seen', (a: AlertItem) => a['last_seen']],
  ['resolved_at', (a: AlertItem) => a['resolved_at']], ['findings', (a: AlertItem) => a['findings']], ['blocked', (a: AlertItem) => a['blocked']],
  ['detail', (a: AlertItem) => (a['evidence'] as { detail: string }).detail],
] as const).map(([name, get]) => ({ name, get }));

export const alertRoutes: FastifyPluginAsync<AlertRoutesOptions> = async (app, opts) => {
  const maxRangeMs = opts.maxRangeMs ?? 31 * 86_400_000;
  app.get<{ Querystring: Query }>('/v1/alerts', {
    config: { scope: 'fraud.read' },
    schema: listRouteSchema({
      tag: 'alerts',
      summary: 'Alerts of the guard, newest first',
      description: 'The latest state of each alert last seen in the range (default: the last 7 days), by last seen, newest first; `format=csv` streams the whole range.',
      filters: {
        state: { type: 'string', enum: ['firing', 'resolved'] },
        detector: { type: 'string', enum: ['flood', 'scanner', 'bruteforce', 'tollfraud', 'malformed'] },
        severity: { type: 'string', enum: ['warning', 'critical'] },
        subject: { type: 'string', minLength: 1, maxLength: 256, description: 'An address, account or prefix, exact (an account needs pii.read when numbers are masked).' },
        since: { type: 'string', description: 'Older name of `from` (RFC 3339); `from` wins when both are given.' },
      },
      item: alertSchema,
    }),
  }, async (req, reply) => {
    const p = principalOf(req);
    const q = req.query;
    const mask = shouldMask(opts.maskNumbers ?? false, p);
    refuseNumberFilters(mask, q as Record<string, unknown>, ['subject']);
    const tenant = effectiveTenant(p, q.tenant);
    const range = timeRange({ from: q.from ?? q.since, to: q.to }, maxRangeMs, Date.now(), Math.min(DEFAULT_RANGE_MS, maxRangeMs));
    // Lower bound inside: a later version never has an earlier last_seen, so the latest version of every alert seen
    // since `from` survives LIMIT 1 BY id. Upper bound and keyset outside, on that latest version.
    const where = ['last_seen >= {from:DateTime64(3)}'];
    const base: QueryParams = { from: chTime(range.fromUs), to: chTime(range.toUs) };
    if (tenant !== undefined) { where.push('tenant = {tenant:String}'); base['tenant'] = tenant; }
    if (q.detector !== undefined) { where.push('detector = {detector:String}'); base['detector'] = q.detector; }
    if (q.subject !== undefined) { where.push('subject = {subject:String}'); base['subject'] = q.subject; }
    const outer: string[] = ['ls_key < {to:DateTime64(3)}'];
    if (q.state !== undefined) { outer.push('state = {state:String}'); base['state'] = q.state; }
    if (q.severity !== undefined) { outer.push('severity = {severity:String}'); base['severity'] = q.severity; }
    return respondList(req, reply, {
      query: q, range, publicUrl: opts.publicUrl, arity: 2, store: opts.store,
      filters: { tenant, detector: q.detector, subject: q.subject, state: q.state, severity: q.severity },
      statement: (after, limit) => {
        const params: QueryParams = { ...base };
        const o = [...outer];
        if (after !== undefined) {
          o.push('(ls_key, id) < ({k_ls:DateTime64(3)}, {k_id:String})');
          Object.assign(params, { k_ls: String(after[0]), k_id: String(after[1]) });
        }
        return {
          sql: `SELECT * FROM (SELECT ${ALERT_COLUMNS}, last_seen AS ls_key FROM alerts WHERE ${where.join(' AND ')} ORDER BY id, version DESC LIMIT 1 BY id) `
            + `WHERE ${o.join(' AND ')} ORDER BY ls_key DESC, id DESC${limitClause(params, limit)}`,
          params,
        };
      },
      keyOf: (r: AlertRow) => [r.last_seen_text, r.id],
      toItem: (r) => {
        const a = publicAlert(alertFromRow(r));
        const subject = a['subject'] as { kind: string; value: string };
        if (mask && subject.kind === 'account') a['subject'] = { ...subject, value: maskUser(subject.value) };
        return a;
      },
      csvName: 'alerts.csv',
      csvColumns: CSV,
    });
  });

  app.get<{ Params: { id: string } }>('/v1/alerts/:id', {
    config: { scope: 'fraud.read' },
    schema: { summary: 'One alert (latest state)', tags: ['alerts'], params: { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' } } } },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
    const rows = await opts.store.query<Parameters<typeof alertFromRow>[0]>(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = {id:String} ORDER BY version DESC LIMIT 1`, { id: req.params.id });
    const r = rows[0];
    if (r === undefined || (p.tenant !== undefined && r.tenant !== p.tenant)) throw new ApiProblem(404, 'not-found', 'No such alert', `no alert ${req.params.id}`, 'id');
    const a = publicAlert(alertFromRow(r));
    const subject = a['subject'] as { kind: string; value: string };
    if (shouldMask(opts.maskNumbers ?? false, p) && subject.kind === 'account') a['subject'] = { ...subject, value: maskUser(subject.value) };
    return a;
  });
};
