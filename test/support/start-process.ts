/**
 * Runs `npm start` (scripts/start.ts) as a real process for a test: waits for its banner, reads its `/healthz`,
 * finds its children's pids, stops it with SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { captureOutput, recordOutput } from './test-output.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface StartedTollgate {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the banner is out; rejects with the output when the process exits first or time runs out. */
  ready(timeoutMs: number): Promise<void>;
  health(port: number): Promise<{ status: number; body: HealthBody }>;
  /** SIGINT, then the exit code. */
  interrupt(timeoutMs?: number): Promise<number | null>;
}

export interface HealthBody {
  readonly status: string;
  readonly components: Record<string, { state: string; detail?: string }>;
}

export function startTollgate(env: NodeJS.ProcessEnv, entry = 'scripts/start.ts'): StartedTollgate {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  captureOutput(child, entry.replace(/[/.]+/g, '-'));
  return {
    child,
    output: () => out,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes('tollgate is running:')) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm start exited early (${child.exitCode ?? child.signalCode}):\n${out.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`npm start did not report readiness in ${timeoutMs} ms:\n${out.slice(-4000)}`);
        await sleep(200);
      }
    },
    async health(port) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      const text = await res.text();
      recordOutput('healthz', text);
      return { status: res.status, body: JSON.parse(text) as HealthBody };
    },
    async interrupt(timeoutMs = 60_000) {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The pid `/healthz` reports for a process (`collector-1`), from its detail text. */
export function pidOf(body: HealthBody, name: string): number | undefined {
  const m = /pid (\d+)/.exec(body.components[name]?.detail ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Every live descendant of `root` (Linux /proc). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

/** Alive and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}
