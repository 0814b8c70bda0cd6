/**
 * Buffered inserts of the guard's records (alerts, audit, deliveries) into ClickHouse: flushed every
 * `flushMs`; a failed insert keeps its rows and is retried with backoff, so an outage delays the history but loses
 * nothing up to `maxRows` per table (beyond it the oldest rows are dropped and counted — detection and blocking
 * never wait for ClickHouse).
 */
import type { Logger } from 'pino';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import { Once, type Component, type ComponentHealth } from '../shared/lifecycle.ts';

export class TableWriter implements Component {
  readonly name = 'guard-history';
  readonly #queues = new Map<string, Record<string, unknown>[]>();
  readonly #closing = new Once();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #failing: string | undefined;
  #failures = 0;
  #nextTry = 0;
  dropped = 0;

  constructor(private readonly store: SqlStore, private readonly log: Logger, private readonly flushMs = 500, private readonly maxRows = 100_000) {}

  add(table: string, row: Record<string, unknown>): void {
    let q = this.#queues.get(table);
    if (q === undefined) this.#queues.set(table, (q = []));
    q.push(row);
    if (q.length > this.maxRows) {
      q.splice(0, q.length - this.maxRows);
      this.dropped++;
    }
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.flush(), this.flushMs);
  }

  flush(): Promise<void> {
    if (Date.now() < this.#nextTry) return Promise.resolve();
    this.#flushing ??= this.#flush().finally(() => { this.#flushing = undefined; });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    for (const [table, q] of this.#queues) {
      if (q.length === 0) continue;
      const rows = q.slice();
      try {
        await this.store.insert(table, rows);
        q.splice(0, rows.length);
        if (this.#failing !== undefined) this.log.info({ table }, 'guard history writes recovered');
        this.#failing = undefined;
        this.#failures = 0;
      } catch (err) {
        this.#failures++;
        this.#nextTry = Date.now() + Math.min(30_000, 250 * 2 ** this.#failures);
        if (this.#failing === undefined) this.log.warn({ err, table, rows: rows.length }, 'writing guard history to ClickHouse failed; kept, retrying');
        this.#failing = `${table}: ${(err as Error).message}`;
        return;
      }
    }
  }

  get queued(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      clearInterval(this.#timer);
      this.#nextTry = 0;
      await this.flush();
    });
  }

  destroy(): Promise<void> {
    clearInterval(this.#timer);
    return Promise.resolve();
  }

  health(): ComponentHealth {
    if (this.#failing !== undefined) return { state: 'degraded', detail: `ClickHouse history writes failing (${this.queued} rows kept): ${this.#failing}` };
    return { state: 'ok' };
  }
}
