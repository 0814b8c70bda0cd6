/**
 * The one place that turns a process into a running service: read and validate the environment (refusing to open
 * any socket when it is wrong), set up logging and metrics, start the supervisor, and stop gracefully on
 * SIGTERM/SIGINT. A second signal aborts without waiting.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError, type Env } from './config/settings.ts';
import { createLogger } from './logger.ts';
import { createMetricsRegistry } from './metrics.ts';
import { answerSupervisor, sendToSupervisor, supervisedIdentity, type SupervisedIdentity } from './supervised.ts';
import { Supervisor } from './supervisor.ts';

export interface RunContext<C> {
  readonly config: C;
  readonly log: Logger;
  readonly registry: Registry;
  readonly supervisor: Supervisor;
  /** Set when `npm start` runs this process: it then opens no ops port and prints no banner of its own. */
  readonly supervised: SupervisedIdentity | undefined;
}

export interface ServiceDefinition<C extends { logLevel: string; logFormat: 'auto' | 'json' | 'pretty'; nodeName: string; shutdownTimeout: number }> {
  readonly name: string;
  readonly loadConfig: (env: Env) => C;
  /** Wires components into the supervisor; may do async preparation (local stack, migrations) but opens no listener. */
  readonly wire: (ctx: RunContext<C>) => Promise<void>;
  /** Lines saying where things listen, for the banner (the supervisor's, when supervised). */
  readonly describe?: (ctx: RunContext<C>) => readonly string[];
  /** Called once everything is started when run on its own: print where things listen. */
  readonly started?: (ctx: RunContext<C>) => void;
}

export async function runService<C extends { logLevel: string; logFormat: 'auto' | 'json' | 'pretty'; nodeName: string; shutdownTimeout: number }>(
  def: ServiceDefinition<C>,
  env: Env = process.env,
): Promise<void> {
  let config: C;
  try {
    config = def.loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tollgate ${def.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const supervised = supervisedIdentity(env);
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: def.name });
  const registry = createMetricsRegistry({
    service: def.name, node: config.nodeName, ...(supervised ? { process: supervised.process } : {}),
  });
  const supervisor = new Supervisor(log);
  const ctx: RunContext<C> = { config, log, registry, supervisor, supervised };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: aborting without drain');
      process.exit(130);
    }
    log.info({ signal }, 'stopping: draining components');
    supervisor.stop(config.shutdownTimeout).then(() => {
      log.info('stopped');
      process.exit(0);
    }, (err: unknown) => {
      log.fatal({ err }, 'stop failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  if (supervised) {
    // The terminal's Ctrl-C reaches every process of the group; the supervisor turns it into an ordered stop.
    process.on('SIGINT', () => log.debug('SIGINT left to the supervisor'));
    // The supervisor is gone (killed): nobody will stop this process in order, so drain now rather than linger.
    process.on('disconnect', () => {
      if (signals === 0) onSignal('SIGTERM');
    });
    answerSupervisor(() => supervisor.health(), registry);
  } else {
    process.on('SIGINT', onSignal);
  }
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; aborting');
    void supervisor.stop(Math.min(config.shutdownTimeout, 3_000)).finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection; aborting');
    void supervisor.stop(Math.min(config.shutdownTimeout, 3_000)).finally(() => process.exit(1));
  });

  try {
    await def.wire(ctx);
    await supervisor.start();
  } catch (err) {
    log.fatal({ err }, `${def.name} failed to start`);
    await supervisor.stop(3_000);
    process.exit(1);
  }
  if (supervised) sendToSupervisor({ tg: 'ready', describe: def.describe?.(ctx) ?? [] });
  else if (def.started) def.started(ctx);
  else if (def.describe) {
    const lines = def.describe(ctx);
    log.info({ listening: lines }, `${def.name} is running`);
    process.stdout.write(`\ntollgate ${def.name} is running:\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
  }
}
