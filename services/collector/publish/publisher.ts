/**
 * From an accepted capture record to a Kafka acknowledgement, with no silent loss.
 *
 * Two modes. `direct`: offers go to a bounded memory queue; one loop sends batches (bounded by records, bytes and
 * linger) and waits for each acknowledgement before the next, so per-key order holds without relying on anything
 * but the producer. `spooling`: entered when a send fails, when the memory queue overflows, or at start-up when the
 * spool holds records from a previous process. Then every record goes through the disk spool in offer order and
 * the loop replays the spool to Kafka (probing with backoff while Kafka is down), removing records only after
 * Kafka acknowledged them. The publisher returns to `direct` only once the spool and its write buffer are empty,
 * so a newer record never overtakes an older spooled one.
 *
 * When the queue overflows while a batch is in flight, that batch is also written to the (then empty) spool
 * ("mirrored") ahead of the queue. If its send then succeeds, the mirrored copies are removed unsent; if it fails,
 * they are already first in line. Either way the spool's order is the offer order.
 *
 * Accounting: every offered record gets exactly one first outcome: acked (from memory), spooled (written to the
 * spool) or dropped{reason}. Spooled records are later counted again as replayed when Kafka acknowledges them.
 * The pieces live beside this file: the memory queue (`memory-queue.ts`), the spool write buffer
 * (`spool-writer.ts`) and the counting (`tallies.ts`); this file holds the modes and the send loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isTollgateError, TollgateError } from '../../shared/errors.ts';
import { Once } from '../../shared/lifecycle.ts';
import type { Component, ComponentHealth } from '../../shared/lifecycle.ts';
import { encodedSize } from './codec.ts';
import { PublishErrors, SpoolErrors } from './errors.ts';
import { MemoryQueue } from './memory-queue.ts';
import type { BatchSource, DropReason, MetricsSnapshot, PublisherMetrics } from './metrics.ts';
import type { RecordProducer } from '../../shared/kafka/producer.ts';
import type { CaptureRecord } from './record.ts';
import type { DiskSpool } from './spool.ts';
import { SpoolWriter } from './spool-writer.ts';
import { PublisherTallies } from './tallies.ts';

export type OfferResult = 'queued' | 'spooled' | 'dropped';
export type PublisherMode = 'direct' | 'spooling';

export interface KafkaPublisherOptions {
  readonly producer: RecordProducer;
  /** Without a spool, a Kafka outage is absorbed by the memory queue only, then counted as `queue_full` drops. */
  readonly spool?: DiskSpool;
  readonly metrics?: PublisherMetrics;
  /** For rare events only (mode changes, send failures, shutdown). */
  readonly log?: Logger;
  readonly name?: string;
  /**
   * Memory bound in records and in bytes (spool encoding) of the queue; the spool write buffer may hold twice as
   * much, since entering spooling moves a full queue into it.
   */
  readonly maxQueueRecords?: number;
  readonly maxQueueBytes?: number;
  /** A batch closes at this many records or bytes, or `lingerMs` after its first record was queued. */
  readonly maxBatchRecords?: number;
  readonly maxBatchBytes?: number;
  readonly lingerMs?: number;
  /** Backoff between probes while Kafka is unreachable: doubles from the first to the cap. */
  readonly probeInitialMs?: number;
  readonly probeMaxMs?: number;
  /** How long `close()` keeps sending the memory queue before it spools the rest. */
  readonly closeTimeoutMs?: number;
}

export interface PublisherStats {
  readonly offered: number;
  readonly acked: number;
  readonly spooled: number;
  readonly replayed: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly droppedTotal: number;
  readonly sendFailures: number;
  /** Records still in memory (queue, batch in flight, spool write buffer); 0 after close/destroy. */
  readonly inMemory: number;
  readonly mode: PublisherMode;
}

