/**
 * Writes CDR revisions to ClickHouse (`cdrs`) and to a Kafka topic, without losing one: each revision is appended
 * to a journal file before anything else, batches are retried with backoff while ClickHouse or Kafka fail, and the
 * journal is cut only after both confirmed. A restart replays the journal; the replay is harmless because a revision
 * has a fixed `version` (ReplacingMergeTree keeps one row) and each batch carries an insert deduplication token.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import { TollgateError } from '../../shared/errors.ts';
import type { Component, ComponentHealth } from '../../shared/lifecycle.ts';
import type { RecordProducer } from '../../shared/kafka/producer.ts';
import { RatingErrors } from '../errors.ts';
import type { CdrRow } from './cdr-rows.ts';

export interface CdrWriterOptions {
  readonly store: SqlStore;
  readonly producer?: RecordProducer | undefined;
  readonly topic: string;
  readonly spoolDir: string;
  readonly log: Logger;
  readonly flushIntervalMs?: number;
  readonly maxBatch?: number;
  readonly onWritten?: (rows: number) => void;
  readonly onFailure?: (err: TollgateError) => void;
}

export class CdrWriter implements Component {
  readonly name = 'cdr-writer';
  readonly #opts: CdrWriterOptions;
  readonly #journalPath: string;
  #fd: number | undefined;
  #queue: CdrRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #lastError = '';
  #closed = false;
  written = 0;

  constructor(opts: CdrWriterOptions) {
    this.#opts = opts;
    this.#journalPath = path.join(opts.spoolDir, 'cdrs.journal');
  }

  get queued(): number {
    return this.#queue.length;
  }

  async start(): Promise<void> {
    mkdirSync(this.#opts.spoolDir, { recursive: true });
    if (existsSync(this.#journalPath)) {
      const lines = readFileSync(this.#journalPath, 'utf8').split('\n').filter(Boolean);
      let bad = 0;
      for (const line of lines) {
        try {
          this.#queue.push(JSON.parse(line) as CdrRow);
        } catch {
          bad++; // a torn last line from a crash mid-append; the rest is intact
        }
      }
      if (lines.length > 0) this.#opts.log.info({ replayed: this.#queue.length, torn: bad }, 'CDR journal replayed');
    }
    this.#fd = openSync(this.#journalPath, 'a');
    this.#schedule(0);
  }

  /** Journals the revision at once (durable across a crash from here on) and queues it for ClickHouse and Kafka. */
  write(row: CdrRow): void {
    if (this.#fd === undefined) throw new Error('CdrWriter.write before start()');
    writeSync(this.#fd, `${JSON.stringify(row)}\n`);
    this.#queue.push(row);
    if (this.#timer === undefined && this.#flushing === undefined) this.#schedule(this.#opts.flushIntervalMs ?? 50);
  }

  /** Waits until everything queued so far is confirmed (tests, shutdown). */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length > 0 || this.#flushing) {
      if (Date.now() > deadline) throw new Error(`CDR writer: ${this.#queue.length} rows still queued after ${timeoutMs} ms (${this.#lastError})`);
      if (!this.#flushing && this.#timer === undefined) this.#schedule(0);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  health(): ComponentHealth {
    if (this.#failures > 0) return { state: 'degraded', detail: `${this.#queue.length} CDR revisions journaled, not yet written: ${this.#lastError}` };
    return { state: 'ok', detail: `${this.written} CDR revisions written` };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      await this.drain(5_000);
    } catch (err) {
      this.#opts.log.warn({ err: (err as Error).message }, 'CDR writer closed with rows left in the journal; they are replayed at the next start');
    }
    if (this.#fd !== undefined) {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      this.#fd = undefined;
    }
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0 && !this.#closed) this.#schedule(this.#failures > 0 ? Math.min(5_000, 100 * 2 ** this.#failures) : 0);
      });
    }, ms);
  }

  async #flush(): Promise<void> {
    if (this.#queue.length === 0) return;
    const batch = this.#queue.slice(0, this.#opts.maxBatch ?? 2_000);
    const token = createHash('sha1').update(batch.map((r) => `${r['unique_id']}:${r['version']}`).join(',')).digest('hex');
    try {
      try {
        await this.#opts.store.insert('cdrs', batch, { dedupToken: `cdrs-${token}` });
      } catch (err) {
        throw new TollgateError(RatingErrors.cdrStore, `CDR insert of ${batch.length} rows failed: ${(err as Error).message}`, { rows: batch.length, sink: 'clickhouse' }, { cause: err });
      }
      if (this.#opts.producer) {
        try {
          await this.#opts.producer.send(batch.map((r) => ({ topic: this.#opts.topic, key: Buffer.from(String(r['unique_id'])), value: Buffer.from(JSON.stringify(r)) })));
        } catch (err) {
          throw new TollgateError(RatingErrors.cdrStore, `CDR publish of ${batch.length} rows to ${this.#opts.topic} failed: ${(err as Error).message}`, { rows: batch.length, sink: 'kafka' }, { cause: err });
        }
      }
    } catch (err) {
      const e = err as TollgateError;
      this.#failures++;
      if (this.#failures === 1 || this.#failures % 20 === 0) this.#opts.log.error({ err: { code: e.code, message: e.message }, failures: this.#failures }, 'CDR write failed; kept in the journal, retrying');
      this.#lastError = e.message;
      this.#opts.onFailure?.(e);
      return;
    }
    if (this.#failures > 0) this.#opts.log.info({ after: this.#failures }, 'CDR writes recovered');
    this.#failures = 0;
    this.#lastError = '';
    this.#queue.splice(0, batch.length);
    this.written += batch.length;
    this.#opts.onWritten?.(batch.length);
    this.#compact();
  }

  /** The journal keeps exactly what is not confirmed yet. */
  #compact(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    const tmp = `${this.#journalPath}.tmp`;
    writeFileSync(tmp, this.#queue.map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(tmp, this.#journalPath);
    this.#fd = openSync(this.#journalPath, 'a');
  }
}
