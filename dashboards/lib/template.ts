/**
 * Grafana's dashboard-variable substitution for the ClickHouse datasource, reproduced for tests: the plugin's
 * frontend first rewrites `$__conditionalAll(cond, $var)` (to `1=1` when the variable is empty or All), then calls
 * `templateSrv.replace(sql, scopedVars, format)` with its own format function: a multi-value list becomes
 * `'a','b'` (no escaping), a single value is inserted raw. An explicit `${var:format}` uses Grafana's formatter.
 */

export const ALL_VALUE = '$__all';

export interface VariableOption {
  readonly text: string;
  readonly value: string;
}

export interface VariableState {
  readonly name: string;
  /** The selected value(s): a string, or an array for multi-value variables (`$__all` for All). */
  readonly current: string | readonly string[];
  /** Text shown for the selection (custom `text : value` options); defaults to the value. */
  readonly text?: string | readonly string[];
  /** Every option the variable offers (without All), used when All is selected and no `allValue` is set. */
  readonly options?: readonly VariableOption[];
  readonly allValue?: string;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

type Value = string | readonly string[];

const list = (v: Value): readonly string[] => (typeof v === 'string' ? [v] : v);

/** encodeURIComponent plus `!'()*`, as Grafana's percentencode does. */
const encodeStrict = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Grafana's variable formats (public/app/features/templating/formatRegistry.ts) that SQL panels use. */
const FORMATS: Record<string, (v: Value, text: Value) => string> = {
  raw: (v) => list(v).join(','),
  csv: (v) => list(v).join(','),
  pipe: (v) => list(v).join('|'),
  json: (v) => JSON.stringify(v),
  text: (_v, t) => list(t).join(' + '),
  singlequote: (v) => list(v).map((x) => `'${x.replace(/'/g, "\\'")}'`).join(','),
  doublequote: (v) => list(v).map((x) => `"${x.replace(/"/g, '\\"')}"`).join(','),
  sqlstring: (v) => list(v).map((x) => `'${x.replace(/'/g, "''")}'`).join(','),
  percentencode: (v) => (typeof v === 'string' ? encodeStrict(v) : encodeStrict(`{${v.join(',')}}`)),
};

/** The ClickHouse plugin's `format(value)` (src/data/CHDatasource.ts), used when no explicit format is given. */
function clickhouseDefault(v: Value): string {
  return typeof v === 'string' ? v : `'${v.join("','")}'`;
}

const isAll = (v: Value): boolean => (typeof v === 'string' ? v === ALL_VALUE : v.length > 0 && v[0] === ALL_VALUE);

/** Argument list of a macro call starting at `open` (a `(`): top-level comma split, as the plugin's getMacroArgs. */
function macroArgs(sql: string, open: number): { args: string[]; end: number } | undefined {
  let depth = 0;
  let start = open + 1;
  const args: string[] = [];
  for (let i = open; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        args.push(sql.slice(start, i));
        return { args, end: i + 1 };
      }
    } else if (ch === ',' && depth === 1) {
      args.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  return undefined;
}

/**
 * `$__conditionalAll(cond, $var)`: `1=1` when `$var`'s value is empty or All, else `cond`. As in plugin v4 (#445),
 * only the `$var` form names a variable; with `${var}` the variable is not found and `cond` is always kept.
 */
export function applyConditionalAll(sql: string, vars: readonly VariableState[]): string {
  const macro = '$__conditionalAll(';
  let at = sql.lastIndexOf(macro);
  while (at !== -1) {
    const parsed = macroArgs(sql, at + macro.length - 1);
    if (parsed === undefined || parsed.args.length !== 2) return sql;
    const [cond, ref] = parsed.args as [string, string];
    const name = ref.trim().slice(1);
    const v = vars.find((x) => x.name === name);
    const value = v === undefined ? undefined : list(v.current).join(',');
    const phrase = value === '' || value === ALL_VALUE ? '1=1' : cond;
    sql = sql.slice(0, at) + phrase + sql.slice(parsed.end);
    at = sql.lastIndexOf(macro);
  }
  return sql;
}

/** Grafana's variable reference syntax: `$name`, `[[name:fmt]]`, `${name:fmt}`. */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** `templateSrv.replace(sql, {}, clickhouseFormat)`: unknown names (and `$__macros`) are left untouched. */
export function interpolate(sql: string, vars: readonly VariableState[]): string {
  return sql.replace(VARIABLE, (match, n1?: string, n2?: string, f2?: string, n3?: string, _path?: string, f3?: string) => {
    const name = n1 ?? n2 ?? n3 ?? '';
    const v = vars.find((x) => x.name === name);
    if (v === undefined) return match;
    const fmt = f2 ?? f3;
    let value: Value = v.current;
    let text: Value = v.text ?? v.current;
    if (isAll(value)) {
      if (v.allValue !== undefined && fmt !== 'text') return v.allValue;
      value = (v.options ?? []).map((o) => o.value);
      text = 'All';
    }
    if (fmt === undefined) return clickhouseDefault(value);
    const f = FORMATS[fmt];
    if (f === undefined) throw new TemplateError(`variable ${name}: format "${fmt}" is not one tollgate's SQL panels use (${Object.keys(FORMATS).join(', ')})`);
    return f(value, text);
  });
}

/** What the plugin's frontend sends to its backend for a panel query. */
export function applyTemplateVariables(sql: string, vars: readonly VariableState[]): string {
  return interpolate(applyConditionalAll(sql, vars), vars);
}
