/**
 * The ClickHouse datasource's server-side macros, expanded exactly as the plugin's backend does
 * (grafana/clickhouse-datasource `pkg/macros/macros.go`, matched with sqlds' `$__name\b(args)` parser), so a panel's
 * SQL can be run on the engine without Grafana. `from`/`to` are the panel's time range, `intervalMs` the panel
 * interval Grafana computed for it.
 */

export interface MacroContext {
  readonly from: Date;
  readonly to: Date;
  readonly intervalMs: number;
}

export class MacroError extends Error {
  constructor(readonly macro: string, message: string) {
    super(`${macro}: ${message}`);
    this.name = 'MacroError';
  }
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const toDateTime = (d: Date): string => `toDateTime(${seconds(d)})`;
const toDateTime64 = (d: Date): string => `fromUnixTimestamp64Milli(${d.getTime()})`;
const toDate = (d: Date): string => `toDate('${d.toISOString().slice(0, 10)}')`;

type Macro = (ctx: MacroContext, args: readonly string[]) => string;

function oneArg(name: string, f: (ctx: MacroContext, column: string) => string): Macro {
  return (ctx, args) => {
    if (args.length !== 1) throw new MacroError(`$__${name}`, `expected 1 argument, received ${args.length}`);
    return f(ctx, args[0]!);
  };
}

/** Go's `int(math.Max(d.Seconds(), 1))`: truncation towards zero of a float. */
const intervalSeconds = (ctx: MacroContext): number => Math.trunc(Math.max(ctx.intervalMs / 1000, 1));

/** Grafana duration strings as `gtime.ParseInterval` reads them (s, m, h, d, w; ms). */
function parseInterval(raw: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(raw.trim().replace(/^['"]|['"]$/g, ''));
  if (m === null) throw new MacroError('$__timeGroup', `interval "${raw}" is not a duration such as 30s, 5m or 1h`);
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  return Number(m[1]) * unit[m[2]!]!;
}

const MACROS: Record<string, Macro> = {
  fromTime: (ctx) => toDateTime(ctx.from),
  toTime: (ctx) => toDateTime(ctx.to),
  fromTime_ms: (ctx) => toDateTime64(ctx.from),
  toTime_ms: (ctx) => toDateTime64(ctx.to),
  timeFilter: oneArg('timeFilter', (ctx, c) => `${c} >= ${toDateTime(ctx.from)} AND ${c} <= ${toDateTime(ctx.to)}`),
  timeFilter_ms: oneArg('timeFilter_ms', (ctx, c) => `${c} >= ${toDateTime64(ctx.from)} AND ${c} <= ${toDateTime64(ctx.to)}`),
  dateFilter: oneArg('dateFilter', (ctx, c) => `${c} >= ${toDate(ctx.from)} AND ${c} <= ${toDate(ctx.to)}`),
  timeInterval: oneArg('timeInterval', (ctx, c) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${intervalSeconds(ctx)} second)`),
  timeInterval_ms: oneArg('timeInterval_ms',
    (ctx, c) => `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${Math.trunc(Math.max(ctx.intervalMs, 1))} millisecond)`),
  interval_s: (ctx) => String(intervalSeconds(ctx)),
  timeGroup: (_ctx, args) => {
    if (args.length !== 2) throw new MacroError('$__timeGroup', `expected 2 arguments, received ${args.length}`);
    return `toStartOfInterval(toDateTime(${args[0]}), INTERVAL ${Math.trunc(parseInterval(args[1]!))} second)`;
  },
};

/**
 * The argument list right after a macro name: `(a, f(b, c))` → ['a', 'f(b, c)'] and its length in characters;
 * no parenthesis → no arguments. Commas split only at the outer level; arguments are trimmed.
 */
function parseArgs(rest: string, macro: string): { args: string[]; length: number } {
  if (!rest.startsWith('(')) return { args: [], length: 0 };
  let depth = 0;
  let start = 1;
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        const last = rest.slice(start, i).trim();
        if (last !== '' || args.length > 0) args.push(last);
        return { args, length: i + 1 };
      }
    } else if (ch === ',' && depth === 1) {
      args.push(rest.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new MacroError(macro, 'missing closing parenthesis');
}

/** Expands every `$__macro` the plugin's backend knows; anything else (e.g. a Grafana variable) is left as is. */
export function expandMacros(sql: string, ctx: MacroContext): string {
  const re = /\$__([A-Za-z_]+)\b/g;
  let out = '';
  let last = 0;
  for (let m = re.exec(sql); m !== null; m = re.exec(sql)) {
    const name = m[1]!;
    const macro = MACROS[name];
    if (macro === undefined) continue;
    const { args, length } = parseArgs(sql.slice(re.lastIndex), `$__${name}`);
    out += sql.slice(last, m.index) + macro(ctx, args);
    last = re.lastIndex + length;
    re.lastIndex = last;
  }
  return out + sql.slice(last);
}

/** Names of the macros a query uses that the plugin does not know (a typo would reach ClickHouse verbatim). */
export function unknownMacros(sql: string): string[] {
  return [...sql.matchAll(/\$__([A-Za-z_]+)\b/g)].map((m) => m[1]!).filter((n) => MACROS[n] === undefined && n !== 'conditionalAll');
}
