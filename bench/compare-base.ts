/**
 * Before/after in the same run: one in-process bench (`sip-parse` or `correlation`) run alternately in this checkout
 * and in a base checkout (e.g. main, unpacked with `git archive main | tar -x -C <dir>` and this checkout's
 * node_modules linked in), each run in a fresh process, the order flipped every pair. This bench file is copied into
 * the base first, so both sides measure the same way and only the code under test differs. Every process reports
 * the median over its own interleaved rounds of CPU µs per unit; the figure here is the median over processes, with
 * the ratio after ÷ before.
 *
 *   npx tsx bench/compare-base.ts --bench sip-parse --base <dir> [--pairs 5] [--rounds 9]
 *   npx tsx bench/compare-base.ts --bench correlation --base <dir> [--pairs 5] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: {
  bench: { type: 'string', default: 'sip-parse' }, base: { type: 'string' }, pairs: { type: 'string', default: '5' },
  rounds: { type: 'string' },
} });
if (a.base === undefined || !existsSync(`${a.base}/services`)) {
  throw new Error(`--base must name a checkout with services/ and node_modules/ (got ${String(a.base)})`);
}
const here = fileURLToPath(new URL('..', import.meta.url));
const file = `bench/${a.bench}.bench.ts`;
copyFileSync(`${here}${file}`, `${a.base}/${file}`);
const extra = a.rounds === undefined ? [] : ['--rounds', a.rounds];

function run(dir: string): Record<string, number> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', file, '--json', ...extra], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = out.trim().split('\n').pop()!;
  return (JSON.parse(line) as { result: Record<string, number> }).result;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const before = new Map<string, number[]>();
const after = new Map<string, number[]>();
const note = (m: Map<string, number[]>, r: Record<string, number>): void => {
  for (const [k, v] of Object.entries(r)) m.set(k, [...(m.get(k) ?? []), v]);
};
const pairs = Number(a.pairs);
for (let i = 0; i < pairs; i++) {
  const order = i % 2 === 0 ? (['base', 'this'] as const) : (['this', 'base'] as const);
  for (const side of order) note(side === 'base' ? before : after, run(side === 'base' ? a.base : here));
  process.stderr.write(`pair ${i + 1}/${pairs} done\n`);
}
console.log(`${a.bench}: CPU µs per unit, median of ${pairs} processes per side (each the median of its own rounds), sides alternated`);
console.log(`${'case'.padEnd(24)} ${'before'.padStart(8)} ${'after'.padStart(8)}  after/before  before→after per CPU second`);
for (const [k, xs] of before) {
  const b = median(xs);
  const n = median(after.get(k) ?? [NaN]);
  const rate = (us: number): string => Math.round(1e6 / us).toLocaleString('en-US');
  console.log(`${k.padEnd(24)} ${b.toFixed(2).padStart(8)} ${n.toFixed(2).padStart(8)}  ${(n / b).toFixed(2).padStart(12)}  ${rate(b)} → ${rate(n)}`);
}
