/**
 * Runs dashboard SQL the way Grafana and the ClickHouse plugin would: variables substituted by the frontend rules,
 * macros expanded by the backend rules, then the statement on the engine. Counts every statement it runs.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Dashboard, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { isClickHouseTarget } from '../../../dashboards/lib/clickhouse-query.ts';
import { expandMacros, type MacroContext } from '../../../dashboards/lib/macros.ts';
import { ALL_VALUE, applyTemplateVariables, type VariableState } from '../../../dashboards/lib/template.ts';

export interface Result {
  readonly columns: string[];
  readonly types: string[];
  readonly rows: unknown[][];
  /** Rows as objects keyed by column. */
  readonly objects: Array<Record<string, unknown>>;
  readonly sql: string;
}

export class PanelRunner {
  readonly client: ClickHouseClient;
  executed = 0;

  constructor(url: string, database: string) {
    this.client = createClient({ url, username: 'default', database, request_timeout: 60_000 });
  }

  render(sql: string, vars: readonly VariableState[], ctx: MacroContext): string {
    return expandMacros(applyTemplateVariables(sql, vars), ctx);
  }

  async run(sql: string, vars: readonly VariableState[], ctx: MacroContext): Promise<Result> {
    const rendered = this.render(sql, vars, ctx);
    let rs;
    try {
      rs = await this.client.query({ query: rendered, format: 'JSONCompactEachRowWithNamesAndTypes' });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- SQL as sent ---\n${rendered}`);
    }
    this.executed++;
    const all = await rs.json<unknown[]>();
    const columns = (all[0] ?? []) as string[];
    const types = (all[1] ?? []) as string[];
    const rows = all.slice(2);
    return { columns, types, rows, sql: rendered, objects: rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly sql: string;
}

/** Every ClickHouse SQL target of every panel (rows' nested panels included) and of every annotation. */
export function panelQueries(d: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  const visit = (p: { title?: string; targets?: unknown[]; panels?: unknown[] }) => {
    for (const t of p.targets ?? []) {
      if (isClickHouseTarget(t)) out.push({ dashboard: d.uid ?? '', panel: p.title ?? '', refId: t.refId ?? '', sql: t.rawSql });
    }
    for (const inner of p.panels ?? []) visit(inner as typeof p);
  };
  for (const p of d.panels ?? []) visit(p as Parameters<typeof visit>[0]);
  for (const a of d.annotations?.list ?? []) {
    const t = (a as { target?: unknown }).target;
    if (isClickHouseTarget(t)) out.push({ dashboard: d.uid ?? '', panel: `annotation: ${a.name}`, refId: t.refId ?? '', sql: t.rawSql });
  }
  return out;
}

export type Mode = 'all' | 'single' | 'multi';

/** The selections a test makes: for `single` one value per list variable, for `multi` several (all options listed). */
export interface Selection {
  readonly single: Record<string, string>;
  readonly multi: Record<string, readonly string[]>;
  readonly text: Record<string, string>;
}

interface RawVariable { type: string; name: string; query?: unknown; multi?: boolean; includeAll?: boolean; allValue?: string; current?: { value?: unknown; text?: unknown }; options?: Array<{ text: string; value: string }> }

/**
 * Resolves a dashboard's variables top to bottom as Grafana does on load: each ClickHouse query variable runs with
 * the selections made so far, its result becomes its options, then the mode's selection is applied.
 */
export async function resolveVariables(runner: PanelRunner, d: Dashboard, mode: Mode, sel: Selection, ctx: MacroContext,
  onVariableQuery?: (name: string, values: string[]) => void): Promise<VariableState[]> {
  const states: VariableState[] = [];
  for (const v of (d.templating?.list ?? []) as VariableModel[] as unknown as RawVariable[]) {
    if (v.type === 'query' && typeof v.query === 'string') {
      const res = await runner.run(v.query, states, ctx);
      const values = res.rows.map((r) => String(r[0]));
      onVariableQuery?.(v.name, values);
      const options = values.map((x) => ({ text: x, value: x }));
      // A selection the options do not offer (another dashboard's node names) falls back to what the query returned.
      const wanted = sel.single[v.name];
      const one = wanted !== undefined && values.includes(wanted) ? wanted : values[0] ?? '';
      const many = (sel.multi[v.name] ?? []).filter((x) => values.includes(x));
      const current = mode === 'all' ? [ALL_VALUE] : mode === 'single' ? [one] : many.length > 0 ? many : values;
      states.push({ name: v.name, current, options, ...(v.allValue !== undefined ? { allValue: v.allValue } : {}) });
    } else if (v.type === 'custom') {
      const options = v.options ?? [];
      if (v.multi) {
        const current = mode === 'all' ? [ALL_VALUE] : mode === 'single' ? [sel.single[v.name] ?? options[0]!.value] : [...(sel.multi[v.name] ?? options.map((o) => o.value))];
        states.push({ name: v.name, current, options });
      } else {
        // Single-value custom variable (interval): auto in `all` mode, a fixed choice otherwise.
        const value = mode === 'all' ? String(v.current?.value ?? options[0]?.value) : (sel.single[v.name] ?? options[0]!.value);
        const text = options.find((o) => o.value === value)?.text ?? value;
        states.push({ name: v.name, current: value, text, options });
      }
    } else if (v.type === 'textbox') {
      states.push({ name: v.name, current: mode === 'all' ? String(v.current?.value ?? '') : (sel.text[v.name] ?? '') });
    }
  }
  return states;
}
