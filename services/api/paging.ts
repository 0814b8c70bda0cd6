/**
 * List helpers every `/v1` collection uses: RFC 3339 time ranges, keyset pagination with an opaque cursor and a
 * `next` link, and the query-string schema pieces that go with them. Keyset (not OFFSET) so page 1,000 costs what
 * page 1 costs and rows inserted meanwhile neither repeat nor vanish.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiProblem } from './contract.ts';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;
const DEFAULT_RANGE_MS = 86_400_000;

/** RFC 3339 with a mandatory offset (Z or ±hh:mm); fractions up to µs are kept. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export const listQueryProperties = {
  from: { type: 'string', description: 'Start of the time range, RFC 3339 (e.g. 2026-11-30T08:00:00Z). Default: `to` minus 24 h.' },
  to: { type: 'string', description: 'End of the time range (exclusive), RFC 3339. Default: now.' },
  limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `Page size, 1-${MAX_LIMIT}.` },
  cursor: { type: 'string', maxLength: 2048, description: 'Opaque cursor from a previous page\'s `next`.' },
  format: { type: 'string', enum: ['json', 'csv'], description: 'csv streams every row of the range (also `Accept: text/csv`).' },
} as const;

export interface ListQuery {
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  format?: 'json' | 'csv';
}

/** µs since the epoch from RFC 3339 text; 422 naming `param` otherwise. */
export function parseRfc3339Us(text: string, param: string): number {
  const m = RFC3339.exec(text);
  const ms = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]!.toUpperCase()}`) : Number.NaN;
  if (!m || Number.isNaN(ms) || Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) {
    throw new ApiProblem(422, 'invalid-parameter', 'A request parameter is invalid',
      `${param} must be an RFC 3339 date-time with offset, e.g. 2026-11-30T08:00:00Z; got ${JSON.stringify(text.slice(0, 60))}`, param);
  }
  const frac = m[7] ? Math.floor(Number(`0${m[7]}`) * 1e6) : 0;
  return ms * 1000 + frac;
}

/** `YYYY-MM-DD hh:mm:ss.ffffff` (UTC), the text DateTime64(6) parameters take. */
export function chTime(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(((us % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, '0')}`;
}

/** ClickHouse `YYYY-MM-DD hh:mm:ss[.ffffff]` UTC text → RFC 3339 (`…Z`), the form every response uses. */
export function isoTime(ch: string | null | undefined): string | null {
  if (ch === null || ch === undefined || ch === '') return null;
  return `${ch.replace(' ', 'T')}Z`;
}

export interface TimeRange {
  readonly fromUs: number;
  readonly toUs: number;
}

export function timeRange(q: { from?: string; to?: string }, maxRangeMs: number, nowMs = Date.now(), defaultRangeMs = DEFAULT_RANGE_MS): TimeRange {
  const toUs = q.to !== undefined ? parseRfc3339Us(q.to, 'to') : nowMs * 1000;
  const fromUs = q.from !== undefined ? parseRfc3339Us(q.from, 'from') : toUs - defaultRangeMs * 1000;
  if (fromUs >= toUs) throw new ApiProblem(422, 'invalid-parameter', 'A request parameter is invalid', '`from` must be before `to`', 'from');
  if (toUs - fromUs > maxRangeMs * 1000) {
    throw new ApiProblem(422, 'invalid-parameter', 'A request parameter is invalid',
      `the range from..to may span at most ${Math.round(maxRangeMs / 3_600_000)} h (API_MAX_RANGE); narrow it`, 'from');
  }
  return { fromUs, toUs };
}

/** A fingerprint of the filters, so a cursor is only accepted with the query that produced it. */
export function filterFingerprint(filters: Record<string, unknown>): string {
  const norm = Object.keys(filters).sort().filter((k) => filters[k] !== undefined).map((k) => [k, filters[k]]);
  return createHash('sha256').update(JSON.stringify(norm)).digest('base64url').slice(0, 12);
}

export function encodeCursor(key: readonly (string | number)[], fingerprint: string): string {
  return Buffer.from(JSON.stringify({ k: key, f: fingerprint }), 'utf8').toString('base64url');
}

/** The sort key after which the page starts; 422 for a cursor that is junk or belongs to other filters. */
export function decodeCursor(cursor: string | undefined, fingerprint: string, arity: number): Array<string | number> | undefined {
  if (cursor === undefined) return undefined;
  const bad = (why: string): never => {
    throw new ApiProblem(422, 'invalid-cursor', 'The cursor is not valid here', why, 'cursor');
  };
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return bad('the cursor is not one this API issued; start again without it');
  }
  const o = v as { k?: unknown; f?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.k) || o.k.length !== arity
    || !o.k.every((x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)))) {
    return bad('the cursor is not one this API issued; start again without it');
  }
  if (o.f !== fingerprint) bad('the cursor belongs to a query with other filters; repeat the same filters or start without a cursor');
  return o.k as Array<string | number>;
}

/** Base URL for links: the configured public URL, else the request's own scheme and host. */
export function baseUrl(req: FastifyRequest, publicUrl: URL | undefined): string {
  if (publicUrl !== undefined) return publicUrl.toString().replace(/\/$/, '');
  return `${req.protocol}://${req.host}`;
}

export function pageSchema(item: object): object {
  return {
    type: 'object',
    required: ['items', 'next'],
    properties: {
      items: { type: 'array', items: item },
      next: { type: ['string', 'null'], description: 'URL of the next page; null on the last page.' },
    },
  };
}

/** ClickHouse DateTime64(6) text (UTC) → µs since the epoch. */
export function chToUs(ch: string): number {
  const [date, time = '00:00:00'] = ch.split(' ');
  const [hms, frac = '0'] = time.split('.');
  return Date.parse(`${date}T${hms}Z`) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6));
}

export function rfc3339(us: number): string {
  return isoTime(chTime(us))!;
}
