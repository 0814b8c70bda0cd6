/**
 * The API on its own: `node --import tsx services/api/main.ts`. Serves `/healthz` and `/metrics` on API_PORT, with
 * probes of Kafka and ClickHouse. Under `npm start` it also reports every other process: the supervisor feeds it
 * their health and metrics, so one `/healthz` and one `/metrics` cover the whole platform.
 */
import { ApiServer } from './server.ts';
import { apiSettings } from './settings.ts';
import { createClickhouseStore } from '../shared/clickhouse/client.ts';
import { commonSettings } from '../shared/config/common.ts';
import { parseSettings, type Env, type Parsed } from '../shared/config/settings.ts';
import { DependencyProbe } from '../shared/dependency-probe.ts';
import { runService } from '../shared/entrypoint.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { redactText, redactUrl } from '../shared/redact.ts';
import { mapDetails } from '../shared/lifecycle.ts';
import { ClusterMetricsRegistry, PeerHealth } from '../shared/supervised-ops.ts';
import { resolveEndpoints } from '../endpoints.ts';

const shape = { ...commonSettings, ...apiSettings } as const;
type Config = Parsed<typeof shape>;

let api: ApiServer | undefined;

await runService<Config>({
  name: 'api',
  loadConfig: (env: Env) => parseSettings(shape, env),
  async wire({ config, log, registry, supervisor, supervised }) {
    const { kafkaBrokers, clickhouseUrl } = await resolveEndpoints(config);
    const store = createClickhouseStore({ url: clickhouseUrl, user: config.clickhouseUser, password: config.clickhousePassword, database: config.clickhouseDatabase });
    const kafkaAdmin = createKafka({ brokers: kafkaBrokers, clientId: `${config.kafkaClientId}-api`, log }).admin();
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
    // The API engineer's `buildApiServer` factory (services/api/service.ts) replaces `new ApiServer` here, taking the
    // same registry and health function (and the store for the /v1 routes).
    api = new ApiServer({
      host: config.apiHost,
      port: config.apiPort,
      log,
      registry: supervised ? new ClusterMetricsRegistry(registry) : registry,
      health: () => mapDetails(peers ? peers.combine(supervisor.health()) : supervisor.health(), redactText),
    });
    supervisor.add(api);
  },
  describe: ({ config }) => [`API, /healthz, /metrics   http://${config.apiHost}:${api?.port ?? config.apiPort}`],
});
