/**
 * Starts the production collector entry point in its own process for a benchmark, on free ports and a fresh topic
 * prefix and spool, and stops it again (deleting its topics). Shared by the throughput bench and the memory soak.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Admin } from 'kafkajs';
import { topicCatalogue } from '../../services/shared/kafka/topics.ts';
import { freePort } from '../../test/support/ports.ts';
import { uniqueName } from '../../test/support/stack.ts';

export interface CollectorProcess {
  /** The collector, or with several processes the cluster primary that holds the shared sockets. */
  readonly child: ChildProcess;
  /** Collector processes (one, or the cluster workers): their CPU is the collector's CPU. */
  readonly pids: readonly number[];
  readonly prefix: string;
  readonly hepPort: number;
  readonly metricsPort: number;
  readonly metricsPorts: readonly number[];
  stop(admin: Admin): Promise<void>;
}

/**
 * `processes` > 1 runs that many collector processes on one HEP port (bench/support/collector-cluster.ts), as the
 * supervisor does under `npm start`.
 */
export async function startCollector(kafkaBrokers: readonly string[], label: string, env: Record<string, string> = {}, processes = 1, cwd?: string): Promise<CollectorProcess> {
  const prefix = `${uniqueName(label)}.`;
  const hepPort = await freePort();
  const metricsPorts: number[] = [];
  const spools: string[] = [];
  for (let i = 0; i < processes; i++) {
    metricsPorts.push(await freePort());
    spools.push(mkdtempSync(join(tmpdir(), `tg-${label}-spool-`)));
  }
  // COLLECTOR_CPU_PROF=<dir>: the collector writes a V8 CPU profile there when it exits (bench/PROFILE.md).
  const prof = process.env.COLLECTOR_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.COLLECTOR_CPU_PROF}`] : [];
  // The Node options `npm start` gives collectors in the checkout that runs (a base for before/after may have none).
  prof.push(...await collectorExecArgv(cwd));
  // Extra Node/V8 options to try on a side (e.g. flags NODE_OPTIONS does not accept): BENCH_COLLECTOR_NODE_ARGS.
  const extra = env['BENCH_COLLECTOR_NODE_ARGS'] ?? '';
  if (extra.trim() !== '') prof.push(...extra.trim().split(/\s+/));
  const common = { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: prefix, HEP_PORT: String(hepPort),
    LOG_LEVEL: 'warn', LOG_FORMAT: 'json', KAFKA_PARTITIONS: '6', ...env };
  const child = processes === 1
    ? spawn(process.execPath, [...prof, '--import', 'tsx', 'services/collector/main.ts'], {
      env: { ...common, METRICS_PORT: String(metricsPorts[0]), PUBLISH_SPOOL_DIR: spools[0] }, stdio: ['ignore', 'pipe', 'inherit'], cwd,
    })
    : spawn(process.execPath, [...prof, '--import', 'tsx', 'bench/support/collector-cluster.ts'], {
      env: { ...common, COLLECTOR_PROCESSES: String(processes), COLLECTOR_METRICS_PORTS: metricsPorts.join(','), COLLECTOR_SPOOL_DIRS: spools.join(',') },
      stdio: ['ignore', 'pipe', 'inherit'], cwd,
    });
  const pids = await new Promise<number[]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const many = /collector cluster is running pids=([\d,]+)/.exec(out);
      if (many) resolve(many[1]!.split(',').map(Number));
      else if (processes === 1 && out.includes('collector is running')) resolve([child.pid!]);
    });
    child.once('exit', (c) => reject(new Error(`collector exited ${c} before it was running; its output:\n${out.slice(-2000)}`)));
  });
  return {
    child, pids, prefix, hepPort, metricsPort: metricsPorts[0]!, metricsPorts,
    async stop(admin) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      for (const d of spools) rmSync(d, { recursive: true, force: true });
      await admin.deleteTopics({ topics: topicCatalogue(prefix, 1, 1).map((t) => t.name), timeout: 10_000 }).catch(() => undefined);
    },
  };
}

async function collectorExecArgv(cwd: string | undefined): Promise<readonly string[]> {
  const file = join(cwd ?? process.cwd(), 'services/supervisor/processes.ts');
  const mod = (await import(pathToFileURL(file).href)) as { COLLECTOR_EXEC_ARGV?: readonly string[] };
  return mod.COLLECTOR_EXEC_ARGV ?? [];
}

const CLK = 100; // USER_HZ

/** CPU seconds used so far, peak and current RSS of a process (Linux /proc). */
export function procStat(pid: number): { cpuSec: number; hwmKb: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuSec: (Number(f[11]) + Number(f[12])) / CLK,
    hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0),
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
  };
}

/** CPU seconds and peak RSS summed over several processes (the collector's workers). */
export function procStats(pids: readonly number[]): { cpuSec: number; hwmKb: number; rssKb: number } {
  let cpuSec = 0;
  let hwmKb = 0;
  let rssKb = 0;
  for (const pid of pids) {
    const s = procStat(pid);
    cpuSec += s.cpuSec;
    hwmKb += s.hwmKb;
    rssKb += s.rssKb;
  }
  return { cpuSec, hwmKb, rssKb };
}

/** Starts bench/hep-load.ts against a port and resolves with its JSON summary when it finishes. */
export function runLoad(args: { transport: string; rate: number; seconds: number; port: number; connections?: number }): { done: Promise<{ sent: number; achievedRate: number; seconds: number }> } {
  const load = spawn(process.execPath, ['--import', 'tsx', 'bench/hep-load.ts', '--transport', args.transport, '--rate', String(args.rate),
    '--duration', String(args.seconds), '--port', String(args.port), '--connections', String(args.connections ?? 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  load.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  return { done: new Promise((resolve) => load.once('exit', () => resolve(JSON.parse(out.trim())))) };
}
