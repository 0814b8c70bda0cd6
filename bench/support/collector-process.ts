/**
 * Starts the production collector entry point in its own process for a benchmark, on free ports and a fresh topic
 * prefix and spool, and stops it again (deleting its topics). Shared by the throughput bench and the memory soak.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { topicCatalogue } from '../../services/shared/kafka/topics.ts';
import { freePort } from '../../test/support/kamailio.ts';
import { uniqueName } from '../../test/support/stack.ts';

export interface CollectorProcess {
  readonly child: ChildProcess;
  readonly prefix: string;
  readonly hepPort: number;
  readonly metricsPort: number;
  stop(admin: Admin): Promise<void>;
}

export async function startCollector(kafkaBrokers: readonly string[], label: string, env: Record<string, string> = {}): Promise<CollectorProcess> {
  const prefix = `${uniqueName(label)}.`;
  const hepPort = await freePort();
  const metricsPort = await freePort();
  const spool = mkdtempSync(join(tmpdir(), `tg-${label}-spool-`));
  // COLLECTOR_CPU_PROF=<dir>: the collector writes a V8 CPU profile there when it exits (bench/PROFILE.md).
  const prof = process.env.COLLECTOR_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.COLLECTOR_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'services/collector/main.ts'], {
    env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: prefix, HEP_PORT: String(hepPort),
      METRICS_PORT: String(metricsPort), PUBLISH_SPOOL_DIR: spool, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', KAFKA_PARTITIONS: '6', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('collector is running')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`collector exited ${c}`)));
  });
  return {
    child, prefix, hepPort, metricsPort,
    async stop(admin) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(spool, { recursive: true, force: true });
      await admin.deleteTopics({ topics: topicCatalogue(prefix, 1, 1).map((t) => t.name), timeout: 10_000 }).catch(() => undefined);
    },
  };
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

/** Starts bench/hep-load.ts against a port and resolves with its JSON summary when it finishes. */
export function runLoad(args: { transport: string; rate: number; seconds: number; port: number }): { done: Promise<{ sent: number; achievedRate: number; seconds: number }> } {
  const load = spawn(process.execPath, ['--import', 'tsx', 'bench/hep-load.ts', '--transport', args.transport, '--rate', String(args.rate),
    '--duration', String(args.seconds), '--port', String(args.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  load.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  return { done: new Promise((resolve) => load.once('exit', () => resolve(JSON.parse(out.trim())))) };
}
