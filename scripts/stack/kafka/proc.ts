import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, capped so a chatty tool cannot exhaust memory. */
  readonly output: string;
}

const OUTPUT_CAP = 64 * 1024;

/** Runs a short-lived tool; a timeout kills it and reports like any other failure. */
export function runToCompletion(
  command: string,
  args: readonly string[],
  opts: { timeoutMs: number; heartbeat?: (elapsedSeconds: number) => void; heartbeatMs?: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_CAP);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const started = Date.now();
    const beat = opts.heartbeat
      ? setInterval(() => opts.heartbeat?.(Math.round((Date.now() - started) / 1000)), opts.heartbeatMs ?? 15_000)
      : undefined;
    const timer = setTimeout(() => {
      output += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    const finish = (result: RunResult): void => {
      clearTimeout(timer);
      if (beat) clearInterval(beat);
      resolve(result);
    };
    child.on('error', (err) => finish({ code: null, signal: null, output: `${output}\n${err.message}` }));
    child.on('close', (code, signal) => finish({ code, signal, output }));
  });
}

/**
 * Starts a long-lived server in its own process group (so `down` can signal everything it forked) with output
 * appended to a log file, and lets this process exit without waiting for it.
 */
export function spawnDetached(command: string, args: readonly string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** True while any process of the group exists; EPERM means it exists under another user. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Reads the command line of a process so a stale pid file whose number was reused by an unrelated program never
 * leads us to signal that program. Returns undefined where /proc is not available.
 */
export async function commandLine(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? '' : undefined;
  }
}

export async function readPidFile(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export async function writePidFile(file: string, pid: number): Promise<void> {
  await writeFile(file, `${pid}\n`);
}

/**
 * Serialises `up`/`down` of one part across processes (parallel test files, a CLI next to a test run): mkdir is
 * atomic, and a lock left by a dead process is taken over.
 */
export async function withDirLock<T>(lockDir: string, timeoutMs: number, onTimeout: () => Error, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readPidFile(`${lockDir}/owner`);
      // No owner yet is normal for a few milliseconds after mkdir; for longer, the taker died in between.
      const orphaned = owner === undefined && Date.now() - (await stat(lockDir).then((s) => s.mtimeMs, () => 0)) > 10_000;
      if (orphaned || (owner !== undefined && !processAlive(owner))) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() >= deadline) throw onTimeout();
      await sleep(200);
    }
  }
  try {
    await writePidFile(`${lockDir}/owner`, process.pid);
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
