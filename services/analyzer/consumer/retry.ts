/**
 * Retry with capped exponential backoff while the failure is one that can pass (the registry's `retryable` flag):
 * a batch is delayed, never skipped. A failure that cannot pass is thrown at once, to the caller that knows what
 * to do with it (the insert path sends refused rows to the dead letters; anything else stops the partition).
 */
import { isTollgateError, TollgateError } from '../../shared/errors.ts';
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

/**
 * Our errors say whether they can pass (`retryable`); client errors (kafkajs) carry `retriable`. JavaScript's own
 * TypeError/RangeError/ReferenceError are bugs and never pass. Any other error that says neither is treated as
 * passing: an unknown failure is more often a connection than a refusal.
 */
export function isRetryable(err: unknown): boolean {
  if (isTollgateError(err)) return err.retryable;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) return false;
  const r = (err as { retriable?: unknown } | null)?.retriable;
  return typeof r === 'boolean' ? r : true;
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
      if (!isRetryable(err)) throw err;
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
