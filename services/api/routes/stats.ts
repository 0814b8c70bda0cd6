/**
 * Call statistics per interval and tenant from the analyzer's rollups (`calls_minute`): ASR, ACD, NER and PDD
 * quantiles, as defined in sql/0003; calls by final SIP code from the call records of the same range.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { QueryParams } from '../../shared/clickhouse/client.ts';
import { effectiveTenant, principalOf } from '../auth.ts';
import { ApiProblem } from '../contract.ts';
import { chTime, isoTime, rfc3339, timeRange } from '../paging.ts';
import { tenantParam, type DataRouteOptions } from './common.ts';

const INTERVALS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86_400 } as const;
const MAX_BUCKETS = 10_000;

interface Query {
  from?: string;
  to?: string;
  interval?: keyof typeof INTERVALS;
  tenant?: string;
}

interface KpiRow {
  t: string;
  tenant: string;
  attempts: string;
  answered: string;
  effective: string;
  with_duration: string;
  duration_ms_sum: number;
  pdd: Array<number | null>;
}

interface CodeRow {
  t: string;
  tenant: string;
  code: number;
  n: string;
}

const finite = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

const bucketSchema = {
  type: 'object',
  required: ['time', 'tenant', 'attempts', 'answered', 'asr', 'acd_ms', 'ner', 'pdd_ms', 'by_code'],
  properties: {
    time: { type: 'string', format: 'date-time', description: 'Start of the interval' },
    tenant: { type: 'string' },
    attempts: { type: 'integer' },
    answered: { type: 'integer' },
    asr: { type: ['number', 'null'], description: 'answered / attempts' },
    acd_ms: { type: ['number', 'null'], description: 'mean duration of answered calls with a known duration' },
    ner: { type: ['number', 'null'], description: '(answered + user-determined failures) / attempts (ITU-T E.411)' },
    pdd_ms: {
      type: 'object',
      required: ['p50', 'p90', 'p99'],
      properties: { p50: { type: ['number', 'null'] }, p90: { type: ['number', 'null'] }, p99: { type: ['number', 'null'] } },
    },
    by_code: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Calls by final SIP status ("0": no final response)' },
  },
} as const;

export const statsRoutes: FastifyPluginAsync<DataRouteOptions> = async (app, opts) => {
  app.get<{ Querystring: Query }>('/v1/stats', {
    config: { scope: 'calls.read' },
    schema: {
      tags: ['stats'],
      summary: 'ASR, ACD, NER, PDD quantiles and calls by code per interval and tenant',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          from: { type: 'string', description: 'RFC 3339; default `to` minus 24 h' },
          to: { type: 'string', description: 'RFC 3339; default now' },
          interval: { type: 'string', enum: Object.keys(INTERVALS), default: '1h' },
          tenant: tenantParam,
        },
      },
      response: {
        200: {
          type: 'object',
          required: ['from', 'to', 'interval', 'buckets'],
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            interval: { type: 'string' },
            buckets: { type: 'array', items: bucketSchema },
          },
        },
      },
    },
  }, async (req) => {
    const q = req.query;
    const interval = q.interval ?? '1h';
    const sec = INTERVALS[interval];
    const range = timeRange(q, opts.maxRangeMs);
    if ((range.toUs - range.fromUs) / 1e6 / sec > MAX_BUCKETS) {
      throw new ApiProblem(422, 'invalid-parameter', 'A request parameter is invalid', `from..to at ${interval} gives more than ${MAX_BUCKETS} intervals; pick a longer interval`, 'interval');
    }
    const tenant = effectiveTenant(principalOf(req), q.tenant);
    const params: QueryParams = { from: chTime(range.fromUs), to: chTime(range.toUs), sec, ...(tenant !== undefined ? { tenant } : {}) };
    const t = tenant !== undefined ? ' AND tenant = {tenant:String}' : '';
    const [kpis, codes] = await Promise.all([
      opts.store.query<KpiRow>(
        `SELECT toString(toStartOfInterval(minute, toIntervalSecond({sec:UInt32}))) AS t, tenant,
           sum(attempts) AS attempts, sum(answered) AS answered, sum(effective) AS effective, sum(with_duration) AS with_duration,
           sum(duration_ms_sum) AS duration_ms_sum, quantilesMerge(0.5, 0.9, 0.99)(pdd_ms) AS pdd
         FROM calls_minute
         WHERE minute >= toDateTime({from:DateTime64(6)}) AND minute < toDateTime({to:DateTime64(6)})${t}
         GROUP BY t, tenant ORDER BY t, tenant`, params),
      opts.store.query<CodeRow>(
        `SELECT toString(toStartOfInterval(toDateTime(setup_ts), toIntervalSecond({sec:UInt32}))) AS t, tenant, ifNull(final_status, 0) AS code, count() AS n
         FROM calls
         WHERE setup_ts >= toStartOfMinute({from:DateTime64(6)}) AND setup_ts < toStartOfMinute({to:DateTime64(6)})${t}
         GROUP BY t, tenant, code ORDER BY t, tenant, code`, params),
    ]);
    const byCode = new Map<string, Record<string, number>>();
    for (const c of codes) {
      const k = `${c.t}|${c.tenant}`;
      const m = byCode.get(k) ?? {};
      m[String(c.code)] = Number(c.n);
      byCode.set(k, m);
    }
    return {
      from: rfc3339(range.fromUs),
      to: rfc3339(range.toUs),
      interval,
      buckets: kpis.map((k) => {
        const attempts = Number(k.attempts);
        const answered = Number(k.answered);
        return {
          time: isoTime(k.t)!,
          tenant: k.tenant,
          attempts,
          answered,
          asr: ratio(answered, attempts),
          acd_ms: ratio(k.duration_ms_sum, Number(k.with_duration)),
          ner: ratio(Number(k.effective), attempts),
          pdd_ms: { p50: finite(k.pdd[0]), p90: finite(k.pdd[1]), p99: finite(k.pdd[2]) },
          by_code: byCode.get(`${k.t}|${k.tenant}`) ?? {},
        };
      }),
    };
  });
};
