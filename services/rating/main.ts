/**
 * The rating service on its own: FreeSWITCH event sockets (FREESWITCH_ESL) ⇄ CGRateS (CGRATES_URL), CDRs into
 * ClickHouse `cdrs` and the Kafka topic `<prefix>cdrs`, with `/healthz` and `/metrics` on METRICS_PORT.
 * `node --import tsx services/rating/main.ts`. Without FREESWITCH_ESL there is nothing to rate: it says so and exits 0.
 * Without KAFKA_BROKERS / CLICKHOUSE_URL it uses the embedded local stack, like `npm start`; it applies pending
 * migrations first.
 */
import { createClickhouseStore } from '../shared/clickhouse/client.ts';
import { applySchema } from '../shared/clickhouse/schema.ts';
import { commonSettings } from '../shared/config/common.ts';
import { ConfigError, parseSettings, type Env, type Parsed } from '../shared/config/settings.ts';
import { runService } from '../shared/entrypoint.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { KafkaRecordProducer } from '../shared/kafka/kafkajs-producer.ts';
import { ensureTopicsWith } from '../shared/kafka/topics.ts';
import { OpsServer } from '../shared/ops-server.ts';
import { resolveEndpoints } from '../endpoints.ts';
import { redactUrl } from '../shared/redact.ts';
import { CgratesClient } from './cgrates/client.ts';
import { isReqtype } from './core/call.ts';
import { JSON_CDR_TOPIC_SUFFIX, JsonCdrConsumer } from './json-cdr-feed.ts';
import { RatingService, storedCdrs } from './service.ts';
import { parseEslNodes, parseTenantReqtypes, ratingSettings } from './settings.ts';
import { CdrWriter } from './store/cdr-writer.ts';

const shape = { ...commonSettings, ...ratingSettings } as const;
type Config = Parsed<typeof shape>;

function loadConfig(env: Env): Config {
  const config = parseSettings(shape, env);
  try {
    parseEslNodes(config.freeswitchEsl);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  return config;
}

if (!process.env['FREESWITCH_ESL']?.trim()) {
  process.stdout.write('tollgate rating: FREESWITCH_ESL is not set, so there is no switch to rate; not starting.\n');
  process.exit(0);
}

let ops: OpsServer | undefined;

await runService<Config>({
  name: 'rating',
  loadConfig,
  async wire({ config, log, registry, supervisor, supervised }) {
    const nodes = parseEslNodes(config.freeswitchEsl);
    const { kafkaBrokers: brokers, clickhouseUrl } = await resolveEndpoints(config, (line) => log.info({ component: 'stack' }, line));
    const chOpts = { url: clickhouseUrl, user: config.clickhouseUser, password: config.clickhousePassword };
    const store = createClickhouseStore({ ...chOpts, database: config.clickhouseDatabase });
    // Under `npm start` the supervisor applied migrations before any child started, and serves health and metrics.
    if (!supervised) {
      await applySchema(chOpts, store, config.clickhouseDatabase);
    }
    const topic = `${config.kafkaTopicPrefix}${config.ratingCdrTopic}`;
    const clientId = `${config.kafkaClientId}-rating`;
    const jsonCdrTopic = `${config.kafkaTopicPrefix}${JSON_CDR_TOPIC_SUFFIX}`;
    const kafka = createKafka({ brokers, clientId, log });
    await ensureTopicsWith(kafka, [
      { name: topic, partitions: config.kafkaPartitions, retentionMs: config.kafkaRetention, doc: 'CDR revisions keyed by Unique-ID' },
      { name: jsonCdrTopic, partitions: config.kafkaPartitions, retentionMs: config.kafkaRetention, doc: 'mod_json_cdr posts keyed by channel uuid' },
    ]);
    const producer = new KafkaRecordProducer({ kafka, log });
    const writer = new CdrWriter({ store, producer, topic, spoolDir: config.ratingSpoolDir, log: log.child({ component: 'cdr-writer' }) });
    const engine = new CgratesClient({
      url: config.cgratesUrl, timeoutMs: config.cgratesTimeout, breakerFailures: config.cgratesBreakerFailures,
      breakerCooldownMs: config.cgratesBreakerCooldown,
      onBreaker: (state) => log.warn({ breaker: state }, `CGRateS circuit breaker ${state}`),
    });
    const rating = new RatingService({
      nodes, password: config.freeswitchEslPassword, engine, cdrs: writer,
      stored: storedCdrs((sql, params) => store.query(sql, params)),
      defaults: {
        tenant: config.cgratesTenant,
        reqtype: isReqtype(config.ratingDefaultReqtype) ? config.ratingDefaultReqtype : '*rated',
        tenantReqtypes: parseTenantReqtypes(config.ratingTenantReqtypes),
      },
      policy: { prepaidFailOpen: config.ratingPrepaidFailOpen, failOpenMaxMs: config.ratingFailOpenMaxDuration, refuseCause: config.ratingRefuseCause },
      debitIntervalMs: config.ratingDebitInterval, retryIntervalMs: config.ratingRetryInterval, maxAttempts: config.ratingMaxAttempts,
      jsonCdrWaitMs: config.ratingJsonCdrWait,
      esl: { commandTimeoutMs: config.freeswitchEslCommandTimeout, idleTimeoutMs: config.freeswitchEslIdleTimeout, backoffMaxMs: config.freeswitchEslBackoffMax },
      registry, log: log.child({ component: 'rating' }),
    });
    const jsonCdrs = new JsonCdrConsumer({ kafka, groupId: `${clientId}-json-cdr`, topic: jsonCdrTopic, ingest: (doc) => rating.ingestJsonCdr(doc), log: log.child({ component: 'json-cdr' }) });
    if (!supervised) ops = new OpsServer({ host: config.ratingMetricsHost, port: config.metricsPort, registry, components: () => supervisor.components });
    // Order matters for stop: the service stops taking events before the writer drains and the store closes.
    supervisor.add({
      name: 'cgrates-client', start: async () => {}, close: async () => engine.close(), destroy: async () => engine.close(),
      health: () => ({ state: engine.breakerState === 'closed' ? 'ok' : 'degraded', detail: `breaker ${engine.breakerState}` }),
    }, {
      name: 'clickhouse-store', start: async () => {}, close: () => store.close(), destroy: () => store.close(), health: () => ({ state: 'ok' }),
    }, {
      name: 'kafka-producer', start: async () => {}, close: () => producer.disconnect(), destroy: () => producer.disconnect(), health: () => ({ state: 'ok' }),
    }, writer, rating, jsonCdrs, ...(ops ? [ops] : []));
  },
  describe: ({ config }) => [
    `rating FreeSWITCH ESL     ${parseEslNodes(config.freeswitchEsl).map((n) => `${n.name} (${n.host}:${n.port})`).join(', ')}`,
    `rating CGRateS            ${redactUrl(config.cgratesUrl)}`,
    ...(ops ? [`rating /healthz, /metrics port ${ops.port}`] : []),
  ],
});
