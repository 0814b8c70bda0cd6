/**
 * The standalone analyzer as a measured child process: started from a given checkout (this one, or a base checkout
 * for before/after runs), its kernel CPU (user + system from /proc/<pid>/stat), a clean stop, and the wait until
 * its consumer group has formed. Shared by the analyzer benches so they measure CPU the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AnalyzerEnv } from '../../test/integration/analyzer-harness.ts';
import { callScenario, optionsScenario, registerScenario, type Scenario } from '../../test/support/sip-scenarios.ts';
import { procStat } from './collector-process.ts';

/** User + system CPU seconds of a live process, from the kernel's accounting. */
export function cpuSeconds(pid: number): number {
  return procStat(pid).cpuSec;
}

const ALICE = { user: 'alice', domain: 'a.example' };
const BOB = { user: 'bob', domain: 'b.example' };

/**
 * The analyzer benches' capture: per set, an answered, a busy, a cancelled and an unanswered call, a REGISTER with
 * a challenge, a refused one and an OPTIONS ping (31 messages), sets 50 ms apart; `tag` keeps Call-IDs unique.
 */
export function captureMix(sets: number, t0: number, tag: string): Scenario[] {
  const sc: Scenario[] = [];
  for (let i = 0; i < sets; i++) {
    const t = t0 + i * 50_000;
    sc.push(
      callScenario('answered', `ans-${i}-${tag}`, t, ALICE, BOB),
      callScenario('busy', `bsy-${i}-${tag}`, t + 1, ALICE, BOB),
      callScenario('cancelled', `can-${i}-${tag}`, t + 2, ALICE, BOB),
      callScenario('no_answer', `noa-${i}-${tag}`, t + 3, ALICE, BOB),
      registerScenario(`reg-${i}-${tag}`, t + 4, ALICE),
      registerScenario(`rgf-${i}-${tag}`, t + 5, ALICE, true),
      optionsScenario(`opt-${i}-${tag}`, t + 6, ALICE),
    );
  }
  return sc;
}

/** `services/analyzer/main.ts` of the checkout in `dir`, configured for `env`; ANALYZER_CPU_PROF=<dir> profiles it. */
export function spawnAnalyzerFrom(dir: string, env: AnalyzerEnv, extra: Record<string, string>, nodeArgs: readonly string[] = []): ChildProcess {
  const prof = process.env.ANALYZER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ANALYZER_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, ...nodeArgs, '--import', 'tsx', 'services/analyzer/main.ts'], {
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
