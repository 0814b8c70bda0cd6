/**
 * The API on its own: `node --import tsx services/api/main.ts`. Serves `/healthz` and `/metrics` on API_PORT, with
 * probes of Kafka and ClickHouse. Under `npm start` it also reports every other process: the supervisor feeds it
 * their health and metrics, so one `/healthz` and one `/metrics` cover the whole platform.
 */
import type { ApiServer } from './server.ts';
import { buildApiResources } from './resources.ts';
import { buildApiServer } from './service.ts';
import { loadConfig, type TollgateConfig } from '../settings.ts';
import { createClickhouseStore } from '../shared/clickhouse/client.ts';
import { DependencyProbe } from '../shared/dependency-probe.ts';
import { runService } from '../shared/entrypoint.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { redactText, redactUrl } from '../shared/redact.ts';
import { mapDetails } from '../shared/lifecycle.ts';
import { ClusterMetricsRegistry, PeerHealth } from '../shared/supervised-ops.ts';
import { resolveEndpoints } from '../endpoints.ts';

let api: ApiServer | undefined;

// The whole settings table: the API serves the guard's blocklist and alerts and the rating routes, so it reads their
// settings (CGRATES_URL, RATING_JSON_CDR_CREDENTIALS, GUARD_*) as well as its own.
await runService<TollgateConfig>({
  name: 'api',
  loadConfig,
  async wire({ config, log, registry, supervisor, supervised }) {
    const { kafkaBrokers, clickhouseUrl } = await resolveEndpoints(config);
    const store = createClickhouseStore({ url: clickhouseUrl, user: config.clickhouseUser, password: config.clickhousePassword, database: config.clickhouseDatabase });
    const kafka = createKafka({ brokers: kafkaBrokers, clientId: `${config.kafkaClientId}-api`, log });
    const kafkaAdmin = kafka.admin();
    // Added first so it is closed last: the clients outlive every component that uses them.
    supervisor.add({
      name: 'clients',
      start: () => kafkaAdmin.connect(),
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
        if (!(await store.ping())) throw new Error(`ClickHouse at ${redactUrl(clickhouseUrl)} did not answer ping`);
      }),
      new DependencyProbe('kafka', async () => {
        await kafkaAdmin.describeCluster();
      }),
    );
    const peers = supervised ? new PeerHealth() : undefined;
    // Blocklist replica, CGRateS client, mod_json_cdr producer: started before the server, stopped after it.
    const resources = buildApiResources(config, { kafka, store, log });
    supervisor.add(...resources.components);
    api = buildApiServer(config, {
      store,
      log,
      registry: supervised ? new ClusterMetricsRegistry(registry) : registry,
      health: () => mapDetails(peers ? peers.combine(supervisor.health()) : supervisor.health(), redactText),
      routes: resources.routes,
    });
    supervisor.add(api);
  },
  describe: ({ config }) => [`API, /healthz, /metrics   http://${config.apiHost}:${api?.port ?? config.apiPort}`],
});
