/**
 * Short-lived buffers carved out of one larger allocation. `Buffer.allocUnsafe` already pools sizes under 4 KiB, but
 * its pool is 8 KiB: a 1 KB capture envelope empties it every ~7 packets, and each new pool is a fresh ArrayBuffer,
 * which V8 makes, tracks as external memory and sweeps one by one (bench/PROFILE.md, "Collector: second pass": ~8%
 * of the collector's main thread). A slab of a few hundred KiB does the same job once per few hundred packets.
 *
 * Only for buffers that die roughly in the order they were made (capture records: FIFO through the publisher): a
 * slab stays alive while any buffer carved from it does. Contents are not zeroed: callers write every byte.
 */
export class Slab {
  readonly #size: number;
  /** Requests at least this large get their own allocation, so one large packet cannot waste most of a slab. */
  readonly #ownAbove: number;
  #buf: Buffer;
  #off = 0;

  /** `size` 0: no slab, every request is a plain `Buffer.allocUnsafe` (kept selectable for benches). */
  constructor(size: number) {
    this.#size = size;
    this.#ownAbove = size >>> 3;
    this.#buf = size > 0 ? Buffer.allocUnsafeSlow(size) : Buffer.alloc(0);
  }

  alloc(n: number): Buffer {
    if (n >= this.#ownAbove) return Buffer.allocUnsafe(n);
    if (this.#off + n > this.#size) {
      this.#buf = Buffer.allocUnsafeSlow(this.#size);
      this.#off = 0;
    }
    const start = this.#off;
    this.#off = start + n;
    return this.#buf.subarray(start, start + n);
  }
}
