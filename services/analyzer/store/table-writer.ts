/**
 * How the analyzer's rows reach their tables: one codec per table from the generated column spec (`columns.ts`),
 * and the insert body in the configured format (`ANALYZER_INSERT_FORMAT`):
 *
 *   - `rowbinary` (default): RowBinary written from the rows as they are (row-binary.ts); times go in as µs;
 *   - `json`: JSONCompactEachRow, positional arrays with DateTime64 as `YYYY-MM-DD hh:mm:ss.ffffff` UTC text, the
 *     format used before; kept for comparison (bench/PROFILE.md) and as a fallback.
 *
 * Both send the same columns in the same order with the same token, and store the same values (proved by
 * test/integration/analyzer-insert-formats.test.ts).
 */
import type { InsertBody, SqlStore } from '../../shared/clickhouse/client.ts';
import { COLUMNS } from './columns.ts';
import { isEncodedRows, type RowBlock } from './encoded-rows.ts';
import { encodeRowBinary, tableCodec, type TableCodec } from './row-binary.ts';
import { formatUs, TABLES, type TableName } from './rows.ts';

export const INSERT_FORMATS = ['rowbinary', 'json'] as const;
export type InsertFormat = (typeof INSERT_FORMATS)[number];

export const CODECS: Readonly<Record<TableName, TableCodec>> = Object.fromEntries(
  TABLES.map((t) => [t, tableCodec(t, COLUMNS[t])])) as Record<TableName, TableCodec>;

/** Indexes of the columns holding µs times (DateTime64, also inside Nullable), per table. */
const TIME_COLUMNS: Readonly<Record<TableName, readonly number[]>> = Object.fromEntries(TABLES.map((t) => [t,
  CODECS[t].columns.flatMap((_, j) => (/^(Nullable\()?DateTime64\(/.test(CODECS[t].types[j]!.text) ? [j] : []))])) as unknown as Record<TableName, readonly number[]>;

/** Indexes of the String columns (which may carry UTF-8 bytes instead of text), per table. */
const STRING_COLUMNS: Readonly<Record<TableName, readonly number[]>> = Object.fromEntries(TABLES.map((t) => [t,
  CODECS[t].columns.flatMap((_, j) => (/^(LowCardinality\()?String\)?$/.test(CODECS[t].types[j]!.text) ? [j] : []))])) as unknown as Record<TableName, readonly number[]>;

/** Bytes as the text JSON carries; invalid UTF-8 becomes U+FFFD, as the RowBinary writer does too. */
function text(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.length).toString('utf8') : v;
}

function timeText(v: unknown): unknown {
  // Anything else is left for the server to refuse, as a row builder bug would have been before.
  return typeof v === 'number' ? formatUs(v) : v;
}

/** Positional JSON values of `rows`, times as text. A missing column is refused as `toCompactRows` refused it. */
export function jsonValues(table: TableName, rows: readonly Readonly<Record<string, unknown>>[]): unknown[][] {
  const { columns } = CODECS[table];
  const times = TIME_COLUMNS[table];
  const strings = STRING_COLUMNS[table];
  const n = columns.length;
  const out = new Array<unknown[]>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const v = new Array<unknown>(n);
    for (let j = 0; j < n; j++) v[j] = r[columns[j]!];
    for (const j of times) v[j] = timeText(v[j]);
    for (const j of strings) if (typeof v[j] !== 'string') v[j] = text(v[j]);
    out[i] = v;
  }
  return out;
}

/** The row as the JSON format carries it (times as text): for humans and the quarantine, not for inserts. */
export function textRow(table: TableName, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const j of TIME_COLUMNS[table]) {
    const c = CODECS[table].columns[j]!;
    if (c in out) out[c] = timeText(out[c]);
  }
  for (const j of STRING_COLUMNS[table]) {
    const c = CODECS[table].columns[j]!;
    if (c in out) out[c] = text(out[c]);
  }
  return out;
}

export function insertBody(format: InsertFormat, table: TableName, rows: RowBlock): InsertBody {
  if (format === 'rowbinary') {
    return { format: 'RowBinary', chunks: isEncodedRows(rows) ? rows.body() : encodeRowBinary(CODECS[table], rows), rows: rows.length };
  }
  return { format: 'JSONCompactEachRow', values: jsonValues(table, isEncodedRows(rows) ? rows.objects() : rows) };
}

/** The store's body insert, which the analyzer writes every table (and its snapshots) through. */
export function bodySender(store: SqlStore): NonNullable<SqlStore['insertBody']> {
  const send = store.insertBody;
  if (send === undefined) throw new Error('the analyzer needs a store with insertBody (createClickhouseStore)');
  return send;
}

/** `(table, rows, token) → insert`, for the consumer's batch sink. */
export function tableWriter(store: SqlStore, format: InsertFormat) {
  const send = bodySender(store);
  return async (table: TableName, rows: RowBlock, token: string): Promise<void> => {
    if (rows.length === 0) return;
    await send(table, CODECS[table].columns, insertBody(format, table, rows), { dedupToken: token });
  };
}
