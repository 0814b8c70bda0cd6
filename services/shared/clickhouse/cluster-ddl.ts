/**
 * The replicated, sharded variant of the schema, derived from the single-node migrations in `sql/` so the two cannot
 * drift: every `CREATE TABLE t (...) ENGINE = <X>MergeTree(...)` becomes
 *   - `t_local ON CLUSTER c`, engine `Replicated<X>MergeTree('<path>/t_local', '{replica}', ...)` — the rows of one
 *     shard, replicated through ClickHouse Keeper; `non_replicated_deduplication_window` becomes
 *     `replicated_deduplication_window` (the insert deduplication the analyzer's exactly-once relies on);
 *   - `t ON CLUSTER c AS t_local`, engine `Distributed(c, currentDatabase(), t_local, <sharding key>)` — the table
 *     readers (API, Grafana) and the other writers use, under the name they already use.
 * Materialized views run on every shard over the local tables (`FROM t_local`, `TO rollup_local`), plain views over
 * the Distributed tables; `ALTER`s go to the local table, and column changes to the Distributed table as well.
 * A statement kind the mapping does not know is refused with the statement named, so a new migration that needs a
 * cluster rule fails the test (`test/integration/clickhouse-cluster-ddl.test.ts`) rather than drifting.
 *
 * `twin: true` derives the same statements for one node without Keeper or a cluster (the dev/CI engine): no
 * `ON CLUSTER`, the non-replicated engine with its original settings, and a `Merge` table over `t_local` standing in
 * for the Distributed one; the test runs that twin and parses the real cluster statements (see `sql/cluster/README.md`).
 */
import { splitStatements } from './statements.ts';

export interface ClusterDdlOptions {
  /** Cluster name in the servers' `remote_servers`. */
  readonly cluster: string;
  /** Keeper path prefix of the replicated tables; `{shard}` and `{database}` are server macros. */
  readonly keeperPath?: string;
  /** Single-node twin for engines without Keeper (see above). */
  readonly twin?: boolean;
}

export interface MigrationSource {
  readonly name: string;
  readonly statements: readonly string[];
}

export interface ClusterStatement {
  /** Migration file the statement comes from. */
  readonly source: string;
  readonly sql: string;
  /** For a Distributed table: its sharding key, checked against the local table by the test. */
  readonly shardingKey?: { readonly table: string; readonly expr: string };
}

export class ClusterDdlError extends Error {}

const LOCAL = '_local';
const MERGE_TREES = new Set(['MergeTree', 'ReplacingMergeTree', 'SummingMergeTree', 'AggregatingMergeTree',
  'CollapsingMergeTree', 'VersionedCollapsingMergeTree', 'GraphiteMergeTree']);
