/**
 * Breaks a V8 CPU profile (`node --cpu-prof`) down into the pipeline stages of tollgate, in µs per unit of work.
 *
 * Method: every sample is charged to one stage. Garbage collection is its own stage; otherwise the sample's stack is
 * walked from the leaf towards the root and the first frame that matches a stage rule (by script URL, then function
 * name) decides, so Node internals and builtins (Buffer, JSON, sockets) are charged to the library or module that
 * called them. Samples before the first sample whose stack contains `--from <function>` are dropped (start-up: tsx
 * compile, migrations check, group join), as are `(idle)` samples. Time per unit = stage time ÷ `--units`.
 *
 * A profile's sample intervals are wall time: on a busy box a descheduled process still accrues them, so its "busy"
 * time overstates CPU. With `--cpu-seconds` (the process's measured user+system CPU over its whole life) every
 * figure is scaled by cpu-seconds ÷ busy time of all non-idle samples, i.e. the profile gives the shares and the
 * kernel's CPU accounting the total.
 *
 *   npx tsx bench/profile-summary.ts --profile x.cpuprofile --kind analyzer|collector|guard --units 46500 [--from decodeRecord] [--cpu-seconds 4.6] [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
interface Rule { stage: string; url?: RegExp; fn?: RegExp; caller?: RegExp }

/** Ordered: the first rule matching a frame wins, and the leaf-most matching frame wins. */
const RULES: Record<string, Rule[]> = {
  analyzer: [
    { stage: 'serialization (JSON rows → insert body)', fn: /^(stringify|JSONStringify|encodeJSON|formatRow)$/, url: /@clickhouse\/client|services\/shared\/clickhouse/ },
    { stage: 'ClickHouse client (HTTP, streams)', url: /@clickhouse\/client|services\/shared\/clickhouse/ },
    // The JSON.stringify of each event runs in an anonymous closure inside the consumer's publish step (builtins are
    // charged to their JS caller's self time); tell it apart from the other closures there by its caller.
    { stage: 'event encode + publish (sip.events)', url: /services\/analyzer\/consumer\/consumer\.ts/, caller: /^@.*services\/analyzer\/consumer\/consumer\.ts$/ },
    { stage: 'SIP parse', url: /services\/analyzer\/sip\// },
    { stage: 'correlation (dialog + registration trackers)', url: /services\/analyzer\/correlation\// },
    { stage: 'event encode + publish (sip.events)', url: /services\/analyzer\/event(s|-records)\.ts|@platformatic\/kafka|services\/shared\/kafka\// },
    { stage: 'Kafka fetch + decode (kafkajs consumer)', url: /kafkajs/ },
    { stage: 'envelope + HEP decode', url: /services\/(shared|collector)\/hep\/|hep-js/ },
    { stage: 'row building (decode.ts, store/)', url: /services\/analyzer\/(consumer\/decode|store\/|tenants|qos\/)/ },
    { stage: 'batch protocol (partition, plan, snapshots)', url: /services\/analyzer\/consumer\// },
    { stage: 'metrics + logging', url: /prom-client|pino|services\/shared\/(metrics|logger)/ },
  ],
  guard: [
    { stage: 'metrics (prom-client)', url: /prom-client|services\/shared\/metrics/ },
    { stage: 'logging (pino)', url: /pino/ },
    { stage: 'ClickHouse client + table writer', url: /@clickhouse\/client|services\/shared\/clickhouse|services\/guard\/table-writer/ },
    { stage: 'Kafka fetch + decode (kafkajs consumer)', url: /kafkajs/ },
    { stage: 'event reader (container split, JSON.parse, field checks)', url: /services\/guard\/event-records|services\/shared\/kafka\/event-container/ },
    { stage: 'detector: flood', url: /services\/guard\/detect\/flood/ },
    { stage: 'detector: scanner', url: /services\/guard\/detect\/scanner/ },
    { stage: 'detector: brute force', url: /services\/guard\/detect\/bruteforce/ },
    { stage: 'detector: toll fraud (+ numbers)', url: /services\/guard\/detect\/(tollfraud|numbers)/ },
    { stage: 'detector: malformed', url: /services\/guard\/detect\/malformed/ },
    { stage: 'windows (SlidingCount/Set, KeyedState maps)', url: /services\/guard\/detect\/window/ },
    { stage: 'allowlist (net.BlockList)', url: /services\/guard\/detect\/allowlist/ },
    { stage: 'event time, clientIp, samples (types.ts)', url: /services\/guard\/detect\/types/ },
    { stage: 'engine (de-dup ids, early responses, throttle)', url: /services\/guard\/detect\/(engine|rules)/ },
    { stage: 'alerts, blocklist, edge, webhooks', url: /services\/guard\/(alerts|blocklist|edge|notify)/ },
    { stage: 'guard core (service.ts: per-event loop, findings)', url: /services\/guard\// },
  ],
  collector: [
    { stage: 'Kafka produce (@platformatic/kafka: encode, CRC, socket)', url: /@platformatic\/kafka|kafkajs|services\/shared\/kafka\// },
    { stage: 'publisher (queue, spool, record build)', url: /services\/collector\/publish\// },
    { stage: 'HEP decode (+ envelope)', url: /services\/(shared|collector)\/hep\/|hep-js|services\/collector\/envelope/ },
    { stage: 'route (intake, pipeline, Call-ID key, CIDR)', url: /services\/collector\/(intake|pipeline|sink|sip-call-id|cidr|stats|wiring)/ },
    { stage: 'receive (UDP/TCP listeners, framing)', url: /services\/collector\/listeners\/|node:dgram|node:net/ },
    { stage: 'metrics + logging', url: /prom-client|pino|services\/shared\/(metrics|logger)/ },
  ],
};

const { values: a } = parseArgs({ options: {
  profile: { type: 'string' }, kind: { type: 'string', default: 'analyzer' }, units: { type: 'string', default: '1' },
  from: { type: 'string' }, top: { type: 'string', default: '0' }, 'cpu-seconds': { type: 'string' },
} });
const prof = JSON.parse(readFileSync(a.profile!, 'utf8')) as Profile;
const rules = RULES[a.kind!]!;
const units = Number(a.units);
const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of prof.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}
function stack(id: number): CallFrame[] {
  const out: CallFrame[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) out.push(byId.get(cur)!.callFrame);
  return out;
}
const stageOfNode = new Map<number, string>();
function stageOf(id: number): string {
  let s = stageOfNode.get(id);
  if (s !== undefined) return s;
  const frames = stack(id);
  const leaf = frames[0]!.functionName;
  if (leaf === '(garbage collector)') s = 'GC';
  else if (leaf === '(idle)') s = 'idle';
  else if (leaf === '(program)') s = 'V8/native, no JS stack ("(program)")';
  else {
    outer: for (const f of frames) {
      for (const r of rules) {
        if (r.url && !r.url.test(f.url)) continue;
        const caller = frames[frames.indexOf(f) + 1];
        if (r.caller && !(caller && r.caller.test(`${caller.functionName}@${caller.url}`))) continue;
        if (r.fn && !frames.slice(0, frames.indexOf(f) + 1).some((g) => r.fn!.test(g.functionName))) continue;
        s = r.stage;
        break outer;
      }
    }
    s ??= /^node:/.test(frames.find((f) => f.url !== '')?.url ?? '') ? 'Node runtime (streams, sockets, timers)' : 'other';
  }
  stageOfNode.set(id, s);
  return s;
}

let started = a.from === undefined;
const fromRe = a.from !== undefined ? new RegExp(`^(${a.from})$`) : undefined;
const stageUs = new Map<string, number>();
const leafUs = new Map<string, number>();
let totalUs = 0;
let lifeUs = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i]!;
  const dt = prof.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
  if (stageOf(id) !== 'idle') lifeUs += dt;
  if (!started) {
    if (stack(id).some((f) => fromRe!.test(f.functionName))) started = true;
    else continue;
  }
  const s = stageOf(id);
  if (s === 'idle') continue;
  stageUs.set(s, (stageUs.get(s) ?? 0) + dt);
  totalUs += dt;
  const cf = byId.get(id)!.callFrame;
  const key = `${s} | ${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*node_modules\//, '').replace(/^.*\/services\//, 'services/')}:${cf.lineNumber + 1}`;
  leafUs.set(key, (leafUs.get(key) ?? 0) + dt);
}
const scale = a['cpu-seconds'] !== undefined ? (Number(a['cpu-seconds']) * 1e6) / lifeUs : 1;
for (const m of [stageUs, leafUs]) for (const [k, v] of m) m.set(k, v * scale);
process.stdout.write(`${a.profile}: busy ${(lifeUs / 1e6).toFixed(2)} s in all, ${(totalUs / 1e6).toFixed(2)} s measured` +
  `${scale !== 1 ? `, scaled ×${scale.toFixed(2)} to ${a['cpu-seconds']} CPU s` : ''}: ${((totalUs * scale) / units).toFixed(1)} µs/unit over ${units} units\n`);
totalUs *= scale;
for (const [s, us] of [...stageUs.entries()].sort((x, y) => y[1] - x[1])) {
  process.stdout.write(`  ${s.padEnd(58)} ${(us / units).toFixed(1).padStart(7)} µs/unit  ${((100 * us) / totalUs).toFixed(1).padStart(5)}%\n`);
}
const top = Number(a.top);
if (top > 0) {
  process.stdout.write('top leaf functions (self time):\n');
  for (const [k, us] of [...leafUs.entries()].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    process.stdout.write(`  ${(us / units).toFixed(2).padStart(7)} µs  ${k}\n`);
  }
}
