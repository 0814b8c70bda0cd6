import { defineError } from '../../../services/shared/errors.ts';

export { TollgateError } from '../../../services/shared/errors.ts';

export const kafkaErrors = {
  resolve: defineError('TG_STACK_KAFKA_RESOLVE', 'Maven could not resolve the Kafka broker jars for the local stack', true),
  format: defineError('TG_STACK_KAFKA_FORMAT', 'The KRaft storage tool could not format the local broker log dir'),
  portTaken: defineError('TG_STACK_KAFKA_PORT_TAKEN', 'A port the local broker needs is held by a process that is not Kafka'),
  start: defineError('TG_STACK_KAFKA_START', 'The local Kafka broker exited or did not become ready in time', true),
  stop: defineError('TG_STACK_KAFKA_STOP', 'The local Kafka broker process group survived SIGKILL'),
  lock: defineError('TG_STACK_KAFKA_LOCK', 'Another stack command held the run-dir lock for too long', true),
} as const;
