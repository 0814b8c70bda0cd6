import { defineError } from '../../shared/errors.ts';
import { ProducerErrors } from '../../shared/kafka/errors.ts';

export const SpoolErrors = {
  full: defineError('TG_SPOOL_FULL', 'The disk spool has no room for the records within its byte bound.', true),
  io: defineError('TG_SPOOL_IO', 'Reading or writing a spool segment failed; the spool rolled back the partial write.', true),
  failed: defineError('TG_SPOOL_FAILED', 'A spool write failed and could not be rolled back; the spool refuses further appends.'),
  closed: defineError('TG_SPOOL_CLOSED', 'The spool was used after close().'),
  badOptions: defineError('TG_SPOOL_BAD_OPTIONS', 'Spool options are invalid (fsync policy, sizes).'),
  badAck: defineError('TG_SPOOL_BAD_ACK', 'ack(n) asked to remove more records than the spool holds.'),
  tooLarge: defineError('TG_SPOOL_RECORD_TOO_LARGE', 'A record does not fit the spool encoding limits (topic or header longer than 65535 bytes).'),
} as const;

export const PublishErrors = {
  ...ProducerErrors,
  notStarted: defineError('TG_PUBLISH_NOT_STARTED', 'The publisher was used before start().'),
} as const;
