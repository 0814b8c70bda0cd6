/** Media quality reports (RTCP SR/RR blocks and HEP QoS JSON reports) from the analyzer's `qos` table. */
import type { FastifyPluginAsync } from 'fastify';
import type { QueryParams } from '../../shared/clickhouse/client.ts';
import { effectiveTenant, principalOf } from '../auth.ts';
import { limitClause, respondList } from '../list.ts';
import { chTime, isoTime, timeRange, type ListQuery } from '../paging.ts';
import { callIdParam, endpointSchema, ipParam, listRouteSchema, nodeParam, type DataRouteOptions } from './common.ts';

const REPORTS = ['rtcp_sr', 'rtcp_rr', 'hep_32', 'hep_34', 'hep_35'] as const;

interface Query extends ListQuery {
  tenant?: string;
  call_id?: string;
  src_ip?: string;
  report?: string;
  node?: string;
}

interface Row {
  ts: string;
  tenant: string;
  call_id: string;
  report: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  node: string;
  reporter_ssrc: number;
  source_ssrc: number;
  direction: string;
  fraction_lost: number | null;
  cumulative_lost: number | null;
  jitter_ts_units: number | null;
  mos: number | null;
  r_factor: number | null;
  jitter_ms: number | null;
  packets_lost: number | null;
  packets_sent: string | null;
  packets_received: string | null;
  delay_ms: number | null;
  kafka_partition: number;
  kafka_offset: string;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

function item(r: Row) {
  return {
    time: isoTime(r.ts)!,
    tenant: r.tenant,
    call_id: r.call_id,
    report: r.report,
    source: { ip: r.src_ip, port: r.src_port },
    destination: { ip: r.dst_ip, port: r.dst_port },
    node: r.node,
    reporter_ssrc: r.reporter_ssrc,
    source_ssrc: r.source_ssrc,
    direction: r.direction,
    fraction_lost: r.fraction_lost,
    cumulative_lost: r.cumulative_lost,
    jitter_ts_units: r.jitter_ts_units,
    jitter_ms: r.jitter_ms,
    mos: r.mos,
    r_factor: r.r_factor,
    packets_lost: r.packets_lost,
    packets_sent: num(r.packets_sent),
    packets_received: num(r.packets_received),
    delay_ms: r.delay_ms,
  };
}
type Item = ReturnType<typeof item>;

const n = { type: ['number', 'null'] } as const;
const itemSchema = {
  type: 'object',
  required: ['time', 'tenant', 'call_id', 'report', 'source', 'destination'],
  properties: {
    time: { type: 'string', format: 'date-time' },
    tenant: { type: 'string' },
    call_id: { type: 'string' },
    report: { type: 'string', enum: [...REPORTS] },
    source: endpointSchema,
    destination: endpointSchema,
    node: { type: 'string' },
    reporter_ssrc: { type: 'integer' },
    source_ssrc: { type: 'integer' },
    direction: { type: 'string' },
    fraction_lost: { ...n, description: '0..1 (RTCP)' },
    cumulative_lost: n,
    jitter_ts_units: { ...n, description: 'RTCP interarrival jitter, RTP timestamp units' },
    jitter_ms: n,
    mos: n,
    r_factor: n,
    packets_lost: n,
    packets_sent: n,
    packets_received: n,
    delay_ms: n,
  },
} as const;

const CSV = (Object.keys(itemSchema.properties) as Array<keyof Item>).map((k) => ({
  name: k,
  get: (r: Item) => (typeof r[k] === 'object' && r[k] !== null ? `${(r[k] as { ip: string }).ip}:${(r[k] as { port: number }).port}` : r[k]),
}));

export const qosRoutes: FastifyPluginAsync<DataRouteOptions> = async (app, opts) => {
  app.get<{ Querystring: Query }>('/v1/qos', {
    config: { scope: 'calls.read' },
    schema: listRouteSchema({
      tag: 'qos',
      summary: 'Media quality reports',
      description: 'RTCP report blocks and HEP QoS reports in `from`..`to`, newest first; `call_id` gives one call\'s media quality.',
      filters: {
        call_id: callIdParam,
        src_ip: ipParam,
        report: { type: 'string', enum: [...REPORTS] },
        node: nodeParam,
      },
      item: itemSchema,
    }),
  }, async (req, reply) => {
    const q = req.query;
    const range = timeRange(q, opts.maxRangeMs);
    const tenant = effectiveTenant(principalOf(req), q.tenant);
    const c: string[] = ['ts >= {from:DateTime64(6)} AND ts < {to:DateTime64(6)}'];
    const base: QueryParams = { from: chTime(range.fromUs), to: chTime(range.toUs) };
    if (tenant !== undefined) {
      // RTCP carries no SIP domain, so its rows get the default tenant: a tenant also owns the media of its calls.
      c.push(`(tenant = {tenant:String} OR call_id IN (SELECT call_id FROM calls WHERE tenant = {tenant:String}
        AND setup_ts >= {from:DateTime64(6)} - INTERVAL 1 DAY AND setup_ts < {to:DateTime64(6)}))`);
      base['tenant'] = tenant;
    }
    if (q.call_id !== undefined) { c.push('call_id = {call_id:String}'); base['call_id'] = q.call_id; }
    if (q.src_ip !== undefined) { c.push('src_ip = {src_ip:String}'); base['src_ip'] = q.src_ip; }
    if (q.report !== undefined) { c.push('report = {report:String}'); base['report'] = q.report; }
    if (q.node !== undefined) { c.push('node = {node:String}'); base['node'] = q.node; }
    const where = c.join(' AND ');
    return respondList(req, reply, {
      query: q, range, publicUrl: opts.publicUrl, arity: 5,
      filters: { tenant, call_id: q.call_id, src_ip: q.src_ip, report: q.report, node: q.node },
      store: opts.store,
      statement: (after, limit) => {
        const params: QueryParams = { ...base };
        let keyset = '';
        if (after !== undefined) {
          keyset = ' AND (ts, call_id, kafka_partition, kafka_offset, source_ssrc) < ({k_ts:DateTime64(6)}, {k_cid:String}, {k_p:UInt32}, {k_o:UInt64}, {k_s:UInt32})';
          Object.assign(params, { k_ts: String(after[0]), k_cid: String(after[1]), k_p: Number(after[2]), k_o: String(after[3]), k_s: Number(after[4]) });
        }
        return {
          sql: `SELECT ts, tenant, call_id, report, src_ip, src_port, dst_ip, dst_port, node, reporter_ssrc, source_ssrc, direction,
             fraction_lost, cumulative_lost, jitter_ts_units, mos, r_factor, jitter_ms, packets_lost, packets_sent, packets_received, delay_ms,
             kafka_partition, kafka_offset
           FROM qos WHERE ${where}${keyset}
           ORDER BY ts DESC, call_id DESC, kafka_partition DESC, kafka_offset DESC, source_ssrc DESC${limitClause(params, limit)}`,
          params,
        };
      },
      keyOf: (r: Row) => [r.ts, r.call_id, r.kafka_partition, r.kafka_offset, r.source_ssrc],
      toItem: item,
      csvName: 'qos.csv',
      csvColumns: CSV,
    });
  });
};