interface Mirror {
  readonly records: CaptureRecord[];
  readonly written: Promise<void>;
  writeOk?: boolean;
  writeFailReason?: DropReason;
  sendOk?: boolean;
  abandoned: boolean;
  settled: boolean;
}

interface InFlight {
  readonly records: CaptureRecord[];
  mirror?: Mirror;
  /** Set by destroy/close past the deadline: the send's late outcome is no longer counted here. */
  abandoned: boolean;
}

type State = 'new' | 'running' | 'closing' | 'closed';

export class KafkaPublisher implements Component {
  readonly name: string;
  readonly #producer: RecordProducer;
  readonly #spool: DiskSpool | undefined;
  readonly #metrics: PublisherMetrics | undefined;
  readonly #log: Logger | undefined;
  readonly #maxQueueRecords: number;
  readonly #maxQueueBytes: number;
  readonly #maxBatchRecords: number;
  readonly #maxBatchBytes: number;
  readonly #lingerMs: number;
  readonly #probeInitialMs: number;
  readonly #probeMaxMs: number;
  readonly #closeTimeoutMs: number;

  #state: State = 'new';
  #mode: PublisherMode = 'direct';
  readonly #q = new MemoryQueue();
  #held: CaptureRecord[] | undefined;
  #inflight: InFlight | undefined;
  #mirror: Mirror | undefined;
  /** Present with a spool. */
  readonly #writer: SpoolWriter | undefined;
  #connected = false;
  #backoffMs: number;
  #wake: (() => void) | undefined;
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #fatal: Error | undefined;
  readonly #once = new Once();

  readonly #t = new PublisherTallies();

