/**
 * Min-heap of (deadline, key) used to find the trackers' due entries without scanning every open dialog.
 * Entries are never removed early: a tracker re-checks the real deadline when one pops (lazy invalidation),
 * which keeps updates O(log n) and the heap rebuildable from state alone after a restore.
 * Two parallel arrays rather than one object per entry: a push allocates nothing once the arrays have grown.
 */
export class DeadlineHeap {
  private readonly ats: number[] = [];
  private readonly keys: string[] = [];

  get size(): number {
    return this.ats.length;
  }

  push(at: number, key: string): void {
    const ats = this.ats;
    const keys = this.keys;
    let i = ats.length;
    ats.push(at);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = ats[p]!;
      const pk = keys[p]!;
      if (!less(at, key, pa, pk)) break;
      ats[i] = pa;
      keys[i] = pk;
      i = p;
    }
    ats[i] = at;
    keys[i] = key;
  }

  /** Deadline of the earliest entry; undefined when empty. */
  topAt(): number | undefined {
    return this.ats[0];
  }

  /** Key of the earliest entry; only valid when `topAt()` is defined. */
  topKey(): string {
    return this.keys[0]!;
  }

  pop(): void {
    const ats = this.ats;
    const keys = this.keys;
    const lastAt = ats.pop();
    const lastKey = keys.pop();
    const n = ats.length;
    if (lastAt === undefined || lastKey === undefined || n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = -1;
      let ma = lastAt;
      let mk = lastKey;
      if (l < n && less(ats[l]!, keys[l]!, ma, mk)) {
        m = l;
        ma = ats[l]!;
        mk = keys[l]!;
      }
      if (r < n && less(ats[r]!, keys[r]!, ma, mk)) {
        m = r;
        ma = ats[r]!;
        mk = keys[r]!;
      }
      if (m === -1) break;
      ats[i] = ma;
      keys[i] = mk;
      i = m;
    }
    ats[i] = lastAt;
    keys[i] = lastKey;
  }

  clear(): void {
    this.ats.length = 0;
    this.keys.length = 0;
  }
}

// Ties on the key make the pop order, and so the order of emitted records, independent of insertion order.
function less(aAt: number, aKey: string, bAt: number, bKey: string): boolean {
  return aAt < bAt || (aAt === bAt && aKey < bKey);
}
