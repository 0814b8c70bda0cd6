/**
 * The standalone analyzer as a measured child process: started from a given checkout (this one, or a base checkout
 * for before/after runs), its kernel CPU (user + system from /proc/<pid>/stat), a clean stop, and the wait until
 * its consumer group has formed. Shared by the analyzer benches so they measure CPU the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AnalyzerEnv } from '../../test/integration/analyzer-harness.ts';

/** USER_HZ on Linux: /proc reports CPU in these ticks. */
const TICK = 100;

/** User + system CPU seconds of a live process, from the kernel's accounting. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields 14 and 15 (utime, stime); after the ")" that ends the command name the list starts at field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** `services/analyzer/main.ts` of the checkout in `dir`, configured for `env`; ANALYZER_CPU_PROF=<dir> profiles it. */
export function spawnAnalyzerFrom(dir: string, env: AnalyzerEnv, extra: Record<string, string>): ChildProcess {
  const prof = process.env.ANALYZER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ANALYZER_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'services/analyzer/main.ts'], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env.env(extra) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Resolves once the group has a stable membership. */
export async function waitJoined(env: AnalyzerEnv, groupId = env.groupId, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const g = (await env.kadmin.describeGroups([groupId])).groups[0];
    if (g?.state === 'Stable' && g.members.length > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`analyzer group ${groupId} did not become stable in ${timeoutMs} ms`);
}
