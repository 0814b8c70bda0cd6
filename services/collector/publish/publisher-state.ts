/**
 * What the publisher's pieces share: the queue, the spool and its write buffer, the batch in flight, the mode, the
 * Kafka connection with its probe backoff, and the wake-up of the send loop. The pieces (`spooling.ts`,
 * `send-loop.ts`, `spool-replay.ts`, `publisher.ts`) act on one instance; nothing outside this folder sees it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RecordProducer } from '../../shared/kafka/producer.ts';
import { MemoryQueue } from './memory-queue.ts';
import type { BatchSource, DropReason, PublisherMetrics } from './metrics.ts';
import type { KafkaPublisherOptions, PublisherLimits, PublisherMode } from './publisher-options.ts';
import type { CaptureRecord } from './record.ts';
import type { DiskSpool } from './spool.ts';
import { SpoolWriter } from './spool-writer.ts';
import { PublisherTallies } from './tallies.ts';

/** A batch in flight that is also being written to the spool (the queue overflowed while it was sent). */
export interface Mirror {
  readonly records: CaptureRecord[];
  written: Promise<void>;
  writeOk?: boolean;
  writeFailReason?: DropReason;
  sendOk?: boolean;
  abandoned: boolean;
  settled: boolean;
}

export interface InFlight {
  readonly records: CaptureRecord[];
  mirror?: Mirror;
  /** Set by destroy/close past the deadline: the send's late outcome is no longer counted here. */
  abandoned: boolean;
}

export type LifecycleState = 'new' | 'running' | 'closing' | 'closed';

export class PublisherState {
  readonly producer: RecordProducer;
  readonly spool: DiskSpool | undefined;
  readonly metrics: PublisherMetrics | undefined;
  readonly log: Logger | undefined;
  readonly limits: PublisherLimits;
  readonly t = new PublisherTallies();
  readonly q = new MemoryQueue();
  /** Present with a spool. */
  readonly writer: SpoolWriter | undefined;
  readonly stop = new AbortController();

  state: LifecycleState = 'new';
  mode: PublisherMode = 'direct';
  /** A batch that failed without a spool to take it: re-sent after the backoff. */
  held: CaptureRecord[] | undefined;
  inflight: InFlight | undefined;
  mirror: Mirror | undefined;
  connected = false;
  backoffMs: number;
  wake: (() => void) | undefined;
  loop: Promise<void> | undefined;
  fatal: Error | undefined;

  constructor(opts: KafkaPublisherOptions, limits: PublisherLimits) {
    this.producer = opts.producer;
    this.spool = opts.spool;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.limits = limits;
    this.writer = opts.spool === undefined ? undefined : new SpoolWriter(opts.spool, this.t, opts.log);
    this.backoffMs = limits.probeInitialMs;
  }

  spoolUsable(): boolean {
    return this.spool !== undefined && this.spool.failed === undefined;
  }

  async flushSpoolWrites(): Promise<void> {
    await this.writer?.flush();
  }

  onAcked(batch: readonly CaptureRecord[], source: BatchSource, t0: bigint): void {
    this.t.add(batch, 'acked');
    this.observe(source, batch, t0);
  }

  observe(source: BatchSource, batch: readonly CaptureRecord[], t0: bigint): void {
    if (this.metrics === undefined || batch.length === 0) return;
    const now = process.hrtime.bigint();
    this.metrics.observeBatch(source, Number(now - t0) / 1e9, Number(now - batch[0]!.receivedAtNs) / 1e9);
  }

  onSendFailure(err: unknown, records: number): void {
    this.t.sendFailures++;
    this.connected = false;
    // Rare by construction (one per failed batch, then one per probe interval).
    this.log?.warn({ err, records, backoffMs: this.backoffMs }, 'kafka send failed');
  }

  async backoff(): Promise<void> {
    const ms = this.backoffMs;
    this.backoffMs = Math.min(this.limits.probeMaxMs, this.backoffMs * 2);
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }

  waitWork(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, Math.max(0, ms));
      this.wake = done;
      if (this.stop.signal.aborted) done();
    });
  }

  wakeLoop(): void {
    this.wake?.();
  }
}
