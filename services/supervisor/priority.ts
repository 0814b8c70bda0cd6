/**
 * Intake priority. UDP cannot push back: a collector waiting for the CPU loses datagrams to the kernel, while a
 * Kafka consumer, the API or the broker itself only lags. So intake goes first, in one of two ways:
 * - the supervisor may raise a priority (root, CAP_SYS_NICE or RLIMIT_NICE): the collectors run at COLLECTOR_NICE
 *   (default -10), ahead of everything else on the host, the other services at nice 5;
 * - it may not: the collectors stay at 0 and everything else steps back instead: the other services and the parts
 *   of the embedded stack this run started (Kafka, the dev ClickHouse) run at nice 10.
 * Linux keeps a nice value per thread, so a process is reniced thread by thread (a JVM's threads exist already).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export const BACKGROUND_NICE = 5;
export const FALLBACK_NICE = 10;

export interface PriorityPlan {
  readonly collector: number;
  /** Analyzers, guard, API. */
  readonly background: number;
  /** The embedded stack parts this run started; undefined: left as they are. */
  readonly stack: number | undefined;
  /** One line for the log: which way applied. */
  readonly summary: string;
}

/** Whether this process may lower a nice value (raise a priority): tried on itself by one step, then undone. */
export function mayRaisePriority(): boolean {
  const current = getPriority();
  if (current <= -20) return true;
  try {
    setPriority(current - 1);
  } catch {
    return false;
  }
  setPriority(current); // stepping back down is always allowed
  return true;
}

export function planPriorities(collectorNice: number, mayRaise: boolean): PriorityPlan {
  if (collectorNice >= 0 || mayRaise) {
    return {
      collector: collectorNice, background: Math.max(BACKGROUND_NICE, collectorNice), stack: undefined,
      summary: `intake priority: collectors at nice ${collectorNice}, the other services at nice ${Math.max(BACKGROUND_NICE, collectorNice)}`,
    };
  }
  return {
    collector: 0, background: FALLBACK_NICE, stack: FALLBACK_NICE,
    summary: `intake priority: no permission to raise the collectors to nice ${collectorNice} (needs root or CAP_SYS_NICE); `
      + `collectors at 0, the other services and the embedded Kafka/ClickHouse this run started at nice ${FALLBACK_NICE} instead`,
  };
}

/** Sets every thread of a process to `nice`. Throws what the first thread refused (EPERM, ESRCH). */
export function reniceProcess(pid: number, nice: number): void {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    tids = [pid]; // no procfs: the main thread only
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
    } catch (err) {
      if (tid === pid) throw err; // a thread that ended meanwhile is no failure
    }
  }
}

/** Renices every process of a process group (how the stack starts its parts), each thread by thread. */
export function reniceGroup(pgid: number, nice: number): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp !== pgid) continue;
    try {
      reniceProcess(Number(entry), nice);
      count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}
