/** The guard's alerts from ClickHouse `alerts` (latest version of each): listing with filters, and one by id. */
// Brings the OpenAPI schema keys (summary, tags, hide) into FastifySchema.
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { ApiProblem } from '../contract.ts';
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import { alertFromRow, ALERT_COLUMNS } from '../../guard/service.ts';
import { publicAlert } from '../../guard/notify/receivers.ts';

export interface AlertRoutesOptions {
  readonly store: SqlStore;
}

interface Query {
  state?: 'firing' | 'resolved';
  detector?: string;
  severity?: 'warning' | 'critical';
  subject?: string;
  tenant?: string;
  since?: string;
  limit?: number;
}

export const alertRoutes: FastifyPluginAsync<AlertRoutesOptions> = async (app, opts) => {
  app.get<{ Querystring: Query }>('/v1/alerts', {
    config: { scope: 'fraud.read' },
    schema: {
      summary: 'Alerts of the guard, newest first', tags: ['alerts'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          state: { type: 'string', enum: ['firing', 'resolved'] },
          detector: { type: 'string', enum: ['flood', 'scanner', 'bruteforce', 'tollfraud', 'malformed'] },
          severity: { type: 'string', enum: ['warning', 'critical'] },
          subject: { type: 'string', minLength: 1, maxLength: 256, description: 'An address, account or prefix, exact.' },
          tenant: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$' },
          since: { type: 'string', format: 'date-time', description: 'Alerts last seen at or after this time (default: 7 days back).' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
      },
    },
  }, async (req) => {
    const p = req.principal;
    if (p === undefined) throw new ApiProblem(401, 'unauthorized', 'Authentication required');
    const q = req.query;
    if (p.tenant !== undefined && q.tenant !== undefined && q.tenant !== p.tenant) {
      throw new ApiProblem(403, 'tenant-forbidden', 'Tenant not allowed', `key "${p.name}" is bound to tenant ${p.tenant}`, 'tenant');
    }
    const tenant = p.tenant ?? q.tenant;
    const since = q.since === undefined ? Date.now() - 7 * 86_400_000 : Date.parse(q.since);
    if (!Number.isFinite(since)) throw new ApiProblem(400, 'invalid-parameter', 'Invalid parameter', `since "${q.since}" is not a date-time`, 'since');
    const where = ['last_seen >= fromUnixTimestamp64Milli({since:Int64})'];
    const params: Record<string, unknown> = { since, limit: q.limit ?? 100 };
    if (tenant !== undefined) { where.push('tenant = {tenant:String}'); params['tenant'] = tenant; }
    if (q.detector !== undefined) { where.push('detector = {detector:String}'); params['detector'] = q.detector; }
    if (q.subject !== undefined) { where.push('subject = {subject:String}'); params['subject'] = q.subject; }
    const outer: string[] = ['1'];
    if (q.state !== undefined) { outer.push('state = {state:String}'); params['state'] = q.state; }
    if (q.severity !== undefined) { outer.push('severity = {severity:String}'); params['severity'] = q.severity; }
    const rows = await opts.store.query<Parameters<typeof alertFromRow>[0]>(
      `SELECT * FROM (SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where.join(' AND ')} ORDER BY id, version DESC LIMIT 1 BY id) `
      + `WHERE ${outer.join(' AND ')} ORDER BY last_seen_text DESC, id LIMIT {limit:UInt32}`, params);
    const items = rows.map((r) => publicAlert(alertFromRow(r)));
    return { items, count: items.length };
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
    return publicAlert(alertFromRow(r));
  });
};
