/**
 * The processes `npm start` runs, found from the supervisor's pid by walking /proc (Linux), named by the service
 * entry each one runs (`services/<name>/main.ts`), with their CPU seconds and resident memory sampled over time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { procStat } from './collector-process.ts';

export interface ServiceProcess {
  readonly pid: number;
  /** `collector-12345`: the service the process runs and its pid (several processes run one service). */
  readonly name: string;
  readonly service: string;
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Every descendant of `root` whose command line runs a service entry (`services/<svc>/main.ts`). */
export function serviceProcesses(root: number): ServiceProcess[] {
  const out: ServiceProcess[] = [];
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid === root) continue;
    try {
      let p = pid;
      for (let hops = 0; p > 1 && p !== root && hops < 16; hops++) p = parentOf(p);
      if (p !== root) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const entry = cmd.map((a) => /services\/(\w+)\/main\.ts$/.exec(a)?.[1]).find((m) => m !== undefined);
      if (entry !== undefined) out.push({ pid, service: entry, name: `${entry}-${pid}` });
    } catch {
      continue; // the process ended while we looked: it is not one to sample
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface ProcessSample {
  readonly atMs: number;
  readonly cpuSec: number;
  readonly rssKb: number;
}

/** Samples every service process under `root` each `everyMs` until stopped; a process that ends keeps its samples. */
export class ProcessSampler {
  readonly series = new Map<string, { proc: ServiceProcess; samples: ProcessSample[] }>();
  readonly #timer: NodeJS.Timeout;

  constructor(readonly root: number, everyMs: number) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const atMs = Date.now();
    for (const proc of serviceProcesses(this.root)) {
      try {
        const { cpuSec, rssKb } = procStat(proc.pid);
        const s = this.series.get(proc.name) ?? { proc, samples: [] };
        s.samples.push({ atMs, cpuSec, rssKb });
        this.series.set(proc.name, s);
      } catch {
        continue; // ended between listing and reading
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** CPU seconds each service (all its processes) used between two instants. */
  cpuBetween(fromMs: number, toMs: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { proc, samples } of this.series.values()) {
      const a = nearest(samples, fromMs);
      const b = nearest(samples, toMs);
      if (a === undefined || b === undefined) continue;
      out[proc.service] = (out[proc.service] ?? 0) + (b.cpuSec - a.cpuSec);
    }
    return out;
  }

  /** Per process: RSS at the first and last sample, the peak, and the slope over the second half (least squares). */
  memory(fromMs: number, toMs: number): Array<{ name: string; firstMb: number; lastMb: number; peakMb: number; slopeMbPerMin: number; samples: number; byMinuteMb: number[] }> {
    return [...this.series.values()].map(({ proc, samples }) => {
      const w = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
      const half = w.filter((s) => s.atMs >= fromMs + (toMs - fromMs) / 2);
      const mb = (kb: number): number => Math.round(kb / 102.4) / 10;
      return {
        name: proc.name, samples: w.length,
        firstMb: mb(w[0]?.rssKb ?? 0), lastMb: mb(w.at(-1)?.rssKb ?? 0), peakMb: mb(Math.max(0, ...w.map((s) => s.rssKb))),
        slopeMbPerMin: Math.round(slope(half.map((s) => [s.atMs / 60_000, s.rssKb / 1024] as const)) * 100) / 100,
        // RSS at each whole minute of the window (the sample nearest to it): a sawtooth and a climb look alike in
        // a slope, not in the series.
        byMinuteMb: Array.from({ length: Math.floor((toMs - fromMs) / 60_000) + 1 }, (_, m) => mb(nearest(w, fromMs + m * 60_000)?.rssKb ?? 0)),
      };
    });
  }
}

function nearest(samples: readonly ProcessSample[], atMs: number): ProcessSample | undefined {
  let best: ProcessSample | undefined;
  for (const s of samples) if (best === undefined || Math.abs(s.atMs - atMs) < Math.abs(best.atMs - atMs)) best = s;
  return best;
}

function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