  constructor(opts: KafkaPublisherOptions) {
    this.name = opts.name ?? 'kafka-publisher';
    this.#producer = opts.producer;
    this.#spool = opts.spool;
    this.#metrics = opts.metrics;
    this.#log = opts.log;
    this.#writer = opts.spool === undefined ? undefined : new SpoolWriter(opts.spool, this.#t, opts.log);
    this.#maxQueueRecords = opts.maxQueueRecords ?? 100_000;
    this.#maxQueueBytes = opts.maxQueueBytes ?? 64 * 1024 ** 2;
    this.#maxBatchRecords = opts.maxBatchRecords ?? 5_000;
    this.#maxBatchBytes = opts.maxBatchBytes ?? 1024 ** 2;
    this.#lingerMs = opts.lingerMs ?? 5;
    this.#probeInitialMs = opts.probeInitialMs ?? 200;
    this.#probeMaxMs = opts.probeMaxMs ?? 5_000;
    this.#closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
    this.#backoffMs = this.#probeInitialMs;
    const positive = { maxQueueRecords: this.#maxQueueRecords, maxQueueBytes: this.#maxQueueBytes, maxBatchRecords: this.#maxBatchRecords, maxBatchBytes: this.#maxBatchBytes, probeInitialMs: this.#probeInitialMs };
    for (const [k, v] of Object.entries(positive)) {
      if (!(Number.isFinite(v) && v > 0)) throw new TollgateError(PublishErrors.badOptions, `${k} must be a positive number, got ${v}`, { [k]: v });
    }
    if (!(this.#lingerMs >= 0) || !(this.#closeTimeoutMs >= 0) || !(this.#probeMaxMs >= this.#probeInitialMs)) {
      throw new TollgateError(PublishErrors.badOptions, 'lingerMs and closeTimeoutMs must be >= 0 and probeMaxMs >= probeInitialMs');
    }
    this.#metrics?.bind(() => this.#metricsSnapshot());
  }

  /** Opens (recovers) the spool and starts the send loop. Kafka being down is not an error: the loop probes. */
  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    if (this.#spool !== undefined) {
      const rec = await this.#spool.open();
      if (this.#spool.records > 0) {
        this.#mode = 'spooling';
        this.#log?.info({ records: rec.recoveredRecords, segments: rec.recoveredSegments, corruptions: rec.corruptions }, 'replaying records spooled by a previous run');
      }
    }
    this.#state = 'running';
    try {
      await this.#producer.connect();
      this.#connected = true;
    } catch (err) {
      this.#log?.warn({ err }, 'kafka unreachable at start; records will queue or spool until it answers');
    }
    this.#loop = this.#run().catch((err: unknown) => {
      this.#fatal = err instanceof Error ? err : new Error(String(err));
      this.#log?.error({ err }, 'publisher loop failed');
    });
  }

  /** Synchronous and non-blocking: the socket loop calls it per record. */
  offer(record: CaptureRecord): OfferResult {
    this.#t.offered++;
    if (this.#state !== 'running') return this.#t.drop(record, 'closed');
    const size = encodedSize(record);
    if (this.#mode === 'direct') {
      const len = this.#q.records;
      if (len < this.#maxQueueRecords && this.#q.bytes + size <= this.#maxQueueBytes) {
        this.#q.push(record, size);
        if (len === 0 || len + 1 >= this.#maxBatchRecords || this.#q.bytes >= this.#maxBatchBytes) this.#wakeLoop();
        return 'queued';
      }
      if (!this.#spoolUsable()) return this.#t.drop(record, 'queue_full');
      this.#log?.warn({ queued: len, bytes: this.#q.bytes }, 'memory queue full; spooling to disk');
      this.#enterSpooling(undefined);
    }
    return this.#offerToSpool(record, size);
  }

  get mode(): PublisherMode {
    return this.#mode;
  }

  stats(): PublisherStats {
    const t = this.#t;
    const infl = this.#inflight;
    const inFlight = infl !== undefined && infl.mirror === undefined && !infl.abandoned ? infl.records.length : 0;
    const inMemory = this.#q.records + (this.#writer?.records ?? 0) + (this.#held?.length ?? 0) + inFlight + this.#mirrorUndecided();
    return {
      offered: t.offered,
      acked: t.acked,
      spooled: t.spooled,
      replayed: t.replayed,
      dropped: { ...t.dropped },
      droppedTotal: t.droppedTotal,
      sendFailures: t.sendFailures,
      inMemory,
      mode: this.#mode,
    };
  }

  health(): ComponentHealth {
    if (this.#state === 'new') return { state: 'down', detail: 'not started' };
    if (this.#state === 'closed') return { state: 'down', detail: 'closed' };
    if (this.#fatal !== undefined) return { state: 'down', detail: `send loop failed: ${this.#fatal.message}` };
    if (this.#mode === 'spooling') {
      const s = this.#spool!;
      const detail = `spooling: ${s.records} records, ${s.sizeBytes} bytes${this.#connected ? '' : '; kafka unreachable'}`;
      return s.failed === undefined ? { state: 'degraded', detail } : { state: 'down', detail: `${detail}; spool failed: ${s.failed.message}` };
    }
    if (this.#held !== undefined) return { state: 'down', detail: 'kafka unreachable and no spool' };
    return { state: 'ok' };
  }

  /** Stops intake, sends the memory queue within `closeTimeoutMs`, spools what is left (synced), disconnects. */
  close(): Promise<void> {
    return this.#once.run(async () => {
      if (this.#state === 'new') {
        this.#state = 'closed';
        return;
      }
      this.#state = 'closing';
      this.#wakeLoop();
      const finished = await Promise.race([this.#loop!.then(() => true), sleep(this.#closeTimeoutMs, false)]);
      if (!finished) {
        this.#log?.warn({ queued: this.#q.records }, 'close deadline passed; spooling what is left');
        this.#spill();
      }
      await this.#shutdown(finished ? 0 : 1_000);
    });
  }

  /** Spools what is in memory if it can (disk only, no waiting for Kafka); counts the rest as dropped. */
  destroy(err?: Error): Promise<void> {
    return this.#once.run(async () => {
      if (err !== undefined) this.#log?.error({ err }, 'publisher destroyed');
      if (this.#state === 'new') {
        this.#state = 'closed';
        return;
      }
      this.#state = 'closing';
      this.#spill();
      await this.#shutdown(0);
    });
  }

  // ---- offer helpers -------------------------------------------------------------------------------------------

  #spoolUsable(): boolean {
    return this.#spool !== undefined && this.#spool.failed === undefined;
  }

  #offerToSpool(record: CaptureRecord, size: number): OfferResult {
    const w = this.#writer!;
    // Twice the queue bound: entering spooling moves a full queue into this buffer, and offers still need room.
    if (w.records >= 2 * this.#maxQueueRecords || w.bytes + size > 2 * this.#maxQueueBytes) return this.#t.drop(record, 'queue_full');
    if (!this.#spoolUsable()) return this.#t.drop(record, 'spool_error');
    if (size > this.#spool!.freeBytes - w.bytes) return this.#t.drop(record, 'spool_full');
    w.push(record, size);
    w.schedule();
    return 'spooled';
  }

  // ---- mode changes -------------------------------------------------------------------------------------------

  /**
   * Everything in memory moves behind the spool, in offer order: the batch in flight (mirrored), then `first`
   * (a batch that just failed), then the queue. The spool is empty whenever we are in direct mode, so the spool's
   * order is the offer order.
   */
  #enterSpooling(first: CaptureRecord[] | undefined): void {
    this.#mode = 'spooling';
    const infl = this.#inflight;
    if (infl !== undefined && infl.mirror === undefined && !infl.abandoned) {
      infl.mirror = this.#startMirror(infl.records);
      this.#mirror = infl.mirror;
    }
    // Already-accepted records: the memory bound was checked when they came in.
    const w = this.#writer!;
    if (first !== undefined) for (const r of first) w.push(r, encodedSize(r));
    this.#q.drainTo((r, size) => w.push(r, size));
    w.schedule();
  }

  #startMirror(records: CaptureRecord[]): Mirror {
    const m: Mirror = { records, written: Promise.resolve(), abandoned: false, settled: false };
    const spool = this.#spool!;
    (m as { written: Promise<void> }).written = spool.append(records).then(
      () => {
        m.writeOk = true;
        this.#settleMirror(m);
      },
      (err: unknown) => {
        m.writeOk = false;
        m.writeFailReason = isTollgateError(err, SpoolErrors.full) ? 'spool_full' : 'spool_error';
        this.#log?.error({ err, records: records.length }, 'could not spool the batch in flight');
        this.#settleMirror(m);
      },
    );
    return m;
  }

  /** Counts a mirrored batch once both its send and its spool write are decided. */
  #settleMirror(m: Mirror): void {
    if (m.settled || m.writeOk === undefined || (m.sendOk === undefined && !m.abandoned)) return;
    m.settled = true;
    if (m.sendOk === true && !m.abandoned) return; // counted as acked by the send path; copies removed by the loop
    if (m.writeOk) this.#t.add(m.records, 'spooled');
    else this.#t.dropAll(m.records, m.writeFailReason ?? 'spool_error');
  }

  #mirrorUndecided(): number {
    const m = this.#mirror;
    return m !== undefined && !m.settled && m.sendOk !== true ? m.records.length : 0;
  }

  /** Close past its deadline, or destroy: whatever is in memory goes to the spool (or is dropped without one). */
  #spill(): void {
    this.#stop.abort();
    this.#wakeLoop();
    const held = this.#held;
    this.#held = undefined;
    if (this.#spoolUsable()) {
      this.#enterSpooling(held);
      if (this.#inflight !== undefined) {
        this.#inflight.abandoned = true;
        const m = this.#inflight.mirror;
        if (m !== undefined && m.sendOk === undefined) {
          m.abandoned = true;
          this.#settleMirror(m);
        }
      }
      return;
    }
    if (held !== undefined) this.#t.dropAll(held, 'shutdown');
    const queued: CaptureRecord[] = [];
    this.#q.drainTo((r) => queued.push(r));
    this.#t.dropAll(queued, 'shutdown');
    if (this.#inflight !== undefined && !this.#inflight.abandoned) {
      this.#inflight.abandoned = true;
      this.#t.dropAll(this.#inflight.records, 'shutdown');
    }
  }

  async #shutdown(loopGraceMs: number): Promise<void> {
    this.#stop.abort();
    this.#wakeLoop();
    await this.#flushSpoolWrites();
    // Disconnecting fails a send still in flight, which lets the loop settle a mirrored batch before the spool closes.
    const disconnected = this.#producer.disconnect().catch((err: unknown) => this.#log?.warn({ err }, 'kafka producer disconnect failed'));
    if (loopGraceMs > 0) await Promise.race([this.#loop, sleep(loopGraceMs, undefined)]);
    else await Promise.race([this.#loop, sleep(0)]);
    // Anything the loop had not decided by now is decided here, so every record is counted once.
    this.#spill();
    await this.#flushSpoolWrites();
    const m = this.#mirror;
    if (m !== undefined) {
      await m.written;
      this.#mirror = undefined;
      if (m.sendOk === true && !m.abandoned && m.writeOk === true) await this.#ackMirror(m);
    }
    this.#state = 'closed';
    await this.#spool?.close().catch((err: unknown) => this.#log?.error({ err }, 'spool close failed'));
    if (loopGraceMs > 0) await disconnected;
    this.#connected = false;
  }

  async #flushSpoolWrites(): Promise<void> {
    await this.#writer?.flush();
  }

  // ---- send loop --------------------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      if (this.#mode === 'spooling') {
        if (!(await this.#replayStep())) return;
        continue;
      }
      if (this.#held !== undefined) {
        const batch = this.#held;
        this.#held = undefined;
        await this.#sendDirect(batch);
        continue;
      }
      const len = this.#q.records;
      if (len === 0) {
        if (this.#state !== 'running') return;
        await this.#waitWork(undefined);
        continue;
      }
      if (this.#state === 'running' && len < this.#maxBatchRecords && this.#q.bytes < this.#maxBatchBytes) {
        const wait = this.#q.firstQueuedAt + this.#lingerMs - performance.now();
        if (wait > 0) {
          await this.#waitWork(wait);
          continue;
        }
      }
      await this.#sendDirect(this.#q.take(this.#maxBatchRecords, this.#maxBatchBytes, this.#lingerMs));
    }
  }

  async #sendDirect(batch: CaptureRecord[]): Promise<void> {
    const infl: InFlight = { records: batch, abandoned: false };
    this.#inflight = infl;
    const t0 = process.hrtime.bigint();
    let failure: unknown;
    try {
      if (!this.#connected) {
        await this.#producer.connect();
        this.#connected = true;
      }
      await this.#producer.send(batch);
    } catch (err) {
      failure = err ?? new Error('send failed');
    }
    this.#inflight = undefined;
    if (infl.abandoned && infl.mirror === undefined) return;
    if (failure === undefined) {
      this.#backoffMs = this.#probeInitialMs;
      if (!infl.abandoned) this.#onAcked(batch, 'memory', t0);
      if (infl.mirror !== undefined) {
        infl.mirror.sendOk = true;
        this.#settleMirror(infl.mirror);
      }
      return;
    }
    this.#onSendFailure(failure, batch.length);
    if (infl.mirror !== undefined) {
      infl.mirror.sendOk = false;
      this.#settleMirror(infl.mirror);
      return;
    }
    if (this.#spoolUsable()) {
      this.#log?.warn({ records: batch.length }, 'kafka send failed; spooling to disk until it recovers');
      this.#enterSpooling(batch);
      return;
    }
    this.#held = batch;
    await this.#backoff();
  }

  /** One replay round; false when the loop should end. */
  async #replayStep(): Promise<boolean> {
    const spool = this.#spool!;
    const m = this.#mirror;
    if (m !== undefined) {
      await m.written;
      if (!m.settled) return !this.#stop.signal.aborted; // send outcome pending only when abandoned mid-shutdown
      this.#mirror = undefined;
      if (m.sendOk === true && !m.abandoned && m.writeOk === true) await this.#ackMirror(m);
    }
    if (this.#stop.signal.aborted) return false;
    if (spool.records === 0 && this.#writer!.records === 0 && !this.#writer!.writing) {
      this.#mode = 'direct';
      this.#log?.info('spool drained; back to direct sends');
      return true;
    }
    if (this.#state !== 'running') {
      await this.#flushSpoolWrites();
      return false;
    }
    if (!this.#connected) {
      try {
        await this.#producer.connect();
        this.#connected = true;
      } catch {
        // The probe failing is the expected state during an outage; the backoff paces the next one.
        await this.#backoff();
        return true;
      }
    }
    if (spool.records === 0) {
      await this.#flushSpoolWrites();
      return true;
    }
    const batch = await spool.readBatch(this.#maxBatchRecords, this.#maxBatchBytes);
    if (batch.length === 0) {
      // Only corruption cut the rest away; the counts were adjusted by the spool.
      await this.#waitWork(this.#lingerMs);
      return true;
    }
    const t0 = process.hrtime.bigint();
    try {
      await this.#producer.send(batch);
    } catch (err) {
      this.#onSendFailure(err, batch.length);
      await this.#backoff();
      return true;
    }
    this.#backoffMs = this.#probeInitialMs;
    await spool.ack(batch.length);
    this.#t.add(batch, 'replayed');
    this.#observe('spool', batch, t0);
    return true;
  }

  async #ackMirror(m: Mirror): Promise<void> {
    try {
      await this.#spool!.ack(m.records.length);
    } catch (err) {
      // The copies stay in the spool and are re-sent: duplicates of one batch, never a loss.
      this.#log?.error({ err, records: m.records.length }, 'could not remove spooled copies of an acknowledged batch');
    }
  }

  #onAcked(batch: readonly CaptureRecord[], source: BatchSource, t0: bigint): void {
    this.#t.add(batch, 'acked');
    this.#observe(source, batch, t0);
  }

  #observe(source: BatchSource, batch: readonly CaptureRecord[], t0: bigint): void {
    if (this.#metrics === undefined || batch.length === 0) return;
    const now = process.hrtime.bigint();
    this.#metrics.observeBatch(source, Number(now - t0) / 1e9, Number(now - batch[0]!.receivedAtNs) / 1e9);
  }

  #onSendFailure(err: unknown, records: number): void {
    this.#t.sendFailures++;
    this.#connected = false;
    // Rare by construction (one per failed batch, then one per probe interval).
    this.#log?.warn({ err, records, backoffMs: this.#backoffMs }, 'kafka send failed');
  }

  async #backoff(): Promise<void> {
    const ms = this.#backoffMs;
    this.#backoffMs = Math.min(this.#probeMaxMs, this.#backoffMs * 2);
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  #waitWork(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms));
      const self = this;
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        if (self.#wake === done) self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
      if (this.#stop.signal.aborted) done();
    });
  }

  #wakeLoop(): void {
    this.#wake?.();
  }

  #metricsSnapshot(): MetricsSnapshot {
    return {
      topics: this.#t.topics,
      dropped: this.#t.dropped,
      sendFailures: this.#t.sendFailures,
      queueRecords: this.#q.records + (this.#writer?.records ?? 0),
      queueBytes: this.#q.bytes + (this.#writer?.bytes ?? 0),
      spoolRecords: this.#spool?.records ?? 0,
      spoolBytes: this.#spool?.sizeBytes ?? 0,
      spoolCorruptions: this.#spool?.stats.corruptions ?? 0,
    };
  }
}
