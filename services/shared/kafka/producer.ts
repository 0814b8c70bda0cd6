/** One record for a `RecordProducer`: already encoded, keyed for partitioning (Kafka's Java murmur2, partition.ts). */
export interface OutgoingRecord {
  /** Full topic name. */
  readonly topic: string;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A service's only view of a Kafka producer. `send` resolves once every record of the batch is acknowledged by all
 * in-sync replicas, in order per key; it rejects (after the adapter's own retries) when that cannot be confirmed, in
 * which case any part of the batch may or may not have been written. One send at a time: callers with concurrent
 * senders wrap the adapter in `oneAtATime` (one-at-a-time.ts).
 */
export interface RecordProducer {
  connect(): Promise<void>;
  send(batch: readonly OutgoingRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}
