import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

export interface BrokerLayout {
  readonly host: string;
  readonly port: number;
  readonly controllerPort: number;
  /** KRaft metadata and topic data. */
  readonly dataDir: string;
  /** The broker's own log (log4j); stdout/stderr of the JVM go to a separate file. */
  readonly serverLog: string;
}

/**
 * One combined broker+controller. Replication factors are 1 because there is one node; the initial rebalance
 * delay is 0 so a test's first consumer group does not wait 3 s; topics are never auto-created so a typo in a
 * topic name fails loudly instead of creating a stray one-partition topic.
 */
export function serverProperties(l: BrokerLayout): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${l.host}:${l.controllerPort}`,
    `listeners=PLAINTEXT://${l.host}:${l.port},CONTROLLER://${l.host}:${l.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${l.host}:${l.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${l.dataDir}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    // Dev data is disposable; cap it so a long-lived checkout does not fill the disk.
    'log.retention.hours=24',
    'log.retention.bytes=1073741824',
    '',
  ].join('\n');
}

/** log4j2 in properties syntax, which log4j-core reads without extra jars (YAML would need Jackson's YAML module). */
export function log4j2Properties(l: BrokerLayout): string {
  return [
    'status=warn',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.file.ref=file',
    'appender.file.type=RollingFile',
    'appender.file.name=file',
    `appender.file.fileName=${l.serverLog}`,
    `appender.file.filePattern=${l.serverLog}.%i`,
    'appender.file.layout.type=PatternLayout',
    'appender.file.layout.pattern=[%d] %p %m (%c)%n',
    'appender.file.policies.type=Policies',
    'appender.file.policies.size.type=SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size=50MB',
    'appender.file.strategy.type=DefaultRolloverStrategy',
    'appender.file.strategy.max=2',
    // Per-request lines would drown the startup and error lines a developer looks for.
    'logger.request.name=kafka.request.logger',
    'logger.request.level=WARN',
    '',
  ].join('\n');
}

/**
 * Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding. Generated here rather than with
 * `StorageTool random-uuid` to save a JVM start; a leading '-' is avoided as Kafka's own generator does, since
 * command-line parsers would read it as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The cluster id is kept beside the data so a re-format (after data loss) reuses it and stays recognisable. */
export async function clusterIdFrom(file: string): Promise<string> {
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (/^[A-Za-z0-9_-]{22}$/.test(existing)) return existing;
  const id = newClusterId();
  await writeFile(file, `${id}\n`);
  return id;
}
