/**
 * The Kafka adapter factory. kafkajs logs through our pino logger (one child per client) instead of its own
 * console JSON, so every log line of a process has one shape.
 */
import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: Logger;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

function pinoLogCreator(log: Logger): logCreator {
  return () => (entry: LogEntry) => {
    const { message, ...extra } = entry.log;
    const fields = { kafka: entry.namespace, ...extra };
    switch (entry.level) {
      case logLevel.ERROR:
      case logLevel.NOTHING:
        log.error(fields, message);
        break;
      case logLevel.WARN:
        log.warn(fields, message);
        break;
      case logLevel.INFO:
        log.info(fields, message);
        break;
      default:
        log.debug(fields, message);
    }
  };
}

export function createKafka(opts: KafkaOptions): Kafka {
  return new Kafka({
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(opts.log.child({ component: 'kafkajs' })),
    retry: { initialRetryTime: 200, retries: 8 },
  });
}
