/**
 * Where batches are cut. A batch covers the offsets [first, last] of one partition and is inserted under the
 * token `<group>:<topic>:<partition>:<first>-<last>:<table>`. A range recorded in the ingest ledger must be cut
 * again exactly as recorded when its offsets are replayed, so the replay carries the same tokens and ClickHouse
 * drops it; offsets beyond the recorded ranges are cut freely (by row count, and by what one fetch returned).
 */

export interface OffsetRange {
  readonly first: number;
  readonly last: number;
}

export interface Cut {
  /** Index range [start, end) into the offsets given. */
  readonly start: number;
  readonly end: number;
  readonly range: OffsetRange;
  /** True when the range comes from the ledger (a replay). */
  readonly planned: boolean;
}

export interface CutPlan {
  readonly cuts: Cut[];
  /** Offsets from this index on belong to a recorded range whose end has not been fetched yet: hold them. */
  readonly holdFrom: number;
  /** Recorded ranges not used up yet. */
  readonly remaining: OffsetRange[];
}

export function rangeKey(range: OffsetRange): string {
  return `${range.first}-${range.last}`;
}

/** `part` is `rangeKey(range)` for a batch of records, `idle@<at>:<toUs>` for an idle advance. */
export function dedupToken(group: string, topic: string, partition: number, part: OffsetRange | string, table: string): string {
  return `${group}:${topic}:${partition}:${typeof part === 'string' ? part : rangeKey(part)}:${table}`;
}

/**
 * @param offsets  ascending offsets of the records available now (held ones first)
 * @param planned  ledger ranges at or after the first offset, ascending by `first`
 */
export function planCuts(offsets: readonly number[], planned: readonly OffsetRange[], maxRows: number): CutPlan {
  const cuts: Cut[] = [];
  const queue = [...planned];
  let i = 0;
  const n = offsets.length;
  while (i < n) {
    const o = offsets[i]!;
    // Ranges that end before the records we have were already consumed (or belong to offsets Kafka no longer has).
    while (queue.length > 0 && queue[0]!.last < o) queue.shift();
    const next = queue[0];
    if (next !== undefined && next.first <= o) {
      let j = i;
      while (j < n && offsets[j]! <= next.last) j++;
      if (j === n && offsets[n - 1]! < next.last) return { cuts, holdFrom: i, remaining: queue };
      cuts.push({ start: i, end: j, range: { first: next.first, last: next.last }, planned: true });
      queue.shift();
      i = j;
      continue;
    }
    const limit = Math.max(1, maxRows);
    let j = i;
    while (j < n && j - i < limit && (next === undefined || offsets[j]! < next.first)) j++;
    cuts.push({ start: i, end: j, range: { first: o, last: offsets[j - 1]! }, planned: false });
    i = j;
  }
  return { cuts, holdFrom: n, remaining: queue };
}