/** Engines whose rows with equal sorting keys must meet on one shard to be replaced/summed/collapsed. */
const KEYED_MERGE = /^(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)MergeTree$/;
const COLUMN_OPS = /^(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b/i;

/** Index of the parenthesis closing the one at `open`, skipping quoted text. */
function closing(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      for (i++; i < sql.length && sql[i] !== ch; i++) if (sql[i] === '\\') i++;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  throw new ClusterDdlError(`unbalanced parentheses in: ${sql.slice(0, 120)}`);
}

/** Splits on commas outside parentheses and quotes. */
function topLevelSplit(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      for (i++; i < text.length && text[i] !== ch; i++) if (text[i] === '\\') i++;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter((s) => s !== '');
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The sorting key of a table as a list of expressions (`ORDER BY (a, f(b))` → `a, f(b)`). */
function orderBy(tail: string): string | undefined {
  const m = /\bORDER BY\s+/i.exec(tail);
  if (!m) return undefined;
  const rest = tail.slice(m.index + m[0].length);
  if (rest.startsWith('(')) return rest.slice(1, closing(rest, 0)).trim();
  return /^[^\n]+?(?=\s+(TTL|SETTINGS|PARTITION BY|PRIMARY KEY|SAMPLE BY)\b|\s*$)/is.exec(rest)?.[0].trim();
}

export function clusterDdl(files: readonly MigrationSource[], opts: ClusterDdlOptions): ClusterStatement[] {
  const twin = opts.twin ?? false;
  const on = twin ? '' : ` ON CLUSTER ${opts.cluster}`;
  const keeper = opts.keeperPath ?? '/clickhouse/tables/{shard}/{database}';
  const tables = new Set<string>();
  const out: ClusterStatement[] = [];
  const localize = (select: string): string =>
    select.replace(/\b(FROM|JOIN)(\s+)([A-Za-z_][A-Za-z0-9_]*)\b/gi, (all, kw: string, sp: string, t: string) =>
      (tables.has(t) ? `${kw}${sp}${t}${LOCAL}` : all));

  for (const file of files) {
    const emit = (sql: string, shardingKey?: ClusterStatement['shardingKey']): void => {
      out.push({ source: file.name, sql, ...(shardingKey ? { shardingKey } : {}) });
    };
    for (const raw of file.statements) {
      const stmt = raw.trim();
      let m: RegExpExecArray | null;
      if ((m = /^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(/i.exec(stmt))) {
        const name = m[2]!;
        const ifNot = m[1] ? 'IF NOT EXISTS ' : '';
        const open = m[0].length - 1;
        const close = closing(stmt, open);
        const columns = stmt.slice(open, close + 1);
        const after = stmt.slice(close + 1);
        const e = /^\s*ENGINE\s*=\s*([A-Za-z]+)/i.exec(after);
        if (!e || !MERGE_TREES.has(e[1]!)) {
          throw new ClusterDdlError(`${file.name}: table ${name}: engine ${e?.[1] ?? '(none)'} has no replicated variant; add a rule to cluster-ddl.ts`);
        }
        const engine = e[1]!;
        let rest = after.slice(e[0].length);
        let args: string[] = [];
        if (/^\s*\(/.test(rest)) {
          const start = rest.indexOf('(');
          const end = closing(rest, start);
          args = topLevelSplit(rest.slice(start + 1, end));
          rest = rest.slice(end + 1);
        }
        if (!/^\s/.test(rest) && rest !== '') rest = `\n${rest}`;
        const key = orderBy(rest);
        tables.add(name);
        const local = `${name}${LOCAL}`;
        if (twin) {
          emit(`CREATE TABLE ${ifNot}${local} ${columns} ENGINE = ${engine}${args.length ? `(${args.join(', ')})` : ''}${rest}`);
        } else {
          const repl = [quote(`${keeper}/${local}`), quote('{replica}'), ...args];
          const tail = rest.replace(/\bnon_replicated_deduplication_window\b/g, 'replicated_deduplication_window');
          emit(`CREATE TABLE ${ifNot}${local}${on} ${columns} ENGINE = Replicated${engine}(${repl.join(', ')})${tail}`);
        }
        // Rows that a keyed engine merges must land on one shard; plain tables keep a call together when they can.
        const shardBy = KEYED_MERGE.test(engine) && key ? `cityHash64(${key})`
          : /^\s*call_id\s/m.test(columns) ? 'cityHash64(call_id)' : 'rand()';
        const shardingKey = { table: local, expr: shardBy };
        emit(twin
          ? `CREATE TABLE ${ifNot}${name} AS ${local} ENGINE = Merge(currentDatabase(), ${quote(`^${local}$`)})`
          : `CREATE TABLE ${ifNot}${name}${on} AS ${local} ENGINE = Distributed(${quote(opts.cluster)}, currentDatabase(), ${quote(local)}, ${shardBy})`,
        shardingKey);
      } else if ((m = /^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+TO\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+/is.exec(stmt))) {
        const target = m[3]!;
        if (!tables.has(target)) throw new ClusterDdlError(`${file.name}: materialized view ${m[2]} writes to ${target}, which no migration created as a table`);
        emit(`CREATE MATERIALIZED VIEW ${m[1] ? 'IF NOT EXISTS ' : ''}${m[2]}${on} TO ${target}${LOCAL} AS ${localize(stmt.slice(m[0].length))}`);
      } else if (/^CREATE\s+MATERIALIZED\s+VIEW\b/i.test(stmt)) {
        throw new ClusterDdlError(`${file.name}: a materialized view without TO has an implicit inner table; write it with TO <table>: ${stmt.slice(0, 120)}`);
      } else if ((m = /^CREATE\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+/is.exec(stmt))) {
        emit(`CREATE VIEW ${m[1] ? 'IF NOT EXISTS ' : ''}${m[2]}${on} AS ${stmt.slice(m[0].length)}`);
      } else if ((m = /^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+/i.exec(stmt))) {
        const name = m[1]!;
        if (!tables.has(name)) throw new ClusterDdlError(`${file.name}: ALTER of ${name}, which no migration created as a table`);
        const ops = topLevelSplit(stmt.slice(m[0].length));
        emit(`ALTER TABLE ${name}${LOCAL}${on} ${ops.join(', ')}`);
        const columnOps = ops.filter((op) => COLUMN_OPS.test(op));
        if (columnOps.length > 0) emit(`ALTER TABLE ${name}${on} ${columnOps.join(', ')}`);
      } else if ((m = /^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$/i.exec(stmt))) {
        const ifExists = m[2] ? 'IF EXISTS ' : '';
        emit(`DROP ${m[1]!.toUpperCase()} ${ifExists}${m[3]}${on}`);
        if (tables.has(m[3]!)) emit(`DROP TABLE ${ifExists}${m[3]}${LOCAL}${on}`);
      } else {
        throw new ClusterDdlError(`${file.name}: no cluster rule for this statement; add one to cluster-ddl.ts: ${stmt.slice(0, 120)}`);
      }
    }
  }
  return out;
}

/** Convenience for callers holding file texts (the runner's `loadMigrations` gives statements already). */
export function clusterDdlFromText(files: readonly { name: string; text: string }[], opts: ClusterDdlOptions): ClusterStatement[] {
  return clusterDdl(files.map((f) => ({ name: f.name, statements: splitStatements(f.text) })), opts);
}
