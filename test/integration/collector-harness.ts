/** A collector + real Kafka publisher on random ports and a random topic prefix, plus a consumer that counts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { collectorSettings } from '../../services/collector/settings.ts';
import type { CollectorConfig } from '../../services/collector/service.ts';
import { buildCollectorWithPublisher, type CollectorWiring } from '../../services/collector/wiring.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import { ensureTopics, topicCatalogue, topicName, type TopicKey } from '../../services/shared/kafka/topics.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';
import { testLogger } from '../support/test-output.ts';

export interface Harness {
  readonly wiring: CollectorWiring;
  readonly prefix: string;
  readonly registry: Registry;
  readonly udpPort: number;
  readonly tcpPort: number;
  topic(key: TopicKey): string;
  /** Consumes `topic` from the beginning until `expected` messages, then waits `graceMs` more for extras. */
  consume(topic: string, expected: number, timeoutMs?: number, graceMs?: number): Promise<KafkaMessage[]>;
  close(): Promise<void>;
}

function kafkaClientFromEnv(): Record<string, string> {
  const v = process.env.PUBLISH_KAFKA_CLIENT;
  return v === undefined ? {} : { PUBLISH_KAFKA_CLIENT: v };
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const { kafkaBrokers } = await ensureLocalStack();
  const prefix = `${uniqueName('col')}.`;
  const kafka = new Kafka({ clientId: 'tollgate-collector-test', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  await admin.connect();
  const specs = topicCatalogue(prefix, 3, 3_600_000).filter((t) => t.name.includes('.hep.'));
  await ensureTopics(admin, specs);
  const spoolDir = mkdtempSync(join(tmpdir(), 'tg-spool-'));
  const config: CollectorConfig = {
    // PUBLISH_KAFKA_CLIENT from the test run's environment picks the producer adapter under test.
    ...parseSettings(collectorSettings, { HEP_IPV6: 'true', PUBLISH_SPOOL_DIR: spoolDir, ...kafkaClientFromEnv(), ...env }),
    hepPort: 0,
    kafkaTopicPrefix: prefix,
  };
  const registry = new Registry();
  const wiring = buildCollectorWithPublisher(config, { client: kafka, brokers: kafkaBrokers, clientId: 'tollgate-collector-test' }, registry, testLogger('collector'));
  for (const c of wiring.components) await c.start();
  const port = (a: string | undefined): number => Number(a!.slice(a!.lastIndexOf(':') + 1));
  return {
    wiring,
    prefix,
    registry,
    udpPort: port(wiring.collector.udp.addresses[0]),
    tcpPort: port(wiring.collector.tcp.addresses[0]),
    topic: (key) => topicName(prefix, key),
    async consume(topic, expected, timeoutMs = 60_000, graceMs = 1_500) {
      const consumer = kafka.consumer({ groupId: uniqueName('colg'), sessionTimeout: 10_000, heartbeatInterval: 1_000 });
      await consumer.connect();
      const got: KafkaMessage[] = [];
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => (expected === 0 ? resolve() : reject(new Error(`consumed ${got.length} of ${expected} from ${topic}`))), expected === 0 ? graceMs * 3 : timeoutMs);
          consumer.run({
            eachMessage: async ({ message }) => {
              got.push(message);
              if (got.length === expected) {
                clearTimeout(timer);
                setTimeout(resolve, graceMs);
              }
            },
          }).catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
      return got;
    },
    async close() {
      for (const c of [...wiring.components].reverse()) await c.close();
      await admin.deleteTopics({ topics: specs.map((t) => t.name), timeout: 10_000 }).catch(() => undefined);
      await admin.disconnect();
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
