import type { OutgoingRecord } from '../../shared/kafka/producer.ts';

/** What the collector hands to the publisher once a HEP packet has been accepted. */
export interface CaptureRecord extends OutgoingRecord {
  /** Full topic name. */
  readonly topic: string;
  /** Call-ID / correlation id bytes: one dialog stays on one partition, in order. */
  readonly key: Buffer;
  /** Lossless payload (the raw HEP bytes inside our envelope); opaque to the publisher. */
  readonly value: Buffer;
  /** Small: src, dst, capture id, node, ts, type. */
  readonly headers: Readonly<Record<string, string>>;
  /** `process.hrtime.bigint()` at receive, for receive→ack latency. */
  readonly receivedAtNs: bigint;
}
