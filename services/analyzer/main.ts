/**
 * The analyzer on its own (scaled out as members of one consumer group): Kafka → ClickHouse with `/healthz` and
 * `/metrics` on METRICS_PORT. `node --import tsx services/analyzer/main.ts` with KAFKA_BROKERS and CLICKHOUSE_URL
 * set; it applies pending migrations first. Under `npm start` one or more run as children of the supervisor.
 */
import { createClickhouseStore, type SqlStore } from '../shared/clickhouse/client.ts';
import { applySchema } from '../shared/clickhouse/schema.ts';
import { commonSettings } from '../shared/config/common.ts';
import { parseSettings, type Env, type Parsed } from '../shared/config/settings.ts';
import { runService } from '../shared/entrypoint.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { ensureTopicsWith, topicCatalogue } from '../shared/kafka/topics.ts';
import { OpsServer } from '../shared/ops-server.ts';
import { resolveEndpoints } from '../endpoints.ts';
import { buildAnalyzer } from './service.ts';
import { analyzerSettings } from './settings.ts';

const shape = { ...commonSettings, ...analyzerSettings } as const;
type Config = Parsed<typeof shape>;

let ops: OpsServer | undefined;

await runService<Config>({
  name: 'analyzer',
  loadConfig: (env: Env) => parseSettings(shape, env),
  async wire({ config, log, registry, supervisor, supervised }) {
    const { kafkaBrokers: brokers, clickhouseUrl: chUrl } = await resolveEndpoints(config, (line) => log.info({ component: 'stack' }, line));
    const chOpts = { url: chUrl, user: config.clickhouseUser, password: config.clickhousePassword };
    const store: SqlStore = createClickhouseStore({ ...chOpts, database: config.clickhouseDatabase });
    const clientId = `${config.kafkaClientId}-analyzer`;
    const kafka = createKafka({ brokers, clientId, log });
    // Under `npm start` the supervisor applied migrations, created topics and serves health and metrics.
    if (!supervised) {
      await applySchema(chOpts, store, config.clickhouseDatabase);
      await ensureTopicsWith(kafka, topicCatalogue(config.kafkaTopicPrefix, config.kafkaPartitions, config.kafkaRetention));
    }
    const analyzer = await buildAnalyzer(config, { kafka, brokers, clientId, store, registry, log });
    // The store is closed last: the analyzer's close() may still be finishing a batch.
    supervisor.add({
      name: 'clickhouse-store',
      start: async () => {},
      close: () => store.close(),
      destroy: () => store.close(),
      health: () => ({ state: 'ok' }),
    }, analyzer);
    if (!supervised) {
      ops = new OpsServer({ host: '127.0.0.1', port: config.metricsPort, registry, components: () => supervisor.components });
      supervisor.add(ops);
    }
  },
  started({ log }) {
    log.info({ metricsPort: ops?.port }, 'analyzer is running');
  },
});
