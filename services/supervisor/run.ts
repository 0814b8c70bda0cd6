/**
 * `npm start`: one process per service under one supervisor. The supervisor validates the whole configuration,
 * prepares what every child relies on (endpoints, migrations, topics) once, starts the children group by group
 * (consumers before intake), prints one banner, answers for the children's health and metrics to the API process,
 * restarts a child that dies with backoff, and on SIGINT/SIGTERM stops the groups in order: intake first, drained,
 * then the rest, then (dev entry) the embedded stack it started. A second signal kills without waiting.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { loadConfig, type TollgateConfig } from '../settings.ts';
import type { Endpoints } from '../endpoints.ts';
import { createClickhouseStore } from '../shared/clickhouse/client.ts';
import { migrate } from '../shared/clickhouse/migrations.ts';
import { SCHEMA_DIR } from '../shared/clickhouse/schema.ts';
import { ConfigError, type Env } from '../shared/config/settings.ts';
import { createKafka } from '../shared/kafka/client.ts';
import { ensureTopicsWith, topicCatalogue } from '../shared/kafka/topics.ts';
import { createLogger } from '../shared/logger.ts';
import { Counter, createMetricsRegistry } from '../shared/metrics.ts';
import { redactText } from '../shared/redact.ts';
import type { FromChild } from '../shared/supervised.ts';
import { SupervisedChild } from './child.ts';
import { clusterMetricsFor, peerReport } from './ops-feed.ts';
import { mayRaisePriority, planPriorities, reniceGroup } from './priority.ts';
import { planProcesses, SERVICE_PROCESSES, stopGroups, type ServiceProcessSpec } from './processes.ts';

const READY_TIMEOUT_MS = 120_000;
const HEALTH_POLL_MS = 1_000;

export interface PreparedEndpoints extends Endpoints {
  /** A line for the banner about the embedded stack's fate on Ctrl-C. */
  readonly stackNote?: string;
  /** Process groups of the embedded stack parts this run started (renice them when intake cannot be raised). */
  readonly stackProcessGroups?: readonly number[];
  /** Stops what the entry point started for these endpoints (the dev stack); called last. */
  readonly release?: () => Promise<void>;
}

export interface SupervisorRun {
  readonly env: Env;
  /** Where Kafka and ClickHouse are: configured (production) or brought up (dev entry point). */
  readonly endpoints: (config: TollgateConfig, progress: (line: string) => void) => Promise<PreparedEndpoints>;
  readonly specs?: readonly ServiceProcessSpec[];
}

