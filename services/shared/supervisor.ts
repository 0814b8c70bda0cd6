/**
 * Starts components in order and stops them in reverse, so producers stop taking input before the sinks they feed
 * are flushed. A graceful stop gets a deadline; what has not drained by then is destroyed.
 */
import type { Logger } from 'pino';
import { healthReport, Once, type Component, type HealthReport } from './lifecycle.ts';

export class Supervisor {
  readonly #components: Component[] = [];
  readonly #started: Component[] = [];
  readonly #stopping = new Once();

  constructor(private readonly log: Logger) {}

  add(...components: Component[]): this {
    this.#components.push(...components);
    return this;
  }

  get components(): readonly Component[] {
    return this.#components;
  }

  health(): HealthReport {
    return healthReport(this.#components);
  }

  async start(): Promise<void> {
    for (const c of this.#components) {
      const t0 = performance.now();
      try {
        await c.start();
      } catch (err) {
        this.log.error({ err, component: c.name }, 'component failed to start; stopping the ones already started');
        await this.stop(1_000);
        throw err;
      }
      this.#started.push(c);
      this.log.debug({ component: c.name, ms: Math.round(performance.now() - t0) }, 'component started');
    }
  }

  /** Drains every started component in reverse order within `timeoutMs`, then destroys what is left. */
  stop(timeoutMs: number): Promise<void> {
    return this.#stopping.run(async () => {
      // Monotonic: a wall-clock step during shutdown must not stretch or cut the drain.
      const deadline = performance.now() + timeoutMs;
      const order = [...this.#started].reverse();
      for (let i = 0; i < order.length; i++) {
        const c = order[i]!;
        const left = deadline - performance.now();
        const closed = left > 0 && await withTimeout(c.close(), left).then(
          (ok) => ok,
          (err: unknown) => {
            this.log.error({ err, component: c.name }, 'component failed to close cleanly');
            return false;
          },
        );
        if (!closed) {
          this.log.warn({ component: c.name }, 'drain deadline passed or close failed; destroying');
          await c.destroy(new Error('shutdown deadline exceeded')).catch((err: unknown) =>
            this.log.error({ err, component: c.name }, 'component destroy failed'));
        }
      }
    });
  }
}

async function withTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
