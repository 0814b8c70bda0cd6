/**
 * Streamed CSV export (RFC 4180): pages are fetched one at a time through the same keyset query as the JSON list
 * and written as they come, so an export of a month holds one page in memory, and a slow client slows the
 * fetching (backpressure) instead of filling the heap.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface CsvColumn<R> {
  readonly name: string;
  readonly get: (row: R) => unknown;
}

/** `format=csv`, or no `format` and an Accept header that names text/csv. */
export function wantsCsv(req: FastifyRequest, format: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  const accept = req.headers.accept ?? '';
  return /(^|,)\s*text\/csv\b/i.test(accept);
}

const PHONE = /^\+?\d+$/;

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = Array.isArray(v) ? v.join(';') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // Spreadsheet formula injection: a cell starting with = + - @ runs as a formula; E.164 numbers stay as they are.
  if (/^[=+\-@\t\r]/.test(s) && !PHONE.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine<R>(cols: readonly CsvColumn<R>[], row: R): string {
  return `${cols.map((c) => csvField(c.get(row))).join(',')}\r\n`;
}

/**
 * Keyset pages until a short one: `fetch(after, size)` returns rows sorted by the key, starting after `after`.
 */
export async function* keysetPages<R>(fetch: (after: Array<string | number> | undefined, size: number) => Promise<R[]>,
  keyOf: (r: R) => Array<string | number>, after: Array<string | number> | undefined, size = 5000): AsyncGenerator<R[]> {
  let cursor = after;
  for (;;) {
    const rows = await fetch(cursor, size);
    if (rows.length > 0) yield rows;
    if (rows.length < size) return;
    cursor = keyOf(rows[rows.length - 1]!);
  }
}

/**
 * The first page is fetched before any header is sent, so a failing query still becomes a problem response;
 * after that the status line is out and a failure can only cut the stream.
 */
export async function sendCsv<R>(req: FastifyRequest, reply: FastifyReply, filename: string, cols: readonly CsvColumn<R>[], pages: AsyncIterable<R[]>): Promise<FastifyReply> {
  const it = pages[Symbol.asyncIterator]();
  const first = await it.next();
  async function* lines(): AsyncGenerator<string> {
    yield `${cols.map((c) => csvField(c.name)).join(',')}\r\n`;
    if (first.done === true) return;
    let page: IteratorResult<R[]> = first;
    for (; page.done !== true; page = await it.next()) {
      let chunk = '';
      for (const r of page.value) chunk += csvLine(cols, r);
      yield chunk;
    }
  }
  const body = Readable.from(lines(), { objectMode: false, highWaterMark: 1 });
  body.on('error', (err) => req.log.error({ err, reqId: req.id, route: req.routeOptions.url }, 'CSV export failed mid-stream'));
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(body);
}
