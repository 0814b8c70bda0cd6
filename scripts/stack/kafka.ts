import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartStatus, StackContext, StackPart } from './part.ts';
import { clusterIdFrom, log4j2Properties, serverProperties } from './kafka/config.ts';
import type { BrokerLayout } from './kafka/config.ts';
import { kafkaErrors, TollgateError } from './kafka/errors.ts';
import { ensureKafkaJars } from './kafka/jars.ts';
import { probeKafkaPort, waitUntilServing } from './kafka/probe.ts';
import {
  commandLine,
  groupAlive,
  readPidFile,
  runToCompletion,
  signalGroup,
  spawnDetached,
  waitForGroupExit,
  withDirLock,
  writePidFile,
} from './kafka/proc.ts';

export interface KafkaPartOptions {
  host?: string;
  port?: number;
  controllerPort?: number;
}

// Two cores and a shared machine: the JVM must not claim a quarter of RAM by default.
const JVM_OPTS = ['-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true'];
const READY_TIMEOUT_MS = 120_000;
const FORMAT_TIMEOUT_MS = 120_000;
// Controlled shutdown of a combined node takes a few seconds; past this the process is considered hung.
const STOP_GRACE_MS = 30_000;
const LOCK_TIMEOUT_MS = 15 * 60_000;

interface Paths {
  readonly dir: string;
  readonly pidFile: string;
  readonly stdoutLog: string;
  readonly serverProps: string;
  readonly log4jProps: string;
  readonly clusterIdFile: string;
  readonly lockDir: string;
  readonly layout: BrokerLayout;
}

/**
 * A real Apache Kafka broker (KRaft, one combined broker+controller node) run from Maven Central jars. Several
 * instances can coexist when they differ in ports and run dir; the file names carry no port, so give each instance
 * its own run dir.
 */
