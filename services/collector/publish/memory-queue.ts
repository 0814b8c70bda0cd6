/**
 * The publisher's bounded memory queue: records with their encoded sizes, consumed from a head index (an array
 * shift per batch would copy the queue), compacted when the consumed prefix dominates. Bounded by the publisher,
 * which checks `records`/`bytes` before `push`.
 */
import type { CaptureRecord } from './record.ts';

export class MemoryQueue {
  #q: CaptureRecord[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;
  /** When the oldest queued record came in (performance.now()); the linger of the next batch counts from it. */
  firstQueuedAt = 0;

  get records(): number {
    return this.#q.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  push(record: CaptureRecord, size: number): void {
    if (this.records === 0) this.firstQueuedAt = performance.now();
    this.#q.push(record);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  /** The oldest records up to `maxRecords` / `maxBytes` (at least one). */
  take(maxRecords: number, maxBytes: number, lingerMs: number): CaptureRecord[] {
    let n = 0;
    let bytes = 0;
    const len = this.records;
    while (n < len && n < maxRecords) {
      const size = this.#sizes[this.#head + n]!;
      if (n > 0 && bytes + size > maxBytes) break;
      bytes += size;
      n++;
    }
    const batch = this.#q.slice(this.#head, this.#head + n);
    this.#head += n;
    this.#bytes -= bytes;
    if (this.#head === this.#q.length) {
      this.#reset();
    } else {
      if (this.#head > 65_536 && this.#head * 2 > this.#q.length) {
        this.#q = this.#q.slice(this.#head);
        this.#sizes = this.#sizes.slice(this.#head);
        this.#head = 0;
      }
      // The rest has waited at least as long as this send; a new linger would only add latency.
      this.firstQueuedAt = performance.now() - lingerMs;
    }
    return batch;
  }

  /** Empties the queue, handing every record (with its size) to `each` in order. */
  drainTo(each: (record: CaptureRecord, size: number) => void): void {
    for (let i = this.#head; i < this.#q.length; i++) each(this.#q[i]!, this.#sizes[i]!);
    this.#reset();
  }

  #reset(): void {
    this.#q = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
