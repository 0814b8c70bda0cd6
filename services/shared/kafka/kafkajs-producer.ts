/**
 * The kafkajs adapter behind `RecordProducer`. Idempotent with one request in flight per broker: that is what keeps
 * per-partition order across kafkajs's internal retries. After a failed send the producer is thrown away and the
 * next call builds a fresh one (new producer id): the broker's sequence state for the old id no longer matches what
 * the caller will re-send (the collector from its spool, the analyzer by retrying the batch), and a stale sequence would wedge the partition with OUT_OF_ORDER_SEQUENCE errors.
 *
 * kafkajs can keep a send retrying for far longer than its producer retry budget while a broker is gone (connection
 * retries are counted separately), so a send is bounded by `sendTimeoutMs` (bounded-send.ts).
 */
import { CompressionTypes, Partitioners } from 'kafkajs';
import type { Kafka, Message, Producer, RetryOptions, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import { TollgateError } from '../errors.ts';
import { boundedSend } from './bounded-send.ts';
import { ProducerErrors } from './errors.ts';
import type { OutgoingRecord, RecordProducer } from './producer.ts';

export type Compression = 'none' | 'gzip';

export interface KafkaRecordProducerOptions {
  readonly kafka: Kafka;
  /**
   * Default `none`. Measured (bench/publisher.bench.ts, 500 B SIP-like values, one local broker): none ~52k
   * records/s and 548 B/record on the broker's disk; gzip ~46k records/s (-12%) and 38 B/record. The bench cycles
   * 1,024 distinct values, so the gzip ratio is flattering; the throughput cost is real. Capture rate comes first
   * for the collector, so none stays the default; choose gzip when broker disk or cross-site bandwidth is the limit.
   */
  readonly compression?: Compression;
  /** Broker-side wait for the in-sync replicas, per request. Default 10 s. */
  readonly ackTimeoutMs?: number;
  /**
   * kafkajs's retry inside one `send`. Kept short (default about 3 s in total) so an outage reaches the caller's own
   * recovery fast (the collector's spool and probe, the analyzer's batch retry).
   */
  readonly retry?: RetryOptions;
  /** Bound on one `send` (default 5 s) and on one `connect` (default 5 s). */
  readonly sendTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly log?: Logger;
}

const DEFAULT_RETRY: RetryOptions = { retries: 4, initialRetryTime: 100, maxRetryTime: 1_000 };

export class KafkaRecordProducer implements RecordProducer {
  readonly #kafka: Kafka;
  readonly #compression: CompressionTypes;
  readonly #ackTimeoutMs: number;
  readonly #retry: RetryOptions;
  readonly #log: Logger | undefined;
  readonly #sendTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  #producer: Producer | undefined;
  #connecting: Promise<Producer> | undefined;

  constructor(opts: KafkaRecordProducerOptions) {
    this.#kafka = opts.kafka;
    const compression = opts.compression ?? 'none';
    if (compression !== 'none' && compression !== 'gzip') {
      throw new TollgateError(ProducerErrors.badOptions, `compression ${String(compression)} is not none | gzip (the codecs kafkajs ships)`);
    }
    this.#compression = compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
    this.#retry = opts.retry ?? DEFAULT_RETRY;
    this.#log = opts.log;
    this.#sendTimeoutMs = opts.sendTimeoutMs ?? 5_000;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  }

  async connect(): Promise<void> {
    await this.#ready();
  }

  async send(batch: readonly OutgoingRecord[]): Promise<void> {
    if (batch.length === 0) return;
    const producer = await this.#ready();
    const sending = producer.sendBatch({ topicMessages: groupByTopic(batch), acks: -1, timeout: this.#ackTimeoutMs, compression: this.#compression });
    try {
      await boundedSend(sending, this.#sendTimeoutMs, () => {
        this.#forget(producer);
        return producer.disconnect().catch(() => undefined);
      });
    } catch (err) {
      this.#discard(producer);
      throw new TollgateError(ProducerErrors.sendFailed, `kafka did not acknowledge ${batch.length} records: ${(err as Error).message}`, { records: batch.length }, { cause: err });
    }
  }

  async disconnect(): Promise<void> {
    const pending = this.#connecting;
    this.#connecting = undefined;
    const producer = this.#producer ?? (await pending?.catch(() => undefined));
    this.#producer = undefined;
    await producer?.disconnect();
  }

  #ready(): Promise<Producer> {
    if (this.#producer !== undefined) return Promise.resolve(this.#producer);
    this.#connecting ??= this.#create().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #create(): Promise<Producer> {
    const producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: this.#retry,
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        producer.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(reject, this.#connectTimeoutMs, new Error(`no connection within ${this.#connectTimeoutMs} ms`));
        }),
      ]);
    } catch (err) {
      clearTimeout(timer);
      await producer.disconnect().catch(() => undefined);
      throw new TollgateError(ProducerErrors.connectFailed, `kafka producer cannot connect: ${(err as Error).message}`, {}, { cause: err });
    }
    clearTimeout(timer);
    this.#producer = producer;
    return producer;
  }

  #forget(producer: Producer): void {
    if (this.#producer === producer) this.#producer = undefined;
  }

  #discard(producer: Producer): void {
    this.#forget(producer);
    producer.disconnect().catch((err: unknown) => this.#log?.warn({ err }, 'discarded kafka producer did not disconnect cleanly'));
  }
}

/** One entry per topic in first-seen order; records keep their relative order inside each topic. */
function groupByTopic(batch: readonly OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const r of batch) {
    let list = byTopic.get(r.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(r.topic, list);
    }
    list.push(r.headers === undefined ? { key: r.key, value: r.value } : { key: r.key, value: r.value, headers: r.headers });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
