/**
 * The deadline scheduler both trackers use: which open entries (calls, REGISTER transactions) may be due, without
 * scanning them all. Entries are only ever scheduled earlier than they were; a popped entry is re-checked against
 * its real deadline and pushed back when that moved later (lazy invalidation), so updates stay O(log n) and the
 * scheduler is rebuilt from tracker state alone after a restore.
 */
import { DeadlineHeap } from './heap.ts';

export class DeadlineScheduler {
  readonly #heap = new DeadlineHeap();
  /** Earliest heap entry per key; always ≤ its real deadline. */
  readonly #scheduled = new Map<string, number>();

  /** Registers `due` for `key` unless an earlier one is already registered. */
  schedule(key: string, due: number): void {
    const cur = this.#scheduled.get(key);
    if (cur === undefined || due < cur) {
      this.#scheduled.set(key, due);
      this.#heap.push(due, key);
    }
  }

  /** Forgets `key` (emitted); its heap entries are skipped when they surface. */
  remove(key: string): void {
    this.#scheduled.delete(key);
  }

  clear(): void {
    this.#heap.clear();
    this.#scheduled.clear();
  }

  /**
   * Every key whose real deadline (`realDue`, undefined when the entry is gone) is before `now`, removed from the
   * schedule, ordered by (deadline, key): the order is a function of tracker state, not of stale heap entries.
   * Keys whose deadline moved past `now` are rescheduled.
   */
  takeDue(now: number, realDue: (key: string) => number | undefined): Array<{ key: string; at: number }> {
    const out: Array<{ key: string; at: number }> = [];
    for (let top = this.#heap.peek(); top !== undefined && top.at < now; top = this.#heap.peek()) {
      this.#heap.pop();
      if (this.#scheduled.get(top.key) !== top.at) continue;
      const at = realDue(top.key);
      if (at === undefined) {
        this.#scheduled.delete(top.key);
      } else if (at < now) {
        this.#scheduled.delete(top.key);
        out.push({ key: top.key, at });
      } else {
        this.#scheduled.set(top.key, at);
        this.#heap.push(at, top.key);
      }
    }
    out.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  /** A lower bound of the earliest real deadline; undefined when nothing is scheduled. */
  next(): number | undefined {
    for (let top = this.#heap.peek(); top !== undefined; top = this.#heap.peek()) {
      if (this.#scheduled.get(top.key) === top.at) return top.at;
      this.#heap.pop();
    }
    return undefined;
  }
}
