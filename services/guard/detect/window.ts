/**
 * Sliding-window bookkeeping shared by the detectors. Event time, not wall time: a replay after a restart gives the
 * same answers. Keys that go quiet are swept so memory follows the active set, not the history.
 */
import { OldestFirst } from '../../shared/oldest-first.ts';

/** Timestamps of one key inside a window (pike's density, but exact rather than per sampling unit). */
export class SlidingCount {
  #ts: number[] = [];
  #head = 0;

  add(t: number, windowMs: number): number {
    this.#ts.push(t);
    return this.count(t, windowMs);
  }

  count(now: number, windowMs: number): number {
    const from = now - windowMs;
    while (this.#head < this.#ts.length && this.#ts[this.#head]! <= from) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#ts.length) {
      this.#ts = this.#ts.slice(this.#head);
      this.#head = 0;
    }
    return this.#ts.length - this.#head;
  }

  get last(): number {
    return this.#ts.length > this.#head ? this.#ts[this.#ts.length - 1]! : -Infinity;
  }
}

/** Distinct values seen inside a window, with the time each was last seen. */
export class SlidingSet<V> {
  readonly #seen = new Map<V, number>();

  add(v: V, t: number, windowMs: number): number {
    this.#seen.delete(v);
    this.#seen.set(v, t);
    return this.size(t, windowMs);
  }

  size(now: number, windowMs: number): number {
    const from = now - windowMs;
    // Insertion order is last-seen order: the oldest entries are first.
    for (const [v, t] of this.#seen) {
      if (t > from) break;
      this.#seen.delete(v);
    }
    return this.#seen.size;
  }

  values(): IterableIterator<V> {
    return this.#seen.keys();
  }

  get last(): number {
    let last = -Infinity;
    for (const t of this.#seen.values()) last = t;
    return last;
  }
}

/** A map of per-key state that forgets keys idle for longer than `idleMs` (checked on sweep). */
export class KeyedState<S extends { readonly last: number }> {
  readonly #m = new Map<string, S>();
  readonly #oldest = new OldestFirst(this.#m);
  constructor(private readonly make: () => S, private readonly maxKeys = 200_000) {}

  get(key: string): S {
    let s = this.#m.get(key);
    if (s === undefined) {
      if (this.#m.size >= this.maxKeys) {
        // Bounded memory under a spoofed-source flood: drop the oldest key rather than grow without limit.
        this.#m.delete(this.#oldest.take()!);
      }
      s = this.make();
      this.#m.set(key, s);
    }
    return s;
  }

  peek(key: string): S | undefined {
    return this.#m.get(key);
  }

  sweep(now: number, idleMs: number): void {
    for (const [k, s] of this.#m) if (s.last < now - idleMs) this.#m.delete(k);
    this.#oldest.reset();
  }

  get size(): number {
    return this.#m.size;
  }

  entries(): IterableIterator<[string, S]> {
    return this.#m.entries();
  }
}
