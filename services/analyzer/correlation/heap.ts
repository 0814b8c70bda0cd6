/**
 * Min-heap of (deadline, key) used to find the trackers' due entries without scanning every open dialog.
 * Entries are never removed early: a tracker re-checks the real deadline when one pops (lazy invalidation),
 * which keeps updates O(log n) and the heap rebuildable from state alone after a restore.
 */
export interface Due {
  at: number;
  key: string;
}

export class DeadlineHeap {
  private readonly items: Due[] = [];

  get size(): number {
    return this.items.length;
  }

  push(at: number, key: string): void {
    const items = this.items;
    items.push({ at, key });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      const cur = items[i]!;
      if (!less(cur, parent)) break;
      items[p] = cur;
      items[i] = parent;
      i = p;
    }
  }

  peek(): Due | undefined {
    return this.items[0];
  }

  pop(): Due | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && less(items[l]!, items[m]!)) m = l;
      if (r < items.length && less(items[r]!, items[m]!)) m = r;
      if (m === i) break;
      const t = items[m]!;
      items[m] = items[i]!;
      items[i] = t;
      i = m;
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

// Ties on the key make the pop order, and so the order of emitted records, independent of insertion order.
function less(a: Due, b: Due): boolean {
  return a.at < b.at || (a.at === b.at && a.key < b.key);
}
