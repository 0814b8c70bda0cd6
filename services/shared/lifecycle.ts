/**
 * Every long-lived component (listener, producer, consumer, store writer, server) has one shape: `start()`,
 * `close()` drains (stop intake, flush, commit) and `destroy(err)` aborts. Both are idempotent. Health is reported
 * per component so `/healthz` can tell which dependency is the problem.
 */
export type HealthState = 'ok' | 'degraded' | 'down';

export interface ComponentHealth {
  readonly state: HealthState;
  readonly detail?: string;
}

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  close(): Promise<void>;
  destroy(err?: Error): Promise<void>;
  health(): ComponentHealth;
}

export interface HealthReport {
  readonly status: HealthState;
  readonly components: Record<string, ComponentHealth>;
}

export function healthReport(components: readonly Component[]): HealthReport {
  const entries = components.map((c) => [c.name, c.health()] as const);
  const states = entries.map(([, h]) => h.state);
  const status: HealthState = states.includes('down') ? 'down' : states.includes('degraded') ? 'degraded' : 'ok';
  return { status, components: Object.fromEntries(entries) };
}

/** One report of several (a process's own components and its peers'): the worst state of any component wins. */
export function combineReports(reports: readonly HealthReport[]): HealthReport {
  const components: Record<string, ComponentHealth> = {};
  for (const r of reports) Object.assign(components, r.components);
  const states = Object.values(components).map((h) => h.state);
  const status: HealthState = states.includes('down') ? 'down' : states.includes('degraded') ? 'degraded' : 'ok';
  return { status, components };
}

/** The report with `map` applied to every detail text (redaction before it is served). */
export function mapDetails(report: HealthReport, map: (detail: string) => string): HealthReport {
  return {
    status: report.status,
    components: Object.fromEntries(Object.entries(report.components).map(([n, h]) =>
      [n, h.detail === undefined ? h : { state: h.state, detail: map(h.detail) }])),
  };
}

/** Makes `close`/`destroy` idempotent and mutually exclusive: the first call wins, later calls await it. */
export class Once {
  #pending: Promise<void> | undefined;
  run(fn: () => Promise<void>): Promise<void> {
    this.#pending ??= fn();
    return this.#pending;
  }
  get done(): boolean {
    return this.#pending !== undefined;
  }
}
