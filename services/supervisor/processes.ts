/**
 * What `npm start` runs: one entry per service, each a standalone entry module (`services/<svc>/main.ts`, built on
 * `runService`) forked as many times as its count says. Groups stop in ascending `stopOrder` (intake first, so
 * what it accepted drains through the rest) and start in the reverse order (consumers ready before intake opens).
 */
import type { Env } from '../shared/config/settings.ts';
import type { TollgateConfig } from '../settings.ts';
import type { PriorityPlan } from './priority.ts';

export interface ServiceProcessSpec {
  readonly name: string;
  /** Entry module, relative to `services/`. */
  readonly entry: string;
  readonly count: (config: TollgateConfig, cores: number) => number;
  /** Lower stops earlier. Processes with the same number stop together. */
  readonly stopOrder: number;
  readonly enabled: (config: TollgateConfig, env: Env) => boolean;
  /** Serves `/healthz` and `/metrics` for all processes: the supervisor feeds it the others' health and metrics. */
  readonly servesOps?: boolean;
  /**
   * Scheduling priority (nice, -20-19; higher yields the CPU sooner). UDP intake cannot push back: a collector that
   * waits for the CPU loses datagrams to the kernel, while a Kafka consumer that waits only lags. So everything but
   * intake runs at a lower priority than the collectors (`priority.ts` decides the values). Default 0.
   */
  readonly nice?: (plan: PriorityPlan) => number;
  /** Node/V8 options of the process (before `--import tsx`). */
  readonly execArgv?: readonly string[];
}

const always = (): boolean => true;
/** Nice of work that may lag behind intake (consumers, the API). */
export const BACKGROUND = (plan: PriorityPlan): number => plan.background;
const one = (): number => 1;

/**
 * At least two: collectors read one shared socket, so while one is off the CPU (preempted, collecting garbage)
 * the other drains the kernel buffer. Measured on a busy 2-core host at 30k packets/s: 6.6% kernel drops with one,
 * 0.8% with two (bench/README.md); with two and intake priority (COLLECTOR_NICE=-10, the default), 0.
 */
export function defaultCollectors(cores: number): number {
  return Math.max(2, Math.floor(cores / 4));
}

export function defaultAnalyzers(cores: number, partitions: number): number {
  return Math.max(1, Math.min(partitions, Math.floor(cores / 2)));
}

/**
 * A collector's records live from receive to Kafka's acknowledgement (the publisher's linger plus a round trip), long
 * enough to survive a scavenge of V8's default 16 MiB semi-space and be copied, often promoted. A 32 MiB semi-space
 * halves the scavenges: ~1 µs of CPU less per UDP packet at 20k/s (bench/PROFILE.md, "Collector: second pass"),
 * for up to ~48 MiB more young generation.
 */
export const COLLECTOR_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=32'];

export const SERVICE_PROCESSES: readonly ServiceProcessSpec[] = [
  {
    name: 'collector', entry: 'collector/main.ts', stopOrder: 0, enabled: always, nice: (p) => p.collector, execArgv: COLLECTOR_EXEC_ARGV,
    count: (c, cores) => c.collectorProcesses || defaultCollectors(cores),
  },
  {
    name: 'analyzer', entry: 'analyzer/main.ts', stopOrder: 1, enabled: always, nice: BACKGROUND,
    count: (c, cores) => c.analyzerProcesses || defaultAnalyzers(cores, c.kafkaPartitions),
  },
  { name: 'guard', entry: 'guard/main.ts', stopOrder: 2, enabled: always, count: one, nice: BACKGROUND },
  // Only with switches to rate; it is not intake-driven, so it stops with the analyzers.
  {
    name: 'rating', entry: 'rating/main.ts', stopOrder: 1, count: one,
    enabled: (_c, env) => (env['FREESWITCH_ESL'] ?? '').trim() !== '',
  },
  { name: 'api', entry: 'api/main.ts', stopOrder: 9, enabled: always, count: one, servesOps: true, nice: BACKGROUND },
];

export interface ProcessSlot {
  readonly spec: ServiceProcessSpec;
  /** `collector-2` */
  readonly name: string;
  readonly index: number;
}

/** The processes to run, one slot per process. */
export function planProcesses(specs: readonly ServiceProcessSpec[], config: TollgateConfig, env: Env, cores: number): ProcessSlot[] {
  return specs.filter((spec) => spec.enabled(config, env)).flatMap((spec) =>
    Array.from({ length: Math.max(1, spec.count(config, cores)) }, (_, i) => ({ spec, index: i + 1, name: `${spec.name}-${i + 1}` })));
}

/** Slots grouped by stop order, ascending: the stop sequence. Start walks it backwards. */
export function stopGroups(slots: readonly ProcessSlot[]): ProcessSlot[][] {
  const orders = [...new Set(slots.map((s) => s.spec.stopOrder))].sort((a, b) => a - b);
  return orders.map((o) => slots.filter((s) => s.spec.stopOrder === o));
}
