/**
 * A circuit breaker in front of CGRateS: after `failures` consecutive calls without an answer it opens and calls
 * fail at once (a park must not wait a full timeout per call while the engine is away); after `cooldownMs` one
 * trial call is let through (half-open) and its outcome closes or re-opens it. Answers with an error are answers:
 * they do not count.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #onChange: ((state: BreakerState) => void) | undefined;

  constructor(opts: { failures: number; cooldownMs: number; now?: () => number; onChange?: (state: BreakerState) => void }) {
    this.#threshold = opts.failures;
    this.#cooldownMs = opts.cooldownMs;
    this.#now = opts.now ?? Date.now;
    this.#onChange = opts.onChange;
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) return 'half-open';
    return this.#state;
  }

  /** Whether a call may go out now; in half-open, only one trial at a time. */
  tryAcquire(): boolean {
    const st = this.state;
    if (st === 'closed') return true;
    if (st === 'open') return false;
    if (this.#trialInFlight) return false;
    this.#trialInFlight = true;
    this.#set('half-open');
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#trialInFlight = false;
    this.#set('closed');
  }

  failure(): void {
    this.#trialInFlight = false;
    this.#failures++;
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      this.#openedAt = this.#now();
      this.#set('open');
    }
  }

  #set(state: BreakerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onChange?.(state);
  }
}
