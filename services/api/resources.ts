/**
 * The API's resources beyond the call routes, built from the validated config and the process's clients: the
 * guard's blocklist (the API's own replica of the compacted topic) and alerts, the rating routes (CDRs from
 * ClickHouse, accounts and cost from CGRateS) and the mod_json_cdr ingest (published to the Kafka topic the rating
 * service consumes). The caller supervises `components` and passes `routes` to `buildApiServer`.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import type { commonSettings } from '../shared/config/common.ts';
import type { Parsed } from '../shared/config/settings.ts';
import type { Component, ComponentHealth } from '../shared/lifecycle.ts';
import { KafkaRecordProducer } from '../shared/kafka/kafkajs-producer.ts';
import { ensureTopicsWith } from '../shared/kafka/topics.ts';
import { blocklistReplica } from '../guard/replica.ts';
import type { GuardConfig } from '../guard/service.ts';
import { CgratesClient } from '../rating/cgrates/client.ts';
import { JSON_CDR_TOPIC_SUFFIX, kafkaJsonCdrIngest } from '../rating/json-cdr-feed.ts';
import type { ratingSettings } from '../rating/settings.ts';
import { ApiProblem } from './contract.ts';
import type { KeyRing } from './keys.ts';
import { alertRoutes } from './routes/alerts.ts';
import { blocklistRoutes } from './routes/blocklist.ts';
import { jsonCdrRoutes, ratingRoutes, type AccountPort } from './routes/rating.ts';
import type { ApiRoutes } from './server.ts';
import { dataRouteOptions, type ApiConfig } from './service.ts';

type RatingPart = Pick<Parsed<typeof ratingSettings>, 'cgratesTenant' | 'cgratesTimeout' | 'cgratesBreakerFailures' | 'cgratesBreakerCooldown' | 'ratingJsonCdrCredentials'>;
type CommonPart = Pick<Parsed<typeof commonSettings>, 'kafkaClientId' | 'kafkaTopicPrefix' | 'kafkaPartitions' | 'kafkaRetention' | 'nodeName'>;

/** What the resources read from `TollgateConfig` (which satisfies it). `cgratesUrl` undefined or empty: no CGRateS. */
export type ApiResourcesConfig = ApiConfig & GuardConfig & RatingPart & CommonPart & { readonly cgratesUrl: string | undefined };

export interface ApiResourcesDeps {
  readonly kafka: Kafka;
  readonly store: SqlStore;
  readonly log: Logger;
}

export interface ApiResources {
  readonly routes: (keys: KeyRing) => ApiRoutes[];
  /** Start before the API server, stop after it (the supervisor's order). */
  readonly components: Component[];
}

/** Accounts and cost without CGRateS: a 503 naming the dependency and the setting, never a crash. */
const noCgrates: AccountPort = {
  account: () => Promise.reject(cgratesNotConfigured()),
  cost: () => Promise.reject(cgratesNotConfigured()),
};

function cgratesNotConfigured(): ApiProblem {
  return new ApiProblem(503, 'dependency-unavailable', 'A dependency is unavailable',
    'CGRateS is not configured for the API: set CGRATES_URL (http(s)://host:2080/jsonrpc or tcp://host:2012)', undefined, { dependency: 'cgrates' });
}

function component(name: string, start: () => Promise<void>, stop: () => Promise<void>, health: () => ComponentHealth): Component {
  return { name, start, close: stop, destroy: stop, health };
}

export function buildApiResources(config: ApiResourcesConfig, deps: ApiResourcesDeps): ApiResources {
  const replica = blocklistReplica(config, { kafka: deps.kafka, store: deps.store, log: deps.log });
  const components: Component[] = [...replica.components];

  let cgrates: AccountPort = noCgrates;
  if (config.cgratesUrl !== undefined && config.cgratesUrl !== '') {
    const engine = new CgratesClient({
      url: config.cgratesUrl, timeoutMs: config.cgratesTimeout, breakerFailures: config.cgratesBreakerFailures,
      breakerCooldownMs: config.cgratesBreakerCooldown,
      onBreaker: (state) => deps.log.warn({ breaker: state }, `CGRateS circuit breaker ${state}`),
    });
    cgrates = engine;
    components.push(component('api-cgrates-client', async () => {}, async () => engine.close(),
      () => ({ state: engine.breakerState === 'closed' ? 'ok' : 'degraded', detail: `breaker ${engine.breakerState}` })));
  }

  // mod_json_cdr posts: only with credentials is there anything to publish, so only then a producer.
  let ingest: (doc: unknown) => Promise<void> = () => Promise.reject(new Error('unreachable: the route refuses posts without credentials'));
  if (config.ratingJsonCdrCredentials !== undefined) {
    const topic = `${config.kafkaTopicPrefix}${JSON_CDR_TOPIC_SUFFIX}`;
    const producer = new KafkaRecordProducer({ kafka: deps.kafka, log: deps.log.child({ component: 'json-cdr-producer' }) });
    const publish = kafkaJsonCdrIngest(producer, topic);
    let state: ComponentHealth = { state: 'degraded', detail: 'not started' };
    ingest = async (doc) => {
      try {
        await publish(doc);
      } catch (err) {
        // Not a 200: mod_json_cdr keeps the CDR and retries (or spools it to disk).
        deps.log.warn({ err: (err as Error).message, topic }, 'JSON CDR not published');
        throw new ApiProblem(503, 'dependency-unavailable', 'A dependency is unavailable', `Kafka did not take the CDR (topic ${topic}); retry`, undefined, { dependency: 'kafka' });
      }
    };
    components.push(component('api-json-cdr-producer', async () => {
      // The rating service creates the topic too; whichever starts first must not find it missing.
      await ensureTopicsWith(deps.kafka, [{ name: topic, partitions: config.kafkaPartitions, retentionMs: config.kafkaRetention, doc: 'mod_json_cdr posts keyed by channel uuid' }]);
      await producer.connect();
      state = { state: 'ok', detail: `publishing to ${topic}` };
    }, async () => {
      await producer.disconnect();
      state = { state: 'down', detail: 'closed' };
    }, () => state));
  }

  const data = dataRouteOptions(config, deps.store);
  return {
    components,
    routes: (keys) => [
      { plugin: blocklistRoutes, options: { blocklist: replica.blocklist, verifyApibanKey: (k: string) => keys.lookup(k) } },
      { plugin: alertRoutes, options: { store: deps.store } },
      { plugin: ratingRoutes({ ...data, cgrates, defaultTenant: config.cgratesTenant }) },
      { plugin: jsonCdrRoutes({ credentials: config.ratingJsonCdrCredentials, ingest }) },
    ],
  };
}
