import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { sleep } from './proc.ts';

export type PortState = 'kafka' | 'other' | 'closed';

const API_VERSIONS_KEY = 18;

/**
 * Asks the port for ApiVersions v0 (every Kafka version answers it) without a client library, so status checks
 * are fast, silent and can tell a broker from an unrelated program holding the port.
 */
export function probeKafkaPort(host: string, port: number, timeoutMs = 1500): Promise<PortState> {
  return new Promise((resolve) => {
    const correlationId = 0x7a11 + Math.floor(Math.random() * 1000);
    const clientId = Buffer.from('tollgate-stack');
    const header = Buffer.alloc(4 + 2 + 2 + 4 + 2);
    header.writeInt32BE(header.length - 4 + clientId.length, 0);
    header.writeInt16BE(API_VERSIONS_KEY, 4);
    header.writeInt16BE(0, 6);
    header.writeInt32BE(correlationId, 8);
    header.writeInt16BE(clientId.length, 12);
    let connected = false;
    let received = Buffer.alloc(0);
    const socket = connect({ host, port });
    const done = (state: PortState): void => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(timeoutMs, () => done(connected ? 'other' : 'closed'));
    socket.on('error', () => done(connected ? 'other' : 'closed'));
    socket.on('connect', () => {
      connected = true;
      socket.write(Buffer.concat([header, clientId]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 10) return;
      const ok = received.readInt32BE(4) === correlationId && received.readInt16BE(8) === 0;
      done(ok ? 'kafka' : 'other');
    });
    socket.on('end', () => done(connected ? 'other' : 'closed'));
  });
}

/**
 * A broker that accepts connections can still refuse work for seconds while its group and transaction
 * coordinators load (kafkajs logs "coordinator is loading" and retries). Ready here means a client can do what
 * the services and tests do first: create a topic, produce idempotently, consume in a group, delete the topic.
 */
export async function probeRoundTrip(brokers: string[], timeoutMs: number): Promise<void> {
  const suffix = randomBytes(6).toString('hex');
  const topic = `tollgate-stack-probe-${suffix}`;
  const kafka = new Kafka({
    clientId: 'tollgate-stack-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: topic, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic], timeout: 5000 }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`round trip did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  const work = (async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'probe', value: suffix }] });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({ eachMessage: async () => resolve() }).catch(reject);
    });
  })();
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
    await cleanup();
  }
}

/** Retries the round trip until it passes, the deadline passes, or `gaveUp` reports a reason (e.g. the JVM died). */
export async function waitUntilServing(
  brokers: string[],
  timeoutMs: number,
  gaveUp: () => string | undefined,
  heartbeat: (elapsedSeconds: number) => void,
): Promise<void> {
  const started = Date.now();
  let lastBeat = started;
  let lastError: unknown;
  const [host = '127.0.0.1', portText = '9092'] = (brokers[0] ?? '').split(':');
  for (;;) {
    const reason = gaveUp();
    if (reason !== undefined) throw new Error(reason);
    const left = started + timeoutMs - Date.now();
    if (left <= 0) throw new Error(`not ready after ${Math.round(timeoutMs / 1000)} s: ${String(lastError)}`);
    if (Date.now() - lastBeat >= 10_000) {
      lastBeat = Date.now();
      heartbeat(Math.round((lastBeat - started) / 1000));
    }
    if ((await probeKafkaPort(host, Number(portText), 1000)) !== 'kafka') {
      lastError = 'the broker port does not answer yet';
      await sleep(250);
      continue;
    }
    try {
      await probeRoundTrip(brokers, Math.min(left, 30_000));
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : err;
      await sleep(250);
    }
  }
}
