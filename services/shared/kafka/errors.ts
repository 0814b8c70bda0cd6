import { defineError } from '../errors.ts';

/** Raised by the `RecordProducer` adapters; the codes predate the move here from the capture publisher. */
export const ProducerErrors = {
  sendFailed: defineError('TG_PUBLISH_SEND_FAILED', 'Kafka did not acknowledge a batch after the producer retries.', true),
  connectFailed: defineError('TG_PUBLISH_CONNECT_FAILED', 'The Kafka producer could not connect.', true),
  badOptions: defineError('TG_PUBLISH_BAD_OPTIONS', 'Publisher options are invalid.'),
} as const;
