/**
 * The oldest key of a Map or Set, for evicting in insertion order when it is full. `map.keys().next()` starts a fresh
 * iterator at the hash table's first slot, and V8 walks it past every entry deleted since the table was last rehashed:
 * evicting that way from a full map costs O(deleted entries) per call, 34 µs per eviction at 200,000 entries
 * (bench/PROFILE.md, "Guard: where an event's CPU goes"). One long-lived iterator walks past each hole once.
 *
 * Exact (the same key as `keys().next().value`) as long as every key `take` returns is deleted before the next `take`:
 * then every slot behind the iterator is a hole, and keys set later are appended ahead of it.
 */
export class OldestFirst<K> {
  readonly #of: { keys(): IterableIterator<K> };
  #it: IterableIterator<K> | undefined;

  constructor(of: { keys(): IterableIterator<K> }) {
    this.#of = of;
  }

  /** The oldest key present, or undefined when there is none. The caller deletes it. */
  take(): K | undefined {
    let r = this.#it?.next();
    if (r === undefined || r.done === true) {
      // A finished iterator stays finished: keys set since then need a new one.
      this.#it = this.#of.keys();
      r = this.#it.next();
    }
    return r.done === true ? undefined : r.value;
  }

  /** Lets go of the iterator (and the table it may hold after a rehash); the next `take` starts afresh. */
  reset(): void {
    this.#it = undefined;
  }
}
