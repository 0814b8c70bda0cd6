/**
 * One list response for every collection: a keyset page as JSON with its `next` link (and a Link header), or the
 * whole range as streamed CSV, from the same fetch function, so both always agree.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { QueryParams, SqlStore } from '../shared/clickhouse/client.ts';
import { keysetPages, sendCsv, wantsCsv, type CsvColumn } from './csv.ts';
import { DEFAULT_LIMIT, decodeCursor, encodeCursor, filterFingerprint, rfc3339, type ListQuery, type TimeRange, baseUrl } from './paging.ts';

export type SortKey = Array<string | number>;

export interface Statement {
  readonly sql: string;
  readonly params: QueryParams;
}

/** ` LIMIT n` as a parameter, or nothing. */
export function limitClause(params: QueryParams, limit: number | undefined): string {
  if (limit === undefined) return '';
  params['limit'] = limit;
  return ' LIMIT {limit:UInt32}';
}

export interface ListSpec<R, T> {
  readonly query: ListQuery;
  /** Every filter that shapes the result (the tenant included), to bind cursors to their query. */
  readonly filters: Record<string, unknown>;
  readonly range: TimeRange;
  readonly publicUrl: URL | undefined;
  readonly arity: number;
  readonly store: SqlStore;
  /**
   * The list's statement: rows sorted by the key (newest first), after `after`, at most `limit` (none: the whole
   * range), within `window` when given (else the whole range).
   */
  readonly statement: (after: SortKey | undefined, limit: number | undefined, window?: TimeRange) => Statement;
  /**
   * Set for newest-first lists whose key starts with the row's time: a page is first looked for in the newest
   * hour before the cursor, then 6 h, 1 day …, so a page of a busy range reads a slice of it, not all of it.
   */
  readonly keyTimeUs?: (key: SortKey) => number;
  readonly keyOf: (r: R) => SortKey;
  readonly toItem: (r: R) => T;
  readonly csvName: string;
  readonly csvColumns: readonly CsvColumn<T>[];
  /** Rows per export page (default 20,000). */
  readonly exportPage?: number;
}

export async function respondList<R, T>(req: FastifyRequest, reply: FastifyReply, s: ListSpec<R, T>): Promise<unknown> {
  const fp = filterFingerprint({ ...s.filters, from: s.range.fromUs, to: s.range.toUs });
  const after = decodeCursor(s.query.cursor, fp, s.arity);
  if (wantsCsv(req, s.query.format)) {
    // Keyset pages of EXPORT_PAGE rows, each one streamed when the store can stream (rows arrive in chunks as the
    // client reads them), else fetched whole. Memory holds a chunk (or a page), never the export; and no single
    // ClickHouse response has to stay open for the whole export, which a slow client would otherwise stretch past
    // the server's send timeout.
    const { store } = s;
    const rows: AsyncIterable<R[]> = store.stream !== undefined
      ? streamedPages(store.stream.bind(store), s, after, s.exportPage ?? EXPORT_PAGE)
      : keysetPages((a, n) => { const st = s.statement(a, n); return store.query<R>(st.sql, st.params); }, s.keyOf, after, s.exportPage ?? EXPORT_PAGE);
    async function* items(): AsyncGenerator<T[]> {
      for await (const page of rows) yield page.map(s.toItem);
    }
    return sendCsv(req, reply, s.csvName, s.csvColumns, items());
  }
  const limit = s.query.limit ?? DEFAULT_LIMIT;
  const rows = await pageRows<R>(s, after, limit + 1);
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  let next: string | null = null;
  if (more) {
    // The next link pins the resolved range, so "the last 24 h" does not slide between pages.
    const u = new URL(req.url, 'http://x');
    u.searchParams.set('from', rfc3339(s.range.fromUs));
    u.searchParams.set('to', rfc3339(s.range.toUs));
    u.searchParams.set('cursor', encodeCursor(s.keyOf(shown[shown.length - 1]!), fp));
    next = `${baseUrl(req, s.publicUrl)}${u.pathname}?${u.searchParams.toString()}`;
    reply.header('link', `<${next}>; rel="next"`);
  }
  return { items: shown.map(s.toItem), next };
}

const EXPORT_PAGE = 20_000;
const PROBE_WINDOWS_US = [3_600_000_000, 21_600_000_000, 86_400_000_000, 7 * 86_400_000_000];

/**
 * Rows newer than the window's start are all newer than anything outside it, so once a window holds `want` rows
 * they are exactly the first `want` rows of the whole range.
 */
async function pageRows<R>(s: Pick<ListSpec<R, never>, 'statement' | 'store' | 'range' | 'keyTimeUs'>, after: SortKey | undefined, want: number): Promise<R[]> {
  const { fromUs, toUs } = s.range;
  if (s.keyTimeUs === undefined) {
    const st = s.statement(after, want);
    return s.store.query<R>(st.sql, st.params);
  }
  const upper = after === undefined ? toUs : Math.min(toUs, s.keyTimeUs(after) + 1);
  for (const w of PROBE_WINDOWS_US) {
    const lo = Math.max(fromUs, upper - w);
    const st = s.statement(after, want, { fromUs: lo, toUs: upper });
    const rows = await s.store.query<R>(st.sql, st.params);
    if (rows.length >= want || lo === fromUs) return rows;
  }
  const st = s.statement(after, want, { fromUs, toUs: upper });
  return s.store.query<R>(st.sql, st.params);
}

async function* streamedPages<R>(stream: NonNullable<SqlStore['stream']>, s: Pick<ListSpec<R, unknown>, 'statement' | 'keyOf'>,
  start: SortKey | undefined, page: number): AsyncGenerator<R[]> {
  let after = start;
  for (;;) {
    const st = s.statement(after, page);
    let n = 0;
    let last: R | undefined;
    for await (const chunk of stream<R>(st.sql, st.params)) {
      if (chunk.length === 0) continue;
      n += chunk.length;
      last = chunk[chunk.length - 1];
      yield chunk;
    }
    if (n < page || last === undefined) return;
    after = s.keyOf(last);
  }
}
