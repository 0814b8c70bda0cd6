/**
 * One supervised process (`collector-2`): forks the service's entry module as a cluster worker (so several
 * collectors share the HEP sockets the primary holds), tags its output, tracks its health from polls, restarts it
 * with backoff when it dies unasked, and stops it with SIGTERM, then SIGKILL after the drain deadline.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { ComponentHealth, HealthReport } from '../shared/lifecycle.ts';
import { isFromChild, PROCESS_ENV, SUPERVISED_ENV, type FromChild, type ToChild } from '../shared/supervised.ts';
import { pipeTagged } from './log-lines.ts';
import { reniceProcess, type PriorityPlan } from './priority.ts';
import type { ProcessSlot } from './processes.ts';
import type { TollgateConfig } from '../settings.ts';

const SERVICES_DIR = fileURLToPath(new URL('../', import.meta.url));
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A child that ran this long before dying starts its backoff from the minimum again. */
const STABLE_AFTER_MS = 60_000;
const HEALTH_STALE_MS = 5_000;

export type ChildState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface ChildOptions {
  readonly slot: ProcessSlot;
  readonly config: TollgateConfig;
  readonly priorities: PriorityPlan;
  readonly env: Record<string, string>;
  readonly log: Logger;
  /** Called for every message the child sends besides ready/health (metrics requests from the ops process). */
  readonly onMessage: (child: SupervisedChild, msg: FromChild) => void;
  readonly onRestart: (child: SupervisedChild, reason: string) => void;
}

export class SupervisedChild {
  readonly name: string;
  #worker: Worker | undefined;
  #state: ChildState = 'stopped';
  #restarts = 0;
  #failures = 0;
  #startedAt = 0;
  #lastExit = '';
  #describe: readonly string[] = [];
  #health: { report: HealthReport; at: number } | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #ready: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(msg: FromChild) => void>();

  constructor(private readonly opts: ChildOptions) {
    this.name = opts.slot.name;
  }

  get state(): ChildState { return this.#state; }
  get restarts(): number { return this.#restarts; }
  get pid(): number | undefined { return this.#worker?.process.pid; }
  get describe(): readonly string[] { return this.#describe; }
  get slot(): ProcessSlot { return this.opts.slot; }

  /** Forks the child and resolves once it reports ready; rejects when it exits first or does not get there in time. */
  start(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not report ready within ${timeoutMs} ms`)), timeoutMs);
      this.#ready = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      this.#fork();
    });
  }

  #fork(): void {
    cluster.setupPrimary({ exec: `${SERVICES_DIR}${this.opts.slot.spec.entry}`, execArgv: [...(this.opts.slot.spec.execArgv ?? []), '--import', 'tsx'], silent: true });
    const worker = cluster.fork({ ...this.opts.env, [SUPERVISED_ENV]: '1', [PROCESS_ENV]: this.name });
    this.#worker = worker;
    this.#state = 'starting';
    this.#renice(worker);
    this.#startedAt = Date.now();
    this.#health = undefined;
    const out = worker.process.stdout ? pipeTagged(worker.process.stdout, process.stdout, this.name) : Promise.resolve();
    const err = worker.process.stderr ? pipeTagged(worker.process.stderr, process.stderr, this.name) : Promise.resolve();
    const exit = new Promise<void>((resolve) => worker.once('exit', (code, signal) => {
      // Let the last lines (a crash trace) reach the stream before the exit is reported.
      void Promise.all([out, err]).then(() => {
        this.#onExit(worker, code, signal);
        resolve();
      });
    }));
    this.#exited = exit;
    worker.on('message', (msg: unknown) => {
      if (!isFromChild(msg)) return;
      if (msg.tg === 'ready') {
        this.#describe = msg.describe;
        this.#renice(worker); // again: threads the runtime started before the first pass keep their own nice
        this.#state = 'running';
        this.#ready?.resolve();
        this.#ready = undefined;
      } else if (msg.tg === 'health') {
        this.#health = { report: msg.report, at: Date.now() };
      } else {
        this.opts.onMessage(this, msg);
        for (const l of this.#listeners) l(msg);
      }
    });
  }

  #renice(worker: Worker): void {
    const nice = this.opts.slot.spec.nice?.(this.opts.priorities) ?? 0;
    if (nice === 0 || worker.process.pid === undefined) return;
    try {
      reniceProcess(worker.process.pid, nice);
    } catch (err) {
      this.opts.log.warn({ process: this.name, nice, err: (err as Error).message }, 'could not set the process priority');
    }
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    if (worker !== this.#worker) return;
    this.#worker = undefined;
    this.#lastExit = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (this.#ready) {
      this.#state = 'failed';
      this.#ready.reject(new Error(`${this.name} ${this.#lastExit} before it was ready`));
      this.#ready = undefined;
      return;
    }
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    const ranMs = Date.now() - this.#startedAt;
    this.#failures = ranMs >= STABLE_AFTER_MS ? 1 : this.#failures + 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.#failures - 1));
    this.#restarts++;
    this.#state = 'restarting';
    this.opts.log.error({ process: this.name, exit: this.#lastExit, restartInMs: delay, restarts: this.#restarts },
      `${this.name} died (${this.#lastExit}); restarting`);
    this.opts.onRestart(this, this.#lastExit);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#state === 'restarting') this.#fork();
    }, delay);
  }

  onMessage(listener: (msg: FromChild) => void): void {
    this.#listeners.add(listener);
  }

  offMessage(listener: (msg: FromChild) => void): void {
    this.#listeners.delete(listener);
  }

  send(msg: ToChild): boolean {
    const w = this.#worker;
    if (w === undefined || !w.isConnected()) return false;
    w.send(msg);
    return true;
  }

  /** SIGTERM (the child drains), SIGKILL when it has not exited by `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    clearTimeout(this.#restartTimer);
    const w = this.#worker;
    this.#state = 'stopping';
    if (w === undefined) {
      this.#state = 'stopped';
      return;
    }
    w.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.opts.log.warn({ process: this.name }, `${this.name} did not stop within ${timeoutMs} ms; killing it`);
        w.process.kill('SIGKILL');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.#exited, killed]);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Immediate stop (second Ctrl-C). */
  kill(): void {
    clearTimeout(this.#restartTimer);
    this.#state = 'stopping';
    this.#worker?.process.kill('SIGKILL');
  }

  exited(): Promise<void> {
    return this.#exited;
  }

  health(now = Date.now()): ComponentHealth {
    const pid = this.pid;
    const base = `${this.#restarts} restart${this.#restarts === 1 ? '' : 's'}`;
    switch (this.#state) {
      case 'starting':
        return { state: 'degraded', detail: `starting (pid ${pid}); ${base}` };
      case 'restarting':
        return { state: 'down', detail: `restarting after ${this.#lastExit}; ${base}` };
      case 'stopping':
      case 'stopped':
      case 'failed':
        return { state: 'down', detail: `${this.#state}${this.#lastExit ? ` (${this.#lastExit})` : ''}; ${base}` };
      case 'running': {
        const h = this.#health;
        if (h === undefined || now - h.at > HEALTH_STALE_MS) {
          return { state: 'degraded', detail: `pid ${pid} not answering health polls; ${base}` };
        }
        const parts = Object.entries(h.report.components).map(([n, c]) => `${n} ${c.state}${c.detail ? ` (${c.detail})` : ''}`);
        return { state: h.report.status, detail: `pid ${pid}, up ${Math.round((now - this.#startedAt) / 1000)} s, ${base}; ${parts.join('; ')}` };
      }
    }
  }
}
