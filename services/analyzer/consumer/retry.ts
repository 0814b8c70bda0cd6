/** Retry with capped exponential backoff until success or stop: a batch is never skipped, only delayed. */
import { TollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';

export interface RetryHooks {
  /** True once the analyzer is stopping: give up, leave the batch uncommitted. */
  readonly stopped: () => boolean;
  /** Keeps the consumer group membership alive while we wait. */
  readonly heartbeat?: () => Promise<void>;
  readonly onFailure?: (err: unknown, attempt: number) => void;
  readonly onRecovered?: () => void;
  readonly initialMs?: number;
  readonly maxMs?: number;
}

export async function retryForever<T>(what: string, fn: () => Promise<T>, hooks: RetryHooks): Promise<T> {
  let delay = hooks.initialMs ?? 100;
  const max = hooks.maxMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    if (hooks.stopped()) throw new TollgateError(AnalyzerErrors.aborted, `stopped before ${what} succeeded`, { what });
    try {
      const v = await fn();
      if (attempt > 1) hooks.onRecovered?.();
      return v;
    } catch (err) {
      hooks.onFailure?.(err, attempt);
      const until = Date.now() + delay;
      while (Date.now() < until && !hooks.stopped()) {
        await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
        await hooks.heartbeat?.().catch(() => undefined);
      }
      delay = Math.min(max, delay * 2);
    }
  }
}
