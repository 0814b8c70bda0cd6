/**
 * Builds the analyzer from validated settings: applies the RETENTION_* TTLs, then returns the consumer component.
 * Used by the analyzer's own entry point and by the all-in-one `npm start`.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import type { Parsed } from '../shared/config/settings.ts';
import { AnalyzerConsumer } from './consumer/consumer.ts';
import { AnalyzerMetrics } from './metrics.ts';
import { splitList, type analyzerSettings } from './settings.ts';
import { applyRetention, retentionRules } from './store/retention.ts';
import { TenantMap } from './tenants.ts';

export type AnalyzerConfig = Parsed<typeof analyzerSettings> & { readonly kafkaTopicPrefix: string };

const US_PER_MS = 1000;

export async function buildAnalyzer(config: AnalyzerConfig, deps: {
  kafka: Kafka; store: SqlStore; registry: Registry; log: Logger;
}): Promise<AnalyzerConsumer> {
  const log = deps.log.child({ component: 'analyzer' });
  const changed = await applyRetention(deps.store, retentionRules(config));
  if (changed.length > 0) log.info({ changed }, 'applied retention settings');
  return new AnalyzerConsumer({
    kafka: deps.kafka,
    store: deps.store,
    log,
    metrics: new AnalyzerMetrics(deps.registry),
    topicPrefix: config.kafkaTopicPrefix,
    groupId: config.analyzerGroupId,
    maxRows: config.analyzerBatchMaxRows,
    maxWaitMs: config.analyzerBatchMaxWait,
    maxBytesPerPartition: config.analyzerBatchMaxBytes,
    sessionTimeoutMs: config.analyzerSessionTimeout,
    snapshotIntervalMs: config.analyzerSnapshotInterval,
    publishEvents: config.analyzerSipEvents,
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
