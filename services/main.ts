/**
 * `npm start`: every tollgate service in one supervised process. With no KAFKA_BROKERS / CLICKHOUSE_URL it first
 * brings up the embedded local stack (real Kafka, dev ClickHouse), applies migrations and creates topics.
 */
import { fileURLToPath } from 'node:url';
import { ApiServer } from './api/server.ts';
import { loadConfig, type TollgateConfig } from './settings.ts';
import { createClickhouseStore } from './shared/clickhouse/client.ts';
import { migrate } from './shared/clickhouse/migrations.ts';
import { DependencyProbe } from './shared/dependency-probe.ts';
import { runService } from './shared/entrypoint.ts';
import { createKafka } from './shared/kafka/client.ts';
import { ensureTopics, topicCatalogue } from './shared/kafka/topics.ts';
import { buildCollectorWithPublisher, type CollectorWiring } from './collector/wiring.ts';
import { buildAnalyzer } from './analyzer/service.ts';
import { resolveEndpoints, type Endpoints } from './endpoints.ts';

const SQL_DIR = fileURLToPath(new URL('../sql/', import.meta.url));

let endpoints: Endpoints | undefined;
let api: ApiServer | undefined;
let capture: CollectorWiring | undefined;

await runService<TollgateConfig>({
  name: 'tollgate',
  loadConfig,
  async wire(ctx) {
    const { config, log, registry, supervisor } = ctx;
    endpoints = await resolveEndpoints(config, (line) => log.info({ component: 'stack' }, line));

    const chOpts = { url: endpoints.clickhouseUrl, user: config.clickhouseUser, password: config.clickhousePassword };
    const admin = createClickhouseStore(chOpts);
    const store = createClickhouseStore({ ...chOpts, database: config.clickhouseDatabase });
    const report = await migrate({
      admin, store, database: config.clickhouseDatabase, dir: SQL_DIR,
      progress: (line) => log.info({ component: 'migrations' }, line),
    });
    await admin.close();
    log.info({ applied: report.applied, alreadyApplied: report.alreadyApplied }, 'ClickHouse schema is current');

    const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: config.kafkaClientId, log });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const created = await ensureTopics(kafkaAdmin, topicCatalogue(config.kafkaTopicPrefix, config.kafkaPartitions, config.kafkaRetention));
    if (created.length > 0) log.info({ topics: created }, 'created Kafka topics');

    // Added first so it is closed last: the clients outlive every component that uses them.
    supervisor.add({
      name: 'clients',
      start: async () => {},
      close: async () => {
        await kafkaAdmin.disconnect();
        await store.close();
      },
      destroy: async () => {
        await kafkaAdmin.disconnect();
        await store.close();
      },
      health: () => ({ state: 'ok' }),
    });
    supervisor.add(
      new DependencyProbe('clickhouse', async () => {
        if (!(await store.ping())) throw new Error(`ClickHouse at ${endpoints?.clickhouseUrl} did not answer ping`);
      }),
      new DependencyProbe('kafka', async () => {
        await kafkaAdmin.describeCluster();
      }),
    );
    capture = buildCollectorWithPublisher(config, { client: kafka, brokers: endpoints.kafkaBrokers, clientId: config.kafkaClientId }, registry, log);
    supervisor.add(...capture.components);
    supervisor.add(await buildAnalyzer(config, { kafka, brokers: endpoints.kafkaBrokers, clientId: config.kafkaClientId, store, registry, log }));
    api = new ApiServer({ host: config.apiHost, port: config.apiPort, log, registry, health: () => supervisor.health() });
    supervisor.add(api);
  },
  started({ config, log }) {
    const lines = [
      `  API, /healthz, /metrics   http://${config.apiHost}:${api?.port ?? config.apiPort}`,
      `  Kafka                     ${endpoints?.kafkaBrokers.join(',')}${endpoints?.embedded ? ' (embedded)' : ''}`,
      `  ClickHouse                ${endpoints?.clickhouseUrl}${endpoints?.embedded ? ' (embedded dev ClickHouse)' : ''}`,
      ...(capture?.collector.describe() ?? []).map((l) => `  ${l}`),
    ];
    log.info('tollgate is running');
    process.stdout.write(`\ntollgate is running:\n${lines.join('\n')}\nCtrl-C stops everything cleanly.\n\n`);
  },
});
