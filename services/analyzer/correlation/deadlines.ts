/**
 * The deadline scheduler both trackers use: which open entries (calls, REGISTER transactions) may be due, without
 * scanning them all. Entries are only ever scheduled earlier than they were; a popped entry is re-checked against
 * its real deadline and pushed back when that moved later (lazy invalidation), so updates stay O(log n) and the
 * scheduler is rebuilt from tracker state alone after a restore.
 */
import { DeadlineHeap } from './heap.ts';

/** What the scheduler asks its tracker when an entry surfaces: the entry's real deadline, undefined when gone. */
export interface DeadlineSource {
  realDue(key: string): number | undefined;
}

export class DeadlineScheduler {
  readonly #heap = new DeadlineHeap();
  /** Earliest heap entry per key; always ≤ its real deadline. */
  readonly #scheduled = new Map<string, number>();
  /** Due keys and deadlines of the last `takeDue`, reused between calls. */
  readonly #dueKeys: string[] = [];
  readonly #dueAts: number[] = [];

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
   * Every key whose real deadline is before `now`, removed from the schedule, ordered by (deadline, key): the order
   * is a function of tracker state, not of stale heap entries. Keys whose deadline moved past `now` are
   * rescheduled. The result is a scratch array owned by the scheduler, valid until the next call; nothing is
   * allocated when nothing is due.
   */
  takeDue(now: number, source: DeadlineSource): readonly string[] {
    const keys = this.#dueKeys;
    const ats = this.#dueAts;
    // Setting `length` is a runtime call even when it changes nothing; most advances find nothing due.
    if (keys.length !== 0) {
      keys.length = 0;
      ats.length = 0;
    }
    const heap = this.#heap;
    for (let top = heap.topAt(); top !== undefined && top < now; top = heap.topAt()) {
      const key = heap.topKey();
      heap.pop();
      if (this.#scheduled.get(key) !== top) continue;
      const at = source.realDue(key);
      if (at === undefined) {
        this.#scheduled.delete(key);
      } else if (at < now) {
        this.#scheduled.delete(key);
        insertSorted(keys, ats, key, at);
      } else {
        this.#scheduled.set(key, at);
        heap.push(at, key);
      }
    }
    return keys;
  }

  /** A lower bound of the earliest real deadline; undefined when nothing is scheduled. */
  next(): number | undefined {
    const heap = this.#heap;
    for (let top = heap.topAt(); top !== undefined; top = heap.topAt()) {
      if (this.#scheduled.get(heap.topKey()) === top) return top;
      heap.pop();
    }
    return undefined;
  }
}

/** Keeps (at, key) ascending; the due list of one advance is short, so insertion beats a sort with a comparator. */
function insertSorted(keys: string[], ats: number[], key: string, at: number): void {
  let i = keys.length;
  keys.push(key);
  ats.push(at);
  while (i > 0) {
    const pa = ats[i - 1]!;
    const pk = keys[i - 1]!;
    if (pa < at || (pa === at && pk <= key)) break;
    ats[i] = pa;
    keys[i] = pk;
    i--;
  }
  ats[i] = at;
  keys[i] = key;
}
