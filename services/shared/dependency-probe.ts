/**
 * Reports a dependency's reachability to `/healthz` by checking it on an interval, so a health request never waits
 * on a slow dependency and a flapping one shows up with its last error.
 */
import { Once, type Component, type ComponentHealth } from './lifecycle.ts';

export class DependencyProbe implements Component {
  #state: ComponentHealth = { state: 'down', detail: 'not checked yet' };
  #timer: NodeJS.Timeout | undefined;
  #closing = new Once();

  constructor(
    readonly name: string,
    private readonly check: () => Promise<void>,
    private readonly intervalMs = 5_000,
    private readonly timeoutMs = 3_000,
  ) {}

  async probe(): Promise<ComponentHealth> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      this.#state = { state: 'ok' };
    } catch (err) {
      this.#state = { state: 'down', detail: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
    return this.#state;
  }

  async start(): Promise<void> {
    await this.probe();
    this.#timer = setInterval(() => void this.probe(), this.intervalMs);
    this.#timer.unref();
  }

  close(): Promise<void> {
    return this.#closing.run(async () => clearInterval(this.#timer));
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    return this.#state;
  }
}
