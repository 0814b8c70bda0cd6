/** The publisher's public shapes and its limits, defaulted and checked once at construction. */
import type { Logger } from 'pino';
import { TollgateError } from '../../shared/errors.ts';
import type { RecordProducer } from '../../shared/kafka/producer.ts';
import { PublishErrors } from './errors.ts';
import type { DropReason, PublisherMetrics } from './metrics.ts';
import type { DiskSpool } from './spool.ts';

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

export interface PublisherLimits {
  readonly maxQueueRecords: number;
  readonly maxQueueBytes: number;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly lingerMs: number;
  readonly probeInitialMs: number;
  readonly probeMaxMs: number;
  readonly closeTimeoutMs: number;
}

export function publisherLimits(opts: KafkaPublisherOptions): PublisherLimits {
  const limits: PublisherLimits = {
    maxQueueRecords: opts.maxQueueRecords ?? 100_000,
    maxQueueBytes: opts.maxQueueBytes ?? 64 * 1024 ** 2,
    maxBatchRecords: opts.maxBatchRecords ?? 5_000,
    maxBatchBytes: opts.maxBatchBytes ?? 1024 ** 2,
    lingerMs: opts.lingerMs ?? 5,
    probeInitialMs: opts.probeInitialMs ?? 200,
    probeMaxMs: opts.probeMaxMs ?? 5_000,
    closeTimeoutMs: opts.closeTimeoutMs ?? 10_000,
  };
  const { maxQueueRecords, maxQueueBytes, maxBatchRecords, maxBatchBytes, probeInitialMs } = limits;
  for (const [k, v] of Object.entries({ maxQueueRecords, maxQueueBytes, maxBatchRecords, maxBatchBytes, probeInitialMs })) {
    if (!(Number.isFinite(v) && v > 0)) throw new TollgateError(PublishErrors.badOptions, `${k} must be a positive number, got ${v}`, { [k]: v });
  }
  if (!(limits.lingerMs >= 0) || !(limits.closeTimeoutMs >= 0) || !(limits.probeMaxMs >= limits.probeInitialMs)) {
    throw new TollgateError(PublishErrors.badOptions, 'lingerMs and closeTimeoutMs must be >= 0 and probeMaxMs >= probeInitialMs');
  }
  return limits;
}