export async function runSupervisor(run: SupervisorRun): Promise<void> {
  let config: TollgateConfig;
  try {
    config = loadConfig(run.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tollgate: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: 'tollgate' });
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  const registry = createMetricsRegistry({ service: 'supervisor', node: config.nodeName });
  const restartsTotal = new Counter({
    name: 'tollgate_supervisor_restarts_total',
    help: 'Service processes npm start restarted after they died unasked (crash, kill), by service.',
    labelNames: ['service'],
    registers: [registry],
  });

  const children: SupervisedChild[] = [];
  let endpoints: PreparedEndpoints | undefined;
  let preparing: Promise<PreparedEndpoints | undefined> = Promise.resolve(undefined);
  let stopping: Promise<void> | undefined;
  let signals = 0;
  let poll: NodeJS.Timeout | undefined;

  const stopAll = async (exitCode: number): Promise<void> => {
    clearInterval(poll);
    // A stop during preparation waits for it, so a stack part being started is known and stopped too.
    const prepared = await preparing.catch(() => undefined);
    for (const group of stopGroups(children.map((c) => c.slot))) {
      const names = group.map((s) => s.name);
      log.info({ processes: names }, `stopping ${names.join(', ')}`);
      await Promise.all(children.filter((c) => names.includes(c.name)).map((c) => c.stop(config.shutdownTimeout + 5_000)));
    }
    if (prepared?.release) {
      await prepared.release().catch((err: unknown) => log.error({ err: redactText(String(err)) }, 'stopping the embedded stack failed'));
    }
    log.info('stopped');
    // Give pino's stdout a turn to flush before the process ends.
    setImmediate(() => process.exit(exitCode));
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: killing every process without drain');
      for (const c of children) c.kill();
      return;
    }
    log.info({ signal }, 'stopping: intake first, then the rest');
    stopping ??= stopAll(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'supervisor: uncaught exception; stopping everything');
    stopping ??= stopAll(1);
  });

  try {
    const prepared = prepare(run, config, log);
    preparing = prepared;
    endpoints = await prepared;
  } catch (err) {
    log.fatal({ err: err instanceof ConfigError ? err.message : err }, 'tollgate failed to start');
    if (err instanceof ConfigError) process.stderr.write(`tollgate: ${err.message}\n`);
    stopping ??= stopAll(err instanceof ConfigError ? 2 : 1);
    return;
  }
  if (stopping) return;

  const childEnv: Record<string, string> = {
    ...Object.fromEntries(Object.entries(run.env).filter((e): e is [string, string] => e[1] !== undefined)),
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    LOG_FORMAT: pretty ? 'pretty' : 'json',
  };
  // Children accept on the listening sockets the primary shares with them; it stays out of the data path.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const opsChildren = (): SupervisedChild[] => children.filter((c) => c.slot.spec.servesOps === true);
  const onMessage = (from: SupervisedChild, msg: FromChild): void => {
    if (msg.tg === 'cluster-metrics?') {
      void clusterMetricsFor(from, children, registry).then((metrics) => from.send({ tg: 'cluster-metrics', id: msg.id, metrics }));
    }
  };
  const priorities = planPriorities(config.collectorNice, mayRaisePriority());
  log.info({ collectorNice: priorities.collector, otherNice: priorities.background }, priorities.summary);
  if (priorities.stack !== undefined) {
    for (const pgid of endpoints.stackProcessGroups ?? []) {
      const reniced = reniceGroup(pgid, priorities.stack);
      log.info({ processGroup: pgid, processes: reniced, nice: priorities.stack }, 'embedded stack part reniced');
    }
  }
  const slots = planProcesses(run.specs ?? SERVICE_PROCESSES, config, run.env, availableParallelism());
  // Every service's series exists from the start, so a rate or increase over it sees the first restart.
  for (const name of new Set(slots.map((slot) => slot.spec.name))) restartsTotal.inc({ service: name }, 0);
  for (const slot of slots) {
    children.push(new SupervisedChild({
      slot, config, priorities, env: childEnv, log, onMessage,
      onRestart: (c) => restartsTotal.inc({ service: c.slot.spec.name }),
    }));
  }

  let pollId = 0;
  poll = setInterval(() => {
    for (const c of children) c.send({ tg: 'health?', id: ++pollId });
    const report = peerReport(children);
    for (const ops of opsChildren()) ops.send({ tg: 'peers', report });
  }, HEALTH_POLL_MS);
  poll.unref();

  try {
    for (const group of [...stopGroups(slots)].reverse()) {
      const names = new Set(group.map((s) => s.name));
      await Promise.all(children.filter((c) => names.has(c.name)).map((c) => c.start(READY_TIMEOUT_MS)));
      if (stopping) return;
    }
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'a service process failed to start; stopping the others');
    stopping ??= stopAll(1);
    return;
  }

  const lines = [
    ...children.filter((c) => c.slot.spec.servesOps).flatMap((c) => c.describe),
    `Kafka                     ${endpoints.kafkaBrokers.join(',')}${endpoints.embedded ? ' (embedded)' : ''}`,
    `ClickHouse                ${redactText(endpoints.clickhouseUrl)}${endpoints.embedded ? ' (embedded dev ClickHouse)' : ''}`,
    ...[...new Set(children.filter((c) => c.slot.spec.name === 'collector').flatMap((c) => c.describe))],
    `Processes                 ${countsLine(children)}`,
  ];
  log.info({ processes: children.map((c) => ({ name: c.name, pid: c.pid })) }, 'tollgate is running');
  const stopLine = endpoints.stackNote ?? 'Ctrl-C stops everything cleanly.';
  process.stdout.write(`\ntollgate is running:\n${lines.map((l) => `  ${redactText(l)}`).join('\n')}\n${stopLine}\n\n`);
}

function countsLine(children: readonly SupervisedChild[]): string {
  const counts = new Map<string, number>();
  for (const c of children) counts.set(c.slot.spec.name, (counts.get(c.slot.spec.name) ?? 0) + 1);
  return [...counts].map(([n, k]) => `${n} ×${k}`).join(', ');
}

/** Endpoints, then migrations and topics, once for every child. */
async function prepare(run: SupervisorRun, config: TollgateConfig, log: Logger): Promise<PreparedEndpoints> {
  const endpoints = await run.endpoints(config, (line) => log.info({ component: 'stack' }, line));
  try {
    const chOpts = { url: endpoints.clickhouseUrl, user: config.clickhouseUser, password: config.clickhousePassword };
    const admin = createClickhouseStore(chOpts);
    const store = createClickhouseStore({ ...chOpts, database: config.clickhouseDatabase });
    try {
      const report = await migrate({
        admin, store, database: config.clickhouseDatabase, dir: SCHEMA_DIR,
        progress: (line) => log.info({ component: 'migrations' }, line),
      });
      log.info({ applied: report.applied, alreadyApplied: report.alreadyApplied }, 'ClickHouse schema is current');
    } finally {
      await Promise.all([admin.close(), store.close()]);
    }
    const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: `${config.kafkaClientId}-supervisor`, log });
    const created = await ensureTopicsWith(kafka, topicCatalogue(config.kafkaTopicPrefix, config.kafkaPartitions, config.kafkaRetention));
    if (created.length > 0) log.info({ topics: created }, 'created Kafka topics');
  } catch (err) {
    // What was brought up for these endpoints goes down again with the failed start.
    await endpoints.release?.().catch(() => undefined);
    throw err;
  }
  return endpoints;
}
