/**
 * For the process serving `/healthz` and `/metrics` under `npm start` (the API): the other processes' health, as
 * pushed by the supervisor every second, and metrics of every process, aggregated at scrape time. Each process's
 * series carry its own `process` label, so nothing is summed across processes by accident.
 */
import { AggregatorRegistry, Registry } from 'prom-client';
import { combineReports, type HealthReport } from './lifecycle.ts';
import { isToChild, sendToSupervisor } from './supervised.ts';

const METRICS_TIMEOUT_MS = 3_000;

export class PeerHealth {
  #report: HealthReport = { status: 'degraded', components: { supervisor: { state: 'degraded', detail: 'no report from the supervisor yet' } } };

  constructor() {
    process.on('message', (raw: unknown) => {
      if (isToChild(raw) && raw.tg === 'peers') this.#report = raw.report;
    });
  }

  /** This process's report combined with the other processes', one component per process. */
  combine(own: HealthReport): HealthReport {
    return combineReports([own, this.#report]);
  }
}

/** A registry whose `metrics()` is every process's metrics: this one's plus what the supervisor collects. */
export class ClusterMetricsRegistry extends Registry {
  #next = 0;
  readonly #pending = new Map<number, (metrics: unknown[]) => void>();

  constructor(private readonly own: Registry) {
    super();
    process.on('message', (raw: unknown) => {
      if (isToChild(raw) && raw.tg === 'cluster-metrics') {
        this.#pending.get(raw.id)?.(raw.metrics);
        this.#pending.delete(raw.id);
      }
    });
  }

  override async metrics(): Promise<string> {
    const id = ++this.#next;
    const others = await new Promise<unknown[]>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve([]);
      }, METRICS_TIMEOUT_MS);
      this.#pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      sendToSupervisor({ tg: 'cluster-metrics?', id });
    });
    const all = [await this.own.getMetricsAsJSON(), ...others] as Parameters<typeof AggregatorRegistry.aggregate>[0];
    return AggregatorRegistry.aggregate(all).metrics();
  }
}
