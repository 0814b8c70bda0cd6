/** REGISTER transactions (one per Call-ID + CSeq) from the analyzer's `registrations` table. */
import type { FastifyPluginAsync } from 'fastify';
import type { QueryParams } from '../../shared/clickhouse/client.ts';
import { effectiveTenant, principalOf } from '../auth.ts';
import { limitClause, respondList } from '../list.ts';
import { maskSipText, maskUser, shouldMask } from '../mask.ts';
import { chTime, isoTime, timeRange, type ListQuery } from '../paging.ts';
import { callIdParam, endpointSchema, ipParam, listRouteSchema, nodeParam, refuseNumberFilters, type DataRouteOptions, userParam } from './common.ts';

const OUTCOMES = ['registered', 'deregistered', 'query', 'challenge', 'auth_failed', 'failed', 'timeout'] as const;

interface Query extends ListQuery {
  tenant?: string;
  user?: string;
  user_prefix?: string;
  src_ip?: string;
  outcome?: string;
  node?: string;
  call_id?: string;
}

interface Row {
  ts: string;
  response_ts: string | null;
  tenant: string;
  domain: string;
  call_id: string;
  cseq: number;
  aor_user: string;
  aor_domain: string;
  contacts: string[];
  expires_requested: number | null;
  expires_granted: number | null;
  status: number | null;
  reason: string;
  outcome: string;
  challenged: boolean;
  deregistration: boolean;
  auth_user: string;
  user_agent: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  transport: string;
  node: string;
  behind_nat: boolean;
  nat_private_contact: boolean;
  retransmissions: number;
}

function item(r: Row, mask: boolean) {
  return {
    time: isoTime(r.ts)!,
    response_time: isoTime(r.response_ts),
    tenant: r.tenant,
    domain: r.domain,
    call_id: r.call_id,
    cseq: r.cseq,
    user: mask ? maskUser(r.aor_user) : r.aor_user,
    aor_domain: r.aor_domain,
    auth_user: mask ? maskUser(r.auth_user) : r.auth_user,
    contacts: mask ? r.contacts.map(maskSipText) : r.contacts,
    expires_requested: r.expires_requested,
    expires_granted: r.expires_granted,
    status: r.status,
    reason: r.reason,
    outcome: r.outcome,
    challenged: r.challenged,
    deregistration: r.deregistration,
    user_agent: r.user_agent,
    source: { ip: r.src_ip, port: r.src_port },
    destination: { ip: r.dst_ip, port: r.dst_port },
    transport: r.transport,
    node: r.node,
    behind_nat: r.behind_nat,
    nat_private_contact: r.nat_private_contact,
    retransmissions: r.retransmissions,
  };
}
type Item = ReturnType<typeof item>;

const itemSchema = {
  type: 'object',
  required: ['time', 'tenant', 'call_id', 'cseq', 'user', 'outcome', 'source', 'destination'],
  properties: {
    time: { type: 'string', format: 'date-time' },
    response_time: { type: ['string', 'null'], format: 'date-time' },
    tenant: { type: 'string' },
    domain: { type: 'string' },
    call_id: { type: 'string' },
    cseq: { type: 'integer' },
    user: { type: 'string', description: 'Address-of-record user part' },
    aor_domain: { type: 'string' },
    auth_user: { type: 'string' },
    contacts: { type: 'array', items: { type: 'string' } },
    expires_requested: { type: ['integer', 'null'] },
    expires_granted: { type: ['integer', 'null'] },
    status: { type: ['integer', 'null'] },
    reason: { type: 'string' },
    outcome: { type: 'string', enum: [...OUTCOMES] },
    challenged: { type: 'boolean' },
    deregistration: { type: 'boolean' },
    user_agent: { type: 'string' },
    source: endpointSchema,
    destination: endpointSchema,
    transport: { type: 'string' },
    node: { type: 'string' },
    behind_nat: { type: 'boolean' },
    nat_private_contact: { type: 'boolean' },
    retransmissions: { type: 'integer' },
  },
} as const;

