/**
 * The child's side of `npm start`: a service process run by the process supervisor (`services/supervisor/`) talks
 * to it over the IPC channel Node opens for forked processes. The supervisor polls health and metrics here (so
 * children open no ops port of their own), is told when the child is ready, and stops children one group at a time
 * with SIGTERM. Ctrl-C in a terminal reaches the whole foreground process group; a supervised child leaves SIGINT
 * to the supervisor so the ordered stop (intake first) is not raced by every child stopping at once.
 */
import type { Env } from './config/settings.ts';
import type { HealthReport } from './lifecycle.ts';
import type { Registry } from 'prom-client';

/** Set by the supervisor on every child it forks. */
export const SUPERVISED_ENV = 'TOLLGATE_SUPERVISED';
/** `collector-2`: the child's name in logs, metrics (`process` label) and `/healthz`. */
export const PROCESS_ENV = 'TOLLGATE_PROCESS';

export type ToChild =
  | { readonly tg: 'health?'; readonly id: number }
  | { readonly tg: 'metrics?'; readonly id: number }
  | { readonly tg: 'peers'; readonly report: HealthReport }
  | { readonly tg: 'cluster-metrics'; readonly id: number; readonly metrics: unknown[] };

export type FromChild =
  | { readonly tg: 'ready'; readonly describe: readonly string[] }
  | { readonly tg: 'health'; readonly id: number; readonly report: HealthReport }
  | { readonly tg: 'metrics'; readonly id: number; readonly metrics: unknown }
  | { readonly tg: 'cluster-metrics?'; readonly id: number };

export function isToChild(m: unknown): m is ToChild {
  return typeof m === 'object' && m !== null && typeof (m as { tg?: unknown }).tg === 'string';
}

export interface SupervisedIdentity {
  /** `collector-2` */
  readonly process: string;
}

/** The identity when this process runs under the supervisor with an IPC channel, else undefined. */
export function supervisedIdentity(env: Env): SupervisedIdentity | undefined {
  if (env[SUPERVISED_ENV] !== '1' || typeof process.send !== 'function') return undefined;
  return { process: env[PROCESS_ENV] ?? `pid-${process.pid}` };
}

export function sendToSupervisor(msg: FromChild): void {
  if (process.connected) process.send!(msg);
}

/** Answers the supervisor's health and metrics polls from this process's components and registry. */
export function answerSupervisor(health: () => HealthReport, registry: Registry): void {
  process.on('message', (raw: unknown) => {
    if (!isToChild(raw)) return;
    if (raw.tg === 'health?') {
      sendToSupervisor({ tg: 'health', id: raw.id, report: health() });
    } else if (raw.tg === 'metrics?') {
      registry.getMetricsAsJSON().then(
        (metrics) => sendToSupervisor({ tg: 'metrics', id: raw.id, metrics }),
        () => sendToSupervisor({ tg: 'metrics', id: raw.id, metrics: [] }),
      );
    }
  });
}

export function isFromChild(m: unknown): m is FromChild {
  return typeof m === 'object' && m !== null && typeof (m as { tg?: unknown }).tg === 'string';
}
