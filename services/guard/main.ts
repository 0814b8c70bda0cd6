/**
 * The guard on its own process: `node --import tsx services/guard/main.ts`. Reads `sip.events` / `sip.quarantine`,
 * detects, alerts, blocks and pushes the blocklist to the edge proxies; `/healthz` and `/metrics` on METRICS_PORT.
 * Without KAFKA_BROKERS / CLICKHOUSE_URL it uses the embedded local stack, like `npm start`; it applies pending
 * migrations first (0005 holds its tables).
 */
import { createClickhouseStore, type SqlStore } from '../shared/clickhouse/client.ts';
import { applySchema } from '../shared/clickhouse/schema.ts';
import { commonSettings } from '../shared/config/common.ts';
import { ConfigError, parseSettings, type Env, type Parsed } from '../shared/config/settings.ts';
import { runService } from '../shared/entrypoint.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { ensureTopicsWith, topicCatalogue } from '../shared/kafka/topics.ts';
import { OpsServer } from '../shared/ops-server.ts';
import { isTollgateError } from '../shared/errors.ts';
import { resolveEndpoints } from '../endpoints.ts';
import { guardSettings } from './settings.ts';
import { buildGuard, loadDetectorInputs, type GuardService } from './service.ts';
import { parseReceivers } from './notify/receivers.ts';

const shape = { ...commonSettings, ...guardSettings } as const;
type Config = Parsed<typeof shape>;

/** Settings plus what they point at (rules file, prefix list, receivers, secret form), all checked before any socket opens. */
export function loadGuardConfig(env: Env): Config {
  const c = parseSettings(shape, env);
  const problems: string[] = [];
  try {
    loadDetectorInputs(c);
  } catch (err) {
    problems.push(isTollgateError(err) || err instanceof SyntaxError || (err as NodeJS.ErrnoException).code !== undefined ? (err as Error).message : String(err));
  }
  try {
    parseReceivers(c.alertWebhooks ?? '');
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (c.alertWebhookSecret !== undefined && !/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(c.alertWebhookSecret)) {
    problems.push('ALERT_WEBHOOK_SECRET=<redacted>: expected whsec_ followed by the base64 of at least 24 random bytes');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return c;
}

let ops: OpsServer | undefined;
let guard: GuardService | undefined;

await runService<Config>({
  name: 'guard',
  loadConfig: loadGuardConfig,
  async wire({ config, log, registry, supervisor, supervised }) {
    const { kafkaBrokers: brokers, clickhouseUrl: chUrl } = await resolveEndpoints(config, (line) => log.info({ component: 'stack' }, line));
    const chOpts = { url: chUrl, user: config.clickhouseUser, password: config.clickhousePassword };
    const store: SqlStore = createClickhouseStore({ ...chOpts, database: config.clickhouseDatabase });
    // Under `npm start` the supervisor applied migrations before any child started, and serves health and metrics.
    if (!supervised) {
      await applySchema(chOpts, store, config.clickhouseDatabase);
    }
    const kafka = createKafka({ brokers, clientId: `${config.kafkaClientId}-guard`, log });
    await ensureTopicsWith(kafka, topicCatalogue(config.kafkaTopicPrefix, config.kafkaPartitions, config.kafkaRetention));
    guard = buildGuard(config, { kafka, store, registry, log });
    supervisor.add({
      name: 'clickhouse-store', start: async () => {}, close: () => store.close(), destroy: () => store.close(), health: () => ({ state: 'ok' }),
    }, ...guard.components);
    if (!supervised) {
      ops = new OpsServer({ host: '127.0.0.1', port: config.metricsPort, registry, components: () => supervisor.components });
      supervisor.add(ops);
    }
  },
  describe: ({ config }) => [
    `guard edges               ${guard?.edges.map((e) => e.name).join(', ') || 'none (set KAMAILIO_RPC_URLS / OPENSIPS_MI_URLS)'}`,
    `guard alert receivers     ${parseReceivers(config.alertWebhooks ?? '').map((r) => r.label).join(', ') || 'none (set ALERT_WEBHOOKS)'}`,
    ...(ops ? [`guard /healthz, /metrics  port ${ops.port}`] : []),
  ],
});