const CSV = ([
  ['time', (r: Item) => r.time], ['tenant', (r: Item) => r.tenant], ['call_id', (r: Item) => r.call_id], ['cseq', (r: Item) => r.cseq],
  ['user', (r: Item) => r.user], ['aor_domain', (r: Item) => r.aor_domain], ['outcome', (r: Item) => r.outcome], ['status', (r: Item) => r.status],
  ['reason', (r: Item) => r.reason], ['expires_granted', (r: Item) => r.expires_granted], ['src_ip', (r: Item) => r.source.ip],
  ['src_port', (r: Item) => r.source.port], ['user_agent', (r: Item) => r.user_agent], ['behind_nat', (r: Item) => r.behind_nat], ['node', (r: Item) => r.node],
] as const).map(([name, get]) => ({ name, get }));

export const registrationRoutes: FastifyPluginAsync<DataRouteOptions> = async (app, opts) => {
  app.get<{ Querystring: Query }>('/v1/registrations', {
    config: { scope: 'calls.read' },
    schema: listRouteSchema({
      tag: 'registrations',
      summary: 'Search REGISTER transactions',
      description: 'One row per REGISTER transaction (a 401/407 challenge is its own `challenge` row), newest first.',
      filters: {
        user: { ...userParam, description: 'AoR user part, exact' },
        user_prefix: { ...userParam, description: 'AoR user part starts with this' },
        src_ip: ipParam,
        outcome: { type: 'string', enum: [...OUTCOMES] },
        node: nodeParam,
        call_id: callIdParam,
      },
      item: itemSchema,
    }),
  }, async (req, reply) => {
    const q = req.query;
    const p = principalOf(req);
    const mask = shouldMask(opts.maskNumbers, p);
    refuseNumberFilters(mask, q as Record<string, unknown>, ['user', 'user_prefix']);
    const range = timeRange(q, opts.maxRangeMs);
    const tenant = effectiveTenant(p, q.tenant);
    const c: string[] = ['ts >= {from:DateTime64(6)} AND ts < {to:DateTime64(6)}'];
    const base: QueryParams = { from: chTime(range.fromUs), to: chTime(range.toUs) };
    if (tenant !== undefined) { c.push('tenant = {tenant:String}'); base['tenant'] = tenant; }
    if (q.user !== undefined) { c.push('aor_user = {user:String}'); base['user'] = q.user; }
    if (q.user_prefix !== undefined) { c.push('startsWith(aor_user, {user_prefix:String})'); base['user_prefix'] = q.user_prefix; }
    if (q.src_ip !== undefined) { c.push('src_ip = {src_ip:String}'); base['src_ip'] = q.src_ip; }
    if (q.outcome !== undefined) { c.push('outcome = {outcome:String}'); base['outcome'] = q.outcome; }
    if (q.node !== undefined) { c.push('node = {node:String}'); base['node'] = q.node; }
    if (q.call_id !== undefined) { c.push('call_id = {call_id:String}'); base['call_id'] = q.call_id; }
    const where = c.join(' AND ');
    return respondList(req, reply, {
      query: q, range, publicUrl: opts.publicUrl, arity: 3,
      filters: { tenant, user: q.user, user_prefix: q.user_prefix, src_ip: q.src_ip, outcome: q.outcome, node: q.node, call_id: q.call_id },
      store: opts.store,
      statement: (after, limit) => {
        const params: QueryParams = { ...base };
        let keyset = '';
        if (after !== undefined) {
          keyset = ' AND (ts, call_id, cseq) < ({k_ts:DateTime64(6)}, {k_cid:String}, {k_cseq:UInt32})';
          Object.assign(params, { k_ts: String(after[0]), k_cid: String(after[1]), k_cseq: Number(after[2]) });
        }
        return {
          sql: `SELECT ts, response_ts, tenant, domain, call_id, cseq, aor_user, aor_domain, contacts,
             expires_requested, expires_granted, status, reason, outcome, challenged, deregistration, auth_user, user_agent,
             src_ip, src_port, dst_ip, dst_port, transport, node, behind_nat, nat_private_contact, retransmissions
           FROM registrations WHERE ${where}${keyset} ORDER BY ts DESC, call_id DESC, cseq DESC${limitClause(params, limit)}`,
          params,
        };
      },
      keyOf: (r: Row) => [r.ts, r.call_id, r.cseq],
      toItem: (r) => item(r, mask),
      csvName: 'registrations.csv',
      csvColumns: CSV,
    });
  });
};
