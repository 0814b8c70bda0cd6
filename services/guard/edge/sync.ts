/**
 * Keeps one edge proxy in step with the blocklist: changes are queued per address (the latest change wins, so a
 * proxy that is down for an hour gets one request per address, not the history), sent with a deadline, retried
 * with exponential backoff; a probe every `probeIntervalMs` looks for the sentinel and re-pushes the whole active
 * set when it is gone (restart, flush) or when the proxy comes back after failures.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Once, type Component, type ComponentHealth } from '../../shared/lifecycle.ts';
import type { BlockRecord } from '../blocklist.ts';
import type { GuardMetrics } from '../metrics.ts';
import type { EdgeProxy } from './proxies.ts';

export interface EdgeSyncOptions {
  readonly proxy: EdgeProxy;
  /** The active set now (allowlist applied). */
  readonly active: (now: number) => readonly BlockRecord[];
  readonly probeIntervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly metrics: GuardMetrics;
  readonly log: Logger;
  readonly now?: () => number;
}

type Op = { readonly kind: 'set'; readonly record: BlockRecord } | { readonly kind: 'remove'; readonly ip: string };

export class EdgeSync implements Component {
  readonly name: string;
  readonly #o: EdgeSyncOptions;
  readonly #pending = new Map<string, Op>();
  readonly #token = randomUUID();
  readonly #closing = new Once();
  #stopped = false;
  #needResync: string | undefined = 'start';
  #failures = 0;
  #lastError: string | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  lastResyncAt = 0;
  resyncs = 0;

  constructor(o: EdgeSyncOptions) {
    this.#o = o;
    this.name = `edge:${o.proxy.kind}:${o.proxy.label}`;
  }

  get #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** A blocklist change to carry to the proxy. */
  notify(r: BlockRecord): void {
    const now = this.#now;
    this.#pending.set(r.ip, r.state === 'active' && r.expiresAt > now ? { kind: 'set', record: r } : { kind: 'remove', ip: r.ip });
    this.#gauge();
    this.#wake?.();
  }

  /** An address whose block ended (expiry): removed explicitly, in case the proxy's own expiry lags. */
  expired(ip: string): void {
    this.#pending.set(ip, { kind: 'remove', ip });
    this.#gauge();
    this.#wake?.();
  }

  async start(): Promise<void> {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let lastProbe = 0;
    while (!this.#stopped) {
      try {
        if (this.#needResync === undefined && this.#now - lastProbe >= this.#o.probeIntervalMs) {
          lastProbe = this.#now;
          if (!(await this.#call('probe', () => this.#o.proxy.hasSentinel()))) this.#needResync = 'restarted';
        }
        if (this.#needResync !== undefined) {
          await this.#resync(this.#needResync);
          this.#needResync = undefined;
          lastProbe = this.#now;
        }
        for (const [ip, op] of this.#pending) {
          if (this.#stopped) break;
          if (op.kind === 'set') {
            const ttl = (op.record.expiresAt - this.#now) / 1000;
            if (ttl > 0) await this.#call('set', () => this.#o.proxy.set(ip, ttl, banValue(op.record)));
          } else {
            await this.#call('remove', () => this.#o.proxy.remove(ip));
          }
          // Only drop the op if no newer one replaced it while the request was in flight.
          if (this.#pending.get(ip) === op) this.#pending.delete(ip);
        }
        this.#gauge();
        if (this.#failures > 0) this.#o.log.info({ proxy: this.#o.proxy.label, after: this.#failures }, 'edge proxy reachable again');
        this.#failures = 0;
        await this.#sleep(Math.max(10, this.#o.probeIntervalMs - (this.#now - lastProbe)));
      } catch (err) {
        this.#failures++;
        this.#lastError = (err as Error).message;
        // Log the first failure and then every tenth: a proxy down for an hour is one story, not 3600 lines.
        if (this.#failures === 1 || this.#failures % 10 === 0) this.#o.log.warn({ err, proxy: this.#o.proxy.label, failures: this.#failures }, 'edge proxy request failed; retrying');
        // After failures we cannot know what the proxy holds: probe again before anything else.
        lastProbe = 0;
        const backoff = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(20, this.#failures - 1));
        await this.#sleep(backoff * (0.8 + Math.random() * 0.4), true);
      }
    }
  }

  async #resync(reason: string): Promise<void> {
    const active = this.#o.active(this.#now);
    for (const r of active) {
      const ttl = (r.expiresAt - this.#now) / 1000;
      if (ttl > 0) await this.#call('set', () => this.#o.proxy.set(r.ip, ttl, banValue(r)));
      const p = this.#pending.get(r.ip);
      if (p?.kind === 'set' && p.record === r) this.#pending.delete(r.ip);
    }
    // The sentinel last: a resync cut short by a failure is retried from the start.
    await this.#call('sentinel', () => this.#o.proxy.setSentinel(this.#token));
    this.#o.metrics.edgeResyncs.inc({ proxy: this.#o.proxy.label, reason });
    this.resyncs++;
    this.lastResyncAt = this.#now;
    this.#o.log.info({ proxy: this.#o.proxy.label, reason, entries: active.length }, 'edge proxy resynced');
  }

  async #call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const labels = { proxy: this.#o.proxy.label, op };
    const end = this.#o.metrics.edgeSeconds.startTimer(labels);
    try {
      const r = await fn();
      this.#o.metrics.edgeRequests.inc({ ...labels, outcome: 'ok' });
      this.#o.metrics.edgeUp.set({ proxy: this.#o.proxy.label }, 1);
      return r;
    } catch (err) {
      this.#o.metrics.edgeRequests.inc({ ...labels, outcome: 'error' });
      this.#o.metrics.edgeUp.set({ proxy: this.#o.proxy.label }, 0);
      throw err;
    } finally {
      end();
    }
  }

  #sleep(ms: number, ignoreWake = false): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = ignoreWake ? () => { if (this.#stopped) done(); } : done;
    });
  }

  #gauge(): void {
    this.#o.metrics.edgePending.set({ proxy: this.#o.proxy.label }, this.#pending.size);
  }

  get pending(): number {
    return this.#pending.size;
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      this.#stopped = true;
      this.#wake?.();
      await this.#loop;
    });
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    if (this.#failures > 0) return { state: 'degraded', detail: `${this.#failures} failed requests in a row, ${this.#pending.size} changes waiting: ${this.#lastError}` };
    return { state: 'ok' };
  }
}

function banValue(r: BlockRecord): string {
  return `tollgate:${r.detector}`;
}
