/**
 * The guard's CPU per `sip.events` event, in this process and without Kafka: the analyzer's own decode turns the
 * analyzer bench's capture mix (answered/busy/cancelled/unanswered calls, REGISTER with and without a challenge,
 * OPTIONS) into events, which are then encoded as on the wire, read back by the guard's `parseEvent` and judged by a
 * `DetectorEngine` with every part on (one guard alone on the stream, the default). Reports CPU µs per event
 * (`process.cpuUsage`) of each step, median of interleaved rounds.
 *
 *   npx tsx bench/guard-engine.bench.ts [--sets 2000] [--rounds 7]
 */
import { parseArgs } from 'node:util';
import { decodeRecord } from '../services/analyzer/consumer/decode.ts';
import { TenantMap } from '../services/analyzer/tenants.ts';
import { ALL_PARTS, DetectorEngine } from '../services/guard/detect/engine.ts';
import { Allowlist } from '../services/guard/detect/allowlist.ts';
import { PrefixList } from '../services/guard/detect/numbers.ts';
import { loadRules } from '../services/guard/detect/rules.ts';
import type { SipEvent } from '../services/guard/detect/types.ts';
import { parseEvent } from '../services/guard/service.ts';
import { byTime, callScenario, optionsScenario, registerScenario, sipEnvelope, type Scenario } from '../test/support/sip-scenarios.ts';

const { values: args } = parseArgs({ options: { sets: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '7' } } });
const SETS = Number(args.sets);
const A = { user: 'alice', domain: 'a.example' };
const B = { user: '442079460000', domain: 'b.example' };

const scenarios: Scenario[] = [];
const t0 = Date.now() * 1000;
for (let i = 0; i < SETS; i++) {
  const t = t0 + i * 50_000;
  scenarios.push(
    callScenario('answered', `ans-${i}`, t, A, B), callScenario('busy', `bsy-${i}`, t + 1, A, B),
    callScenario('cancelled', `can-${i}`, t + 2, A, B), callScenario('no_answer', `noa-${i}`, t + 3, A, B),
    registerScenario(`reg-${i}`, t + 4, A), registerScenario(`rgf-${i}`, t + 5, A, true), optionsScenario(`opt-${i}`, t + 6, A),
  );
}
const tenants = TenantMap.parse('a.example=acme', 'default');
const events: object[] = [];
byTime(scenarios).forEach((p, i) => {
  const d = decodeRecord(sipEnvelope(p), { topic: 'hep.sip', topicKind: 'sip', partition: 0, offset: i, kafkaTimestampMs: 0 }, tenants);
  if (d.kind === 'sip') events.push(d.event);
});
const wire = events.map((e) => Buffer.from(JSON.stringify(e)));
const highRisk = PrefixList.parse('', 'none');

function cpuUs(fn: () => void): number {
  const c = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / events.length;
}

const samples = { parse: [] as number[], detect: [] as number[] };
let findings = 0;
for (let round = 0; round < Number(args.rounds) + 1; round++) {
  let parsed: SipEvent[] = [];
  const parse = cpuUs(() => { parsed = wire.map((b) => parseEvent(b, false) as SipEvent); });
  const engine = new DetectorEngine(loadRules(undefined), Allowlist.parse(''), highRisk, ALL_PARTS);
  let f = 0;
  const detect = cpuUs(() => { for (const e of parsed) f += engine.sip(e).length; });
  if (round === 0) continue; // warm-up
  samples.parse.push(parse);
  samples.detect.push(detect);
  findings = f;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p = median(samples.parse);
const d = median(samples.detect);
process.stdout.write(`${events.length} events (${(wire.reduce((n, b) => n + b.length, 0) / wire.length).toFixed(0)} B average as JSON), ` +
  `${Number(args.rounds)} rounds, CPU µs per event, median: parseEvent ${p.toFixed(2)}, detectors ${d.toFixed(2)}, ` +
  `together ${(p + d).toFixed(2)} (${Math.round(1e6 / (p + d))} events/s per core); findings per round ${findings}\n`);
