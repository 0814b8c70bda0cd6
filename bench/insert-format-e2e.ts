/**
 * The analyzer end to end with each insert format, interleaved: runs `bench/analyzer.bench.ts` (capture envelopes
 * in Kafka → the analyzer's production entry point in its own process → ClickHouse) once per format per round,
 * alternating `ANALYZER_INSERT_FORMAT=json` and `rowbinary` (which one goes first alternates too), and reads from
 * each run the analyzer process's CPU seconds (`tollgate_process_cpu_seconds_total`: the kernel's user+system
 * accounting, start-up included) and the stored messages. Prints per-run figures, medians per format, the CPU µs
 * per message and the ratio. Needs the local stack (KAFKA_BROKERS, CLICKHOUSE_URL).
 *
 * `--baseline <dir>` adds a third side: the same bench from another checkout (e.g. the commit before these changes,
 * exported with `git archive` and given this checkout's node_modules), run in the same rounds.
 *
 *   npx tsx bench/insert-format-e2e.ts [--rounds 4] [--sets 3000] [--events true] [--baseline <dir>]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: {
  rounds: { type: 'string', default: '4' }, sets: { type: 'string', default: '3000' }, events: { type: 'string', default: 'true' },
  'startup-sets': { type: 'string', default: '10' }, baseline: { type: 'string' },
} });
const FORMATS = ['json', 'rowbinary'] as const;
const SIDES: readonly string[] = a.baseline ? ['baseline', ...FORMATS] : FORMATS;
type Run = { cpuS: number; messages: number; steady: number };

function runOnce(format: string, sets = a.sets!): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/analyzer.bench.ts', '--sets', sets, '--events', a.events!], {
      env: { ...process.env, ...(format === 'baseline' ? {} : { ANALYZER_INSERT_FORMAT: format }) }, stdio: ['ignore', 'pipe', 'inherit'],
      ...(format === 'baseline' ? { cwd: a.baseline } : {}),
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      const e2e = /end to end: (\d+) messages in [\d.]+ s from process start \(\d+\/s\), [\d.]+ s from the first ledger row \((\d+)\/s\)/.exec(out);
      const cpu = /analyzer CPU ([\d.]+) s/.exec(out);
      if (code !== 0 || !e2e || !cpu) {
        reject(new Error(`analyzer.bench.ts (${format}) exited ${code}:\n${out}`));
        return;
      }
      resolve({ messages: Number(e2e[1]), steady: Number(e2e[2]), cpuS: Number(cpu[1]) });
    });
  });
}

const runs: Record<string, Run[]> = Object.fromEntries(SIDES.map((f) => [f, []]));
for (let r = 0; r < Number(a.rounds); r++) {
  const order = r % 2 === 0 ? SIDES : [...SIDES].reverse();
  for (const f of order) {
    const x = await runOnce(f);
    runs[f]!.push(x);
    process.stdout.write(`round ${r + 1} ${f.padEnd(9)} ${x.messages} messages, analyzer CPU ${x.cpuS.toFixed(2)} s ` +
      `= ${(x.cpuS * 1e6 / x.messages).toFixed(1)} µs/message, steady ${x.steady} msg/s\n`);
  }
}
// The analyzer's start-up (tsx compile, migrations check, group join) is in every run's CPU: measured alone with a
// handful of messages, once per format, and taken off to give the CPU per message of the steady state.
const startup: number[] = [];
for (const f of SIDES) {
  const x = await runOnce(f, a['startup-sets']!);
  startup.push(x.cpuS);
  process.stdout.write(`start-up ${f.padEnd(9)} ${x.messages} messages, analyzer CPU ${x.cpuS.toFixed(2)} s\n`);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const startS = Math.min(...startup);
const us = (f: string) => median(runs[f]!.map((x) => x.cpuS * 1e6 / x.messages));
const usSteady = (f: string) => median(runs[f]!.map((x) => (x.cpuS - startS) * 1e6 / x.messages));
const steady = (f: string) => median(runs[f]!.map((x) => x.steady));
for (const f of SIDES) {
  process.stdout.write(`${f.padEnd(9)} median analyzer CPU ${us(f).toFixed(1)} µs/message with start-up, ${usSteady(f).toFixed(1)} µs/message ` +
    `without (${startS.toFixed(1)} s) → ${(1e6 / usSteady(f) / 1000).toFixed(1)}k messages/s per analyzer core; steady ${steady(f)} msg/s\n`);
}
process.stdout.write(`rowbinary / json: CPU per message ×${(us('rowbinary') / us('json')).toFixed(2)} with start-up, ` +
  `×${(usSteady('rowbinary') / usSteady('json')).toFixed(2)} without (${(us('json') - us('rowbinary')).toFixed(1)} µs less per message)\n`);
if (a.baseline) {
  process.stdout.write(`rowbinary / baseline: CPU per message ×${(us('rowbinary') / us('baseline')).toFixed(2)} with start-up, ` +
    `×${(usSteady('rowbinary') / usSteady('baseline')).toFixed(2)} without (${(us('baseline') - us('rowbinary')).toFixed(1)} µs less per message)\n`);
}
