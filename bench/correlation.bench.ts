/**
 * Throughput of the correlation trackers on a realistic mix: 20 000 calls (answered, busy, cancelled,
 * unanswered, answered after a 407; random retransmissions; arrival shuffled within the 2 s reorder window)
 * interleaved with 10 000 REGISTER exchanges (401 challenge, then 200 or 403) and OPTIONS keep-alives that both
 * trackers must skip. Every message goes through both trackers, as in the analyzer.
 * Method: the mix is generated once from a fixed seed; each run builds fresh trackers and feeds the whole
 * stream, then advances time to close everything, and is charged the process's user+system CPU time over that
 * (`process.cpuUsage()`: descheduled time does not count). Two figures, CPU µs per message, median of `--rounds`
 * rounds, the two kinds interleaved:
 *   - trackers only: messages parsed beforehand (their lazy header caches warm after the first run);
 *   - parse + trackers: the raw bytes are parsed inside the timed loop, as in the analyzer.
 * Run: npx tsx bench/correlation.bench.ts [--rounds 5] [--json]
 * Before/after against another checkout, interleaved: npx tsx bench/compare-base.ts --bench correlation --base <dir>
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { parseSip } from '../services/analyzer/sip/index.ts';
import { DialogTracker, RegistrationTracker } from '../services/analyzer/correlation/index.ts';
import type { ObservedSip } from '../services/analyzer/correlation/index.ts';
import { arrive, build, scenarioArb, T0 } from '../test/unit/correlation/scenarios.ts';
import { obs, registerText } from '../test/unit/correlation/build.ts';

const { values: opt } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' }, json: { type: 'boolean', default: false },
} });
const RUNS = Number(opt.rounds);
const CALLS = 20_000;
const REGISTERS = 10_000;
const SPAN_US = 600_000_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function mix(): ObservedSip[] {
  const scenarios = fc.sample(scenarioArb, { numRuns: CALLS, seed: 42 });
  const msgs: ObservedSip[] = [];
  scenarios.forEach((s, i) => msgs.push(...build(i, { ...s, start: Math.floor((i / CALLS) * SPAN_US) }).msgs));
  for (let i = 0; i < REGISTERS; i++) {
    const t = T0 + Math.floor((i / REGISTERS) * SPAN_US);
    const base = { callId: `bench-reg-${i}`, user: `${1000 + (i % 500)}`, contactHost: i % 4 === 0 ? '10.1.2.3' : '198.51.100.20' };
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `ra${i}` }), t));
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `ra${i}`, code: 401 }), t + 800));
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `rb${i}`, auth: base.user }), t + 1500));
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `rb${i}`, code: i % 10 === 0 ? 403 : 200, expires: 300 }), t + 2300));
    const ping = registerText({ ...base, cseq: 3, branch: `o${i}` }).replace(/REGISTER/g, 'OPTIONS');
    msgs.push(obs(ping, t + 5_000_000));
  }
  const delays = fc.sample(fc.integer({ min: 0, max: 1_999_999 }), { numRuns: 4096, seed: 7 });
  return arrive(msgs, delays);
}

const stream = mix();
if (!opt.json) console.log(`node ${process.version}; ${CALLS} calls + ${REGISTERS} registrations over ${SPAN_US / 1e6} s of capture time\n`);
const raws = stream.map((o) => ({ o, raw: Buffer.from(o.message.headers.length > 0 ? rebuild(o) : '', 'latin1') }));

/** The parsed messages keep no raw buffer; rebuild wire text from their headers for the end-to-end figure. */
function rebuild(o: ObservedSip): string {
  const m = o.message;
  const start = m.kind === 'request' ? `${m.method} ${m.requestUriRaw} SIP/2.0` : `SIP/2.0 ${m.statusCode} ${m.reasonPhrase}`;
  return `${start}\r\n${m.headers.map((h) => `${h.name}: ${h.value}`).join('\r\n')}\r\n\r\n`;
}

const END = T0 + 100 * SPAN_US;
let sink = 0;

/** CPU µs per message of one pass over the stream with fresh trackers. */
function once(parse: boolean): number {
  const d = new DialogTracker();
  const r = new RegistrationTracker();
  const c0 = process.cpuUsage();
  for (const { o, raw } of raws) {
    let msg = o;
    if (parse) {
      const p = parseSip(raw);
      if (!p.ok) continue;
      msg = { ...o, message: p.message };
    }
    sink += d.observe(msg).length + r.observe(msg).length;
  }
  sink += d.advanceTo(END).length + r.advanceTo(END).length;
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / raws.length;
}

const kinds: Array<[string, boolean]> = [['trackers only', false], ['parse + trackers', true]];
for (const [, parse] of kinds) once(parse);
const samples = kinds.map(() => [] as number[]);
for (let i = 0; i < RUNS; i++) kinds.forEach(([, parse], k) => samples[k]!.push(once(parse)));
const result: Record<string, number> = {};
kinds.forEach(([name], k) => (result[name] = median(samples[k]!)));
if (opt.json) {
  console.log(JSON.stringify({ unit: 'cpu_us_per_message', rounds: RUNS, messages: raws.length, result }));
  process.exit(0);
}
kinds.forEach(([name], k) => {
  const us = result[name]!;
  const xs = samples[k]!;
  console.log(`${name.padEnd(18)} ${us.toFixed(2).padStart(7)} µs CPU/message (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}) ≈ ${Math.round(1e6 / us).toLocaleString('en-US')} messages per CPU second  (median of ${RUNS}, ${raws.length.toLocaleString('en-US')} messages)`);
});
const check = new DialogTracker();
const reg = new RegistrationTracker();
let calls = 0;
let regs = 0;
for (const { o } of raws) {
  calls += check.observe(o).length;
  regs += reg.observe(o).length;
}
calls += check.advanceTo(END).length;
regs += reg.advanceTo(END).length;
console.log(`\nrecords: ${calls} calls, ${regs} registrations; dialog stats ${JSON.stringify(check.stats())}`);
if (sink < 0) console.log(sink);
