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
  /** The list's statement: rows sorted by the key, after `after`, at most `limit` (none: the whole range). */
  readonly statement: (after: SortKey | undefined, limit: number | undefined) => Statement;
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
  const st = s.statement(after, limit + 1);
  const rows = await s.store.query<R>(st.sql, st.params);
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