export function createKafkaPart(opts: KafkaPartOptions = {}): StackPart {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 9092;
  const controllerPort = opts.controllerPort ?? 9093;
  const endpoint = `${host}:${port}`;

  const pathsOf = (ctx: StackContext): Paths => {
    const dir = join(ctx.runDir, 'kafka');
    return {
      dir,
      pidFile: join(ctx.runDir, 'kafka.pid'),
      stdoutLog: join(ctx.runDir, 'kafka.log'),
      serverProps: join(dir, 'server.properties'),
      log4jProps: join(dir, 'log4j2.properties'),
      clusterIdFile: join(dir, 'cluster-id'),
      lockDir: join(ctx.runDir, 'kafka.lock'),
      layout: { host, port, controllerPort, dataDir: join(dir, 'data'), serverLog: join(dir, 'server.log') },
    };
  };

  /** The pid from the pid file if that process group still runs this broker; a stale file is removed. */
  const ownPid = async (p: Paths): Promise<number | undefined> => {
    const pid = await readPidFile(p.pidFile);
    if (pid === undefined) return undefined;
    const cmd = await commandLine(pid);
    const ours = groupAlive(pid) && (cmd === undefined || (cmd.includes('kafka.Kafka') && cmd.includes(p.serverProps)));
    if (!ours) await rm(p.pidFile, { force: true });
    return ours ? pid : undefined;
  };

  const logHint = (p: Paths): string => `see ${p.layout.serverLog} and ${p.stdoutLog}`;

  const status = async (ctx: StackContext): Promise<PartStatus> => {
    const p = pathsOf(ctx);
    const [pid, state] = await Promise.all([ownPid(p), probeKafkaPort(host, port)]);
    if (state === 'kafka') {
      return pid === undefined
        ? { name: 'kafka', running: true, endpoint, detail: 'listening, not started by this stack' }
        : { name: 'kafka', running: true, pid, endpoint, detail: 'running' };
    }
    if (pid !== undefined) return { name: 'kafka', running: false, pid, endpoint, detail: `process up, port not answering; ${logHint(p)}` };
    return { name: 'kafka', running: false, endpoint, detail: state === 'other' ? `port ${port} held by another program` : 'stopped' };
  };

  const formatOnce = async (ctx: StackContext, p: Paths, libDir: string): Promise<void> => {
    const formatted = await stat(join(p.layout.dataDir, 'meta.properties')).then(() => true, () => false);
    if (formatted) return;
    const clusterId = await clusterIdFrom(p.clusterIdFile);
    ctx.progress(`kafka: formatting KRaft storage in ${p.layout.dataDir} (cluster ${clusterId})`);
    const result = await runToCompletion(
      'java',
      [...JVM_OPTS, `-Dlog4j2.configurationFile=${p.log4jProps}`, '-cp', `${libDir}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', p.serverProps],
      { timeoutMs: FORMAT_TIMEOUT_MS },
    );
    if (result.code !== 0) {
      throw new TollgateError(kafkaErrors.format, `kafka storage format failed (exit ${result.code ?? result.signal}): ${result.output.slice(-2000)}`);
    }
  };

  const start = async (ctx: StackContext, p: Paths): Promise<number> => {
    const dist = await ensureKafkaJars(ctx);
    await mkdir(p.dir, { recursive: true });
    await writeFile(p.serverProps, serverProperties(p.layout));
    await writeFile(p.log4jProps, log4j2Properties(p.layout));
    await formatOnce(ctx, p, dist.libDir);
    ctx.progress(`kafka: starting Apache Kafka ${dist.version} on ${endpoint} (log ${p.layout.serverLog})`);
    const pid = spawnDetached(
      'java',
      [...JVM_OPTS, `-Dlog4j2.configurationFile=${p.log4jProps}`, '-cp', `${dist.libDir}/*`, 'kafka.Kafka', p.serverProps],
      p.stdoutLog,
    );
    await writePidFile(p.pidFile, pid);
    return pid;
  };

  const tail = async (file: string, lines: number): Promise<string> =>
    (await readFile(file, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-lines).join('\n');

  const up = async (ctx: StackContext): Promise<PartStatus> => {
    const p = pathsOf(ctx);
    await mkdir(ctx.runDir, { recursive: true });
    const lockTimeout = (): Error => new TollgateError(kafkaErrors.lock, `another stack command holds ${p.lockDir}`);
    return withDirLock(p.lockDir, LOCK_TIMEOUT_MS, lockTimeout, async () => {
      const before = await status(ctx);
      if (before.running) return before;
      for (const [name, value] of [['broker', port], ['controller', controllerPort]] as const) {
        if (before.pid === undefined && (await probeKafkaPort(host, value, 500)) !== 'closed') {
          throw new TollgateError(kafkaErrors.portTaken, `kafka ${name} port ${host}:${value} is already in use by another program`, { port: value });
        }
      }
      // A pid without an answering port is a broker still starting (an interrupted `up`): wait for it, never start a twin.
      const pid = before.pid ?? (await start(ctx, p));
      const started = Date.now();
      ctx.progress(`kafka: waiting until a client can create a topic, produce and consume in a group`);
      try {
        await waitUntilServing(
          [endpoint],
          READY_TIMEOUT_MS,
          () => (groupAlive(pid) ? undefined : 'the broker process exited'),
          (s) => ctx.progress(`kafka: still waiting for the broker (${s} s)`),
        );
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const last = (await tail(p.layout.serverLog, 15)) || (await tail(p.stdoutLog, 15));
        await stopGroup(p, pid).catch(() => undefined);
        throw new TollgateError(kafkaErrors.start, `kafka on ${endpoint} did not become ready: ${reason}; ${logHint(p)}\n${last}`, {
          serverLog: p.layout.serverLog,
          stdoutLog: p.stdoutLog,
        });
      }
      ctx.progress(`kafka: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return status(ctx);
    });
  };

  const stopGroup = async (p: Paths, pid: number): Promise<void> => {
    signalGroup(pid, 'SIGTERM');
    if (!(await waitForGroupExit(pid, STOP_GRACE_MS))) {
      signalGroup(pid, 'SIGKILL');
      if (!(await waitForGroupExit(pid, 10_000))) {
        throw new TollgateError(kafkaErrors.stop, `kafka process group ${pid} survived SIGKILL`, { pid });
      }
    }
    await rm(p.pidFile, { force: true });
  };

  const down = async (ctx: StackContext): Promise<void> => {
    const p = pathsOf(ctx);
    const lockTimeout = (): Error => new TollgateError(kafkaErrors.lock, `another stack command holds ${p.lockDir}`);
    await mkdir(ctx.runDir, { recursive: true });
    await withDirLock(p.lockDir, LOCK_TIMEOUT_MS, lockTimeout, async () => {
      const pid = await ownPid(p);
      if (pid === undefined) {
        if ((await probeKafkaPort(host, port, 500)) === 'kafka') ctx.progress(`kafka: ${endpoint} was not started by this stack; left running`);
        return;
      }
      ctx.progress(`kafka: stopping broker (process group ${pid})`);
      await stopGroup(p, pid);
    });
  };

  return { name: 'kafka', up, down, status };
}

export const kafkaPart: StackPart = createKafkaPart();
