/**
 * The publisher's path to disk: records accepted while spooling wait in a write buffer and are appended in offer
 * order by one writer at a time; one turn of the event loop lets a burst of offers share one append. What does
 * not fit the spool is dropped (`spool_full`), what fails to write is dropped (`spool_error`), both counted.
 */
import type { Logger } from 'pino';
import { isTollgateError } from '../../shared/errors.ts';
import { SpoolErrors } from './errors.ts';
import type { CaptureRecord } from './record.ts';
import type { DiskSpool } from './spool.ts';
import type { PublisherTallies } from './tallies.ts';

export class SpoolWriter {
  #buf: CaptureRecord[] = [];
  #sizes: number[] = [];
  #bytes = 0;
  #writer: Promise<void> | undefined;

  constructor(
    private readonly spool: DiskSpool,
    private readonly tallies: PublisherTallies,
    private readonly log: Logger | undefined,
  ) {}

  get records(): number {
    return this.#buf.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** True while an append is under way. */
  get writing(): boolean {
    return this.#writer !== undefined;
  }

  /** Adds to the write buffer; the caller checked the bounds and calls `schedule()`. */
  push(record: CaptureRecord, size: number): void {
    this.#buf.push(record);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  schedule(): void {
    this.#writer ??= this.#write().finally(() => {
      this.#writer = undefined;
    });
  }

  /** Resolves when everything buffered so far (and added meanwhile) is on disk or counted as dropped. */
  async flush(): Promise<void> {
    while (this.#writer !== undefined) await this.#writer;
    // Records put in the buffer after the writer's last turn.
    if (this.#buf.length > 0) {
      this.schedule();
      await this.flush();
    }
  }

  async #write(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#buf.length > 0) {
      const records = this.#buf;
      const sizes = this.#sizes;
      this.#buf = [];
      this.#sizes = [];
      this.#bytes = 0;
      let fit = 0;
      let room = this.spool.freeBytes;
      while (fit < records.length && sizes[fit]! <= room) room -= sizes[fit++]!;
      const chunk = fit === records.length ? records : records.slice(0, fit);
      if (fit < records.length) this.tallies.dropAll(records.slice(fit), 'spool_full');
      try {
        await this.spool.append(chunk);
        this.tallies.add(chunk, 'spooled');
      } catch (err) {
        this.tallies.dropAll(chunk, isTollgateError(err, SpoolErrors.full) ? 'spool_full' : 'spool_error');
        this.log?.error({ err, records: chunk.length }, 'spool append failed; records dropped');
      }
    }
  }
}
