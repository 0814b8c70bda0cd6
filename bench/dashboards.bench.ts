/**
 * Dashboard query latency: the NOC overview's and Call search's panel queries (macros expanded, variables
 * substituted as Grafana does) over a day of synthetic calls in the `calls` detail table, and, as the anchor measured
 * in the same run, the same ASR read from the per-minute rollup (`calls_minute_kpi`). The NOC panels read the detail
 * table because the rollups carry neither node nor domain; this shows what that costs.
 *
 *   npx tsx bench/dashboards.bench.ts --calls 1000000 --runs 5
 */
import { parseArgs } from 'node:util';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as callSearch from '../dashboards/call-search.ts';
import * as noc from '../dashboards/noc-overview.ts';
import { AnalyzerEnv } from '../test/integration/analyzer-harness.ts';
import { PanelRunner, panelQueries, resolveVariables, type Mode } from '../test/integration/dashboards/runner.ts';

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } });
const CALLS = Number(args.calls);
const RUNS = Number(args.runs);
const DAY_S = 86_400;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const env = new AnalyzerEnv();
await env.setup();
try {
  const end = Math.floor(Date.now() / 1000 / 60) * 60 - 3600;
  const start = end - DAY_S;
  const t0 = performance.now();
  // One call every DAY_S / CALLS seconds: three tenants, two nodes, a realistic mix of outcomes.
  await env.store.command(`INSERT INTO calls (setup_ts, tenant, domain, call_id, from_tag, from_user, to_user, ruri_user, src_ip, dst_ip,
      pdd_ms, answer_ts, end_ts, duration_ms, final_status, state, nodes)
    SELECT toDateTime64(${start} + number * ${DAY_S} / ${CALLS}, 6, 'UTC') AS ts,
      ['acme', 'beta', 'gamma'][number % 3 + 1], ['a.example', 'pbx.b.example', 'c.example'][number % 3 + 1],
      concat('bench-', toString(number)), 'ft', concat('u', toString(number % 5000)), concat('+4930', toString(number % 20000)),
      concat('+4930', toString(number % 20000)), concat('10.0.', toString(number % 250), '.1'), '192.0.2.1',
      200 + number % 3000, if(number % 7 < 3, ts, NULL), ts, if(number % 7 < 3, toFloat64(1000 * (number % 600)), NULL),
      [200, 200, 200, 486, 480, 487, 503][number % 7 + 1],
      ['answered', 'answered', 'answered', 'busy', 'no_answer', 'cancelled', 'failed'][number % 7 + 1],
      [if(number % 2 = 0, 'node-a', 'node-b')]
    FROM numbers(${CALLS})`);
  const insertS = (performance.now() - t0) / 1000;
  const runner = new PanelRunner(env.clickhouseUrl, env.database);
  const ctx = { from: new Date(start * 1000), to: new Date(end * 1000), intervalMs: 60_000 };
  const sel = { single: { tenant: 'acme', node: 'node-a', domain: 'a.example', interval: '300' }, multi: {}, text: {} };
  process.stdout.write(`${CALLS} calls over 24 h inserted in ${insertS.toFixed(1)} s; median of ${RUNS} runs per query (shared, busy 2-core box)\n\n`);
  const rows: string[] = ['| dashboard | panel | All (ms) | acme, node-a, a.example (ms) |', '|---|---|---|---|'];
  const time = async (sql: string, vars: Awaited<ReturnType<typeof resolveVariables>>) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await runner.run(sql, vars, ctx);
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  for (const d of [noc.build(), callSearch.build()] as Dashboard[]) {
    const vars: Record<Mode, Awaited<ReturnType<typeof resolveVariables>>> = {
      all: await resolveVariables(runner, d, 'all', sel, ctx),
      single: await resolveVariables(runner, d, 'single', sel, ctx),
      multi: [],
    };
    for (const q of panelQueries(d)) {
      rows.push(`| ${d.uid} | ${q.panel} | ${(await time(q.sql, vars.all)).toFixed(0)} | ${(await time(q.sql, vars.single)).toFixed(0)} |`);
    }
  }
  const rollup = await time(`SELECT sum(call_attempts) AS attempts, sum(calls_answered) / sum(call_attempts) AS asr
    FROM calls_minute_kpi WHERE $__timeFilter(minute)`, []);
  const detail = await time(`SELECT count() AS attempts, countIf(state IN ('answered', 'timeout_without_bye')) / count() AS asr
    FROM calls WHERE $__timeFilter(setup_ts)`, []);
  rows.push('', `anchor: day ASR from the rollup ${rollup.toFixed(0)} ms, from the detail table ${detail.toFixed(0)} ms (${(detail / rollup).toFixed(1)}×)`);
  process.stdout.write(`${rows.join('\n')}\n`);
  await runner.close();
} finally {
  await env.cleanup();
}
