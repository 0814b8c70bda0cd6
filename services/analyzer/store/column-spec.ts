/**
 * One column spec per analyzer table, generated from `sql/` (`npm run analyzer-columns` writes `columns.ts`), and
 * the row types derived from it: a row builder that leaves out a column, adds one or gives it the wrong kind of
 * value fails type-checking, and a migration that changes a table changes the generated spec (a test fails until
 * it is regenerated: test/integration/analyzer-columns.test.ts).
 */
import type { SqlStore } from '../../shared/clickhouse/client.ts';

/**
 * ClickHouse type text (as `system.columns` spells it) → the value a row carries for it. DateTime64(6) is µs since
 * the epoch as a number (written as an Int64 in RowBinary, as text in JSON: table-writer.ts); a type the encoders
 * do not handle (another DateTime precision, Date, Decimal, ...) is `never`, so a migration that adds one fails
 * type-checking until row-binary.ts handles it.
 */
export type ValueOf<T extends string> =
  T extends `Nullable(${infer U})` ? ValueOf<U> | null
    : T extends `LowCardinality(${infer U})` ? ValueOf<U>
      : T extends `Array(${infer U})` ? Array<ValueOf<U>>
        : T extends `DateTime64(6${string}` ? number
          : T extends 'String' ? string
            : T extends 'Bool' ? boolean
              : T extends `Enum8(${string}` | `Enum16(${string}` ? string
                : T extends 'UInt64' | 'Int64' ? number | string
                  : T extends `${'UInt' | 'Int' | 'Float'}${number}` ? number
                    : never;

export type RowOf<Spec extends Readonly<Record<string, string>>> = { -readonly [K in keyof Spec]: ValueOf<Spec[K]> };

export const ANALYZER_TABLES = ['sip_messages', 'sip_quarantine', 'qos', 'calls', 'registrations'] as const;

/** Reads the columns of the analyzer's tables (in table order) from a migrated database. */
export async function readColumns(store: SqlStore): Promise<Array<{ table: string; name: string; type: string }>> {
  return store.query<{ table: string; name: string; type: string }>(
    `SELECT table, name, type FROM system.columns
     WHERE database = currentDatabase() AND table IN {t:Array(String)} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')
     ORDER BY table, position`, { t: [...ANALYZER_TABLES] });
}

/** The text of `columns.ts` for those columns. */
export function renderColumns(cols: ReadonlyArray<{ table: string; name: string; type: string }>): string {
  const lines = [
    '// Generated from sql/ by `npm run analyzer-columns` (services/analyzer/store/column-spec.ts). Do not edit.',
    '// Every column the analyzer inserts, per table, with its ClickHouse type as system.columns spells it.',
    '',
    'export const COLUMNS = {',
  ];
  for (const t of ANALYZER_TABLES) {
    lines.push(`  ${t}: {`);
    for (const c of cols.filter((x) => x.table === t)) lines.push(`    ${c.name}: ${JSON.stringify(c.type)},`);
    lines.push('  },');
  }
  lines.push('} as const;', '');
  return lines.join('\n');
}
