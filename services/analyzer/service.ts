/**
 * Builds the analyzer from validated settings: applies the RETENTION_* TTLs, then returns the consumer component.
 * Used by the analyzer's own entry point (run once or more by `npm start`) and by tests.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import { KafkaRecordProducer } from '../shared/kafka/kafkajs-producer.ts';
import { PlatformaticRecordProducer } from '../shared/kafka/platformatic-producer.ts';
import { oneAtATime } from '../shared/kafka/one-at-a-time.ts';
import type { RecordProducer } from '../shared/kafka/producer.ts';
import type { Parsed } from '../shared/config/settings.ts';
import { AnalyzerConsumer } from './consumer/consumer.ts';
import { AnalyzerMetrics } from './metrics.ts';
import { splitList, type analyzerSettings } from './settings.ts';
import { applyRetention, retentionRules } from './store/retention.ts';
import { TenantMap } from './tenants.ts';

export type AnalyzerConfig = Parsed<typeof analyzerSettings> & { readonly kafkaTopicPrefix: string };

const US_PER_MS = 1000;

/** The process's kafkajs client (consumer, admin, the kafkajs events producer) and what a second client needs. */
export interface AnalyzerDeps {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly store: SqlStore;
  readonly registry: Registry;
  readonly log: Logger;
}

export async function buildAnalyzer(config: AnalyzerConfig, deps: AnalyzerDeps): Promise<AnalyzerConsumer> {
  const log = deps.log.child({ component: 'analyzer' });
  const rules = retentionRules(config);
  const changed = await applyRetention(deps.store, rules);
  if (changed.length > 0) log.info({ changed }, 'applied retention settings');
  return new AnalyzerConsumer({
    kafka: deps.kafka,
    store: deps.store,
    log,
    metrics: new AnalyzerMetrics(deps.registry),
    topicPrefix: config.kafkaTopicPrefix,
    groupId: config.analyzerGroupId,
    maxRows: config.analyzerBatchMaxRows,
    insertFormat: config.analyzerInsertFormat,
    maxWaitMs: config.analyzerBatchMaxWait,
    maxBytesPerPartition: config.analyzerBatchMaxBytes,
    sessionTimeoutMs: config.analyzerSessionTimeout,
    snapshotIntervalMs: config.analyzerSnapshotInterval,
    idleAdvanceMs: config.analyzerIdleAdvance,
    retentionDays: Object.fromEntries(rules.map((r) => [r.table, r.days])),
    events: buildEventsProducer(config, deps, log.child({ component: 'events-producer' })),
    eventsFormat: config.analyzerSipEventsFormat,
    tenants: TenantMap.parse(config.tenantDomains, config.defaultTenant),
    dialogs: {
      reorderWindowUs: config.dialogReorderWindow * US_PER_MS,
      setupTimeoutUs: config.dialogSetupTimeout * US_PER_MS,
      answeredIdleTimeoutUs: config.dialogAnsweredIdleTimeout * US_PER_MS,
      maxCallDurationUs: config.dialogMaxDuration * US_PER_MS,
      linkHeaders: splitList(config.blegHeaders),
    },
    registrations: {
      reorderWindowUs: config.dialogReorderWindow * US_PER_MS,
      transactionTimeoutUs: config.registerTimeout * US_PER_MS,
    },
  });
}

function buildEventsProducer(config: AnalyzerConfig, deps: AnalyzerDeps, log: Logger): RecordProducer | undefined {
  if (!config.analyzerSipEvents) return undefined;
  // Partitions are consumed concurrently, and each publishes its batch's events through this one producer.
  return oneAtATime(config.analyzerEventsKafkaClient === 'kafkajs'
    ? new KafkaRecordProducer({ kafka: deps.kafka, log })
    : new PlatformaticRecordProducer({ brokers: deps.brokers, clientId: deps.clientId, log }));
}
