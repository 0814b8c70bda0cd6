/** The port the collector writes to; the Kafka publisher implements it. Synchronous so the hot path never awaits. */
import type { CaptureRecord } from './publish/record.ts';

export type OfferResult = 'queued' | 'spooled' | 'dropped';

export interface RecordSink {
  offer(record: CaptureRecord): OfferResult;
}
