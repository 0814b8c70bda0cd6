import type { CaptureRecord } from './record.ts';

/**
 * The publisher's only view of Kafka. `send` resolves once every record of the batch is acknowledged by all in-sync
 * replicas, in order per key; it rejects (after the adapter's own retries) when that cannot be confirmed, in which
 * case any part of the batch may or may not have been written.
 */
export interface RecordProducer {
  connect(): Promise<void>;
  send(batch: readonly CaptureRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}
