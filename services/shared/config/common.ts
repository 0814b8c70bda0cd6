/** Settings every tollgate service shares: logging, Kafka, ClickHouse, the ops endpoint. */
import { s } from './settings.ts';

export const commonSettings = {
  logLevel: s.enumOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info',
    'Minimum pino log level.'),
  logFormat: s.enumOf('LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto',
    'Log output: JSON lines, human-readable, or `auto` (pretty on a terminal, JSON otherwise).'),
  nodeName: s.string('TOLLGATE_NODE', 'tollgate-1', 'Name of this instance in logs, metrics and stored rows.',
    /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1-64)'),
  kafkaBrokers: s.hostPorts('KAFKA_BROKERS',
    'Kafka bootstrap brokers. Unset: `npm start` runs the embedded local Kafka on 127.0.0.1:9092; a service run on its own (or `services/main.ts`) refuses to start.'),
  kafkaClientId: s.string('KAFKA_CLIENT_ID', 'tollgate', 'Kafka client id prefix.'),
  kafkaTopicPrefix: s.string('KAFKA_TOPIC_PREFIX', 'tollgate.', 'Prefix of every topic tollgate creates and uses.',
    /^[A-Za-z0-9._-]{0,100}$/, 'letters, digits, ".", "_" or "-" (up to 100)'),
  kafkaPartitions: s.int('KAFKA_PARTITIONS', 6, 1, 1024,
    'Partitions of each topic tollgate creates (existing topics are left alone). More partitions, more consumers.'),
  kafkaRetention: s.duration('KAFKA_RETENTION', 7 * 86_400_000, 'Retention of the topics tollgate creates.', '7d'),
  clickhouseUrl: s.url('CLICKHOUSE_URL',
    'ClickHouse HTTP interface (credentials in it are masked wherever it is shown). Unset: `npm start` runs the embedded dev ClickHouse on http://127.0.0.1:8123; a service run on its own refuses to start.'),
  clickhouseUser: s.string('CLICKHOUSE_USER', 'default', 'ClickHouse user.'),
  clickhousePassword: s.secret('CLICKHOUSE_PASSWORD', 'ClickHouse password (empty when unset).'),
  clickhouseDatabase: s.string('CLICKHOUSE_DATABASE', 'tollgate', 'ClickHouse database holding all tollgate tables.',
    /^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'an identifier: a letter or "_", then letters, digits or "_" (up to 64)'),
  metricsPort: s.port('METRICS_PORT', 9464,
    'Port of `/healthz` and `/metrics` for a service run on its own (under `npm start` the API port serves them for every process).'),
  shutdownTimeout: s.duration('SHUTDOWN_TIMEOUT', 15_000,
    'How long a graceful stop may drain (flush, commit) before components are destroyed.', '15s'),
} as const;
