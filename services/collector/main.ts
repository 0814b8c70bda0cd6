/**
 * The collector on its own (scaled out next to the proxies): HEP listeners + Kafka publisher, with `/healthz` and
 * `/metrics` on METRICS_PORT. `node --import tsx services/collector/main.ts` with KAFKA_BROKERS set. Under
 * `npm start` one or more of these run as children of the supervisor, sharing the HEP ports.
 */
import { commonSettings } from '../shared/config/common.ts';
import { parseSettings, type Env, type Parsed } from '../shared/config/settings.ts';
import { runService } from '../shared/entrypoint.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { ensureTopicsWith, topicCatalogue } from '../shared/kafka/topics.ts';
import { OpsServer } from '../shared/ops-server.ts';
import { resolveEndpoints } from '../endpoints.ts';
import { collectorSettings } from './settings.ts';
import { buildCollectorWithPublisher, type CollectorWiring } from './wiring.ts';

const shape = { ...commonSettings, ...collectorSettings } as const;
type Config = Parsed<typeof shape>;

let wiring: CollectorWiring | undefined;
let ops: OpsServer | undefined;

await runService<Config>({
  name: 'collector',
  loadConfig: (env: Env) => parseSettings(shape, env),
  async wire({ config, log, registry, supervisor, supervised }) {
    const { kafkaBrokers: brokers } = await resolveEndpoints(config, (line) => log.info({ component: 'stack' }, line), 'kafka');
    const clientId = `${config.kafkaClientId}-collector`;
    const kafka = createKafka({ brokers, clientId, log });
    // Under `npm start` the supervisor created the topics and serves health and metrics for every process.
    if (!supervised) {
      await ensureTopicsWith(kafka, topicCatalogue(config.kafkaTopicPrefix, config.kafkaPartitions, config.kafkaRetention));
    }
    wiring = buildCollectorWithPublisher(config, { client: kafka, brokers, clientId }, registry, log);
    supervisor.add(...wiring.components);
    if (!supervised) {
      ops = new OpsServer({ host: config.hepHost, port: config.metricsPort, registry, components: () => supervisor.components });
      supervisor.add(ops);
    }
  },
  describe: () => [...(wiring?.collector.describe() ?? []), ...(ops ? [`/healthz, /metrics on port ${ops.port}`] : [])],
});
