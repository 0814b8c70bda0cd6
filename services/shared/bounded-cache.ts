/**
 * Answers of a pure function, remembered by key up to `capacity` keys. When full it forgets everything at once: a
 * flood of new keys (spoofed addresses, cycling User-Agents) costs a recomputation, never unbounded memory, and there
 * is no per-hit bookkeeping as an LRU would need. Only defined values are kept: `undefined` means "not remembered".
 */
export class BoundedCache<K, V> {
  readonly #known = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.#known.get(key);
  }

  /** Remembers `value` for `key` and returns it. */
  set(key: K, value: V): V {
    if (this.#known.size >= this.capacity) this.#known.clear();
    this.#known.set(key, value);
    return value;
  }
}
