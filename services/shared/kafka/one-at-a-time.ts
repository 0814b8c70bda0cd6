import type { OutgoingRecord, RecordProducer } from './producer.ts';

/**
 * Queues concurrent `send`s so the adapter sees one at a time, in call order. The adapters are idempotent producers:
 * two sends in flight on one producer id reach the broker with interleaved sequence numbers, which it refuses
 * (OUT_OF_ORDER_SEQUENCE_NUMBER with @platformatic/kafka; every such failure then costs a fresh producer and a retry).
 * A failed send does not block the ones queued behind it; each caller sees its own outcome.
 */
export function oneAtATime(producer: RecordProducer): RecordProducer {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    send(batch: readonly OutgoingRecord[]): Promise<void> {
      const run = tail.then(() => producer.send(batch));
      tail = run.catch(() => undefined);
      return run;
    },
  };
}
