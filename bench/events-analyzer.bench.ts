/**
 * The analyzer's CPU per message with `sip.events` as v1 records, as v2 containers, and off, measured in one run:
 * interleaved rounds (the order rotates), each run its own topics and database. Per run the capture (the scenario
 * mix of bench/analyzer.bench.ts: answered, busy, cancelled and unanswered calls, REGISTER with a challenge, a
 * refused REGISTER, OPTIONS) is put into `hep.sip` first, then the standalone analyzer (production entry point, own
 * process, `ANALYZER_SIP_EVENTS_FORMAT` / `ANALYZER_SIP_EVENTS` set per side) consumes it until its group has
 * committed everything. CPU is the kernel's user+system time of the analyzer process (/proc/<pid>/stat); its
 * start-up (tsx compile, migrations check, group join, partition restores) is measured on an idle analyzer of the
 * same side started on empty topics, and subtracted: steady µs/message = (CPU − start-up CPU) ÷ messages.
 *
 *   npx tsx bench/events-analyzer.bench.ts [--sets 1500] [--rounds 3] [--batch 20000]
 */
import { parseArgs } from 'node:util';
import { ensureTopics, topicCatalogue } from '../services/shared/kafka/topics.ts';
import { AnalyzerEnv, baseTimeUs, PARTITIONS, type Outgoing } from '../test/integration/analyzer-harness.ts';
import { byTime, sipEnvelope } from '../test/support/sip-scenarios.ts';
import { captureMix, cpuSeconds, stopChild, waitJoined } from './support/analyzer-process.ts';
import { uniqueName } from '../test/support/stack.ts';

const { values: args } = parseArgs({ options: {
  sets: { type: 'string', default: '1500' }, rounds: { type: 'string', default: '3' }, batch: { type: 'string', default: '20000' },
} });
const SETS = Number(args.sets);
const ROUNDS = Number(args.rounds);
const SIDES = [
  { label: 'events v1', env: { ANALYZER_SIP_EVENTS: 'true', ANALYZER_SIP_EVENTS_FORMAT: 'v1' } },
  { label: 'events v2', env: { ANALYZER_SIP_EVENTS: 'true', ANALYZER_SIP_EVENTS_FORMAT: 'v2' } },
  { label: 'events off', env: { ANALYZER_SIP_EVENTS: 'false' } },
] as const;

/** CPU of an analyzer of this side from start until it has joined its group on empty topics and gone idle. */
async function startupCpu(env: AnalyzerEnv, side: Record<string, string>): Promise<number> {
  const prefix = `${uniqueName('idle')}.`;
  const groupId = uniqueName('idle-analyzer');
  await ensureTopics(env.kadmin, topicCatalogue(prefix, PARTITIONS, 3_600_000));
  const child = await env.spawnAnalyzer({ ...side, KAFKA_TOPIC_PREFIX: prefix, ANALYZER_GROUP_ID: groupId });
  try {
    await waitJoined(env, groupId, 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    return cpuSeconds(child.pid!);
  } finally {
    await stopChild(child);
    await env.kadmin.deleteTopics({ topics: topicCatalogue(prefix, PARTITIONS, 0).map((t) => t.name) }).catch(() => undefined);
    await env.kadmin.deleteGroups([groupId]).catch(() => undefined);
  }
}

interface Run { cpuS: number; startupS: number; messages: number; eventRecords: number }

async function run(side: Record<string, string>): Promise<Run> {
  const env = new AnalyzerEnv();
  await env.setup();
  try {
    const records: Outgoing[] = byTime(captureMix(SETS, baseTimeUs(), env.prefix)).map((p) => ({ key: p.callId, value: sipEnvelope(p) }));
    await env.produce('hepSip', records, 500);
    const startupS = await startupCpu(env, side);
    const child = await env.spawnAnalyzer({ ...side, ANALYZER_BATCH_MAX_ROWS: args.batch! });
    try {
      await env.waitCaughtUp(1_800_000);
      const cpuS = cpuSeconds(child.pid!);
      return { cpuS, startupS, messages: await env.count('sip_messages'), eventRecords: await env.endOffsetsSum('sipEvents') };
    } finally {
      await stopChild(child);
    }
  } finally {
    await env.cleanup();
  }
}

const runs = SIDES.map(() => [] as Run[]);
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < SIDES.length; j++) {
    const k = (j + r) % SIDES.length;
    const f = await run(SIDES[k]!.env);
    runs[k]!.push(f);
    process.stdout.write(`round ${r + 1} ${SIDES[k]!.label.padEnd(10)} ${f.messages} messages, ${f.eventRecords} sip.events records; CPU ${f.cpuS.toFixed(2)} s − start-up `
      + `${f.startupS.toFixed(2)} s → ${(((f.cpuS - f.startupS) * 1e6) / f.messages).toFixed(1)} µs/message\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
const steady = runs.map((rs) => median(rs.map((f) => ((f.cpuS - f.startupS) * 1e6) / f.messages)));
const life = runs.map((rs) => median(rs.map((f) => (f.cpuS * 1e6) / f.messages)));
process.stdout.write(`\n${SETS} scenario sets per run, ${ROUNDS} interleaved rounds, batch ${args.batch}, node ${process.version}; medians:\n`);
for (const [k, s] of SIDES.entries()) {
  process.stdout.write(`  ${s.label.padEnd(10)} ${steady[k]!.toFixed(1).padStart(6)} µs CPU/message steady (${life[k]!.toFixed(1)} with start-up), `
    + `${(1e6 / steady[k]!).toFixed(0)} messages per analyzer CPU second\n`);
}
const [v1, v2, off] = steady as [number, number, number];
process.stdout.write(`  v2 / v1: ×${(v2 / v1).toFixed(2)}; event cost (on − off): v1 ${(v1 - off).toFixed(1)} µs, v2 ${(v2 - off).toFixed(1)} µs/message `
  + `(×${((v2 - off) / (v1 - off)).toFixed(2)})\n`);
