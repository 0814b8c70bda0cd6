/**
 * mod_json_cdr posts reach the rating service through Kafka: the API's `/freeswitch/cdr` route publishes each post
 * (answering 200 only after the broker acknowledged, so FreeSWITCH keeps retrying and spooling until then), and the
 * rating service consumes the topic in its own consumer group. Either side can restart without losing a post.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Component, ComponentHealth } from '../shared/lifecycle.ts';
import type { RecordProducer } from '../shared/kafka/producer.ts';

export const JSON_CDR_TOPIC_SUFFIX = 'freeswitch.json_cdr';

/** The `ingest` of the API route: publish, keyed by the channel uuid so a leg's posts stay in order. */
export function kafkaJsonCdrIngest(producer: RecordProducer, topic: string): (doc: unknown) => Promise<void> {
  return async (doc) => {
    const vars = (doc as { variables?: Record<string, unknown> }).variables ?? {};
    const key = typeof vars['uuid'] === 'string' ? vars['uuid'] : '';
    await producer.send([{ topic, key: Buffer.from(key), value: Buffer.from(JSON.stringify(doc)) }]);
  };
}

export class JsonCdrConsumer implements Component {
  readonly name = 'json-cdr-consumer';
  #consumer: Consumer;
  #state: ComponentHealth = { state: 'degraded', detail: 'not started' };
  readonly #topic: string;
  readonly #ingest: (doc: unknown) => Promise<unknown>;
  readonly #log: Logger;

  constructor(opts: { kafka: Kafka; groupId: string; topic: string; ingest: (doc: unknown) => Promise<unknown>; log: Logger }) {
    this.#consumer = opts.kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
    this.#topic = opts.topic;
    this.#ingest = opts.ingest;
    this.#log = opts.log;
  }

  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic: this.#topic, fromBeginning: true });
    await this.#consumer.run({
      eachMessage: async ({ message }) => {
        let doc: unknown;
        try {
          doc = JSON.parse(message.value?.toString('utf8') ?? 'null');
        } catch {
          this.#log.warn({ offset: message.offset }, 'JSON CDR record is not JSON; skipped');
          return;
        }
        try {
          await this.#ingest(doc);
        } catch (err) {
          // Invalid documents are counted by the service; nothing a retry could fix.
          this.#log.warn({ err: (err as Error).message, offset: message.offset }, 'JSON CDR not taken');
        }
      },
    });
    this.#state = { state: 'ok', detail: `consuming ${this.#topic}` };
  }

  health(): ComponentHealth {
    return this.#state;
  }

  async close(): Promise<void> {
    await this.#consumer.disconnect();
    this.#state = { state: 'down', detail: 'closed' };
  }

  async destroy(): Promise<void> {
    await this.close();
  }
}
