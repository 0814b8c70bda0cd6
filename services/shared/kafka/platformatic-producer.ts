/**
 * The @platformatic/kafka adapter behind `RecordProducer`: the default producer of the capture publisher and of the
 * analyzer's events (services/collector/publish/README.md says why a second client, with the figures). Same
 * guarantees as the kafkajs adapter:
 *
 * - idempotent, acks=all; the client then forces one request in flight per connection, and callers have one
 *   batch in flight at a time, so per-partition order holds across the client's own retries (a retried produce
 *   carries the same sequence numbers and the broker de-duplicates it);
 * - a failed send throws the producer away: the client advances its sequence numbers only on success, but after a
 *   partial failure or an OUT_OF_ORDER_SEQUENCE the broker's state for that producer id no longer matches what the
 *   caller will re-send, so the next send gets a fresh producer id;
 * - every send and connect is bounded. The client turns `retries <= 1` into "retry forever" for idempotent
 *   producers, so the retry budget is set explicitly and the send is also raced against `sendTimeoutMs`;
 * - before a failure is reported the producer is closed and the send has settled: closing the pool fails requests
 *   still on the wire and cancels pending retry timers, and a closed pool opens no connection, so no write of the
 *   old producer can reach the broker after the caller re-sends the batch (bounded-send.ts).
 *
 * Partitioning is Kafka's Java/kafkajs mapping (partition.ts), not this client's default.
 */
import { Producer } from '@platformatic/kafka';
import type { MessageToProduce } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { TollgateError } from '../errors.ts';
import { boundedSend, rejectAfter } from './bounded-send.ts';
import { ProducerErrors } from './errors.ts';
import { keyHash } from './partition.ts';
import type { OutgoingRecord, RecordProducer } from './producer.ts';

export interface PlatformaticRecordProducerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Broker-side wait for the in-sync replicas, per request. Default 10 s. */
  readonly ackTimeoutMs?: number;
  /** Client retries inside one send (default 4), the first after `retryDelayMs` (default 100), doubling to 1 s. */
  readonly retries?: number;
  readonly retryDelayMs?: number;
  /** Bound on one `send` (default 5 s) and on one `connect` (default 5 s). */
  readonly sendTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly log?: Logger;
}

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
type Client = Producer<Buffer, Buffer, Buffer, Buffer>;

const MAX_RETRY_DELAY_MS = 1_000;
/** Header names are a handful of constants; their bytes are made once. */
const NAME_CACHE_LIMIT = 256;

export class PlatformaticRecordProducer implements RecordProducer {
  readonly #brokers: string[];
  readonly #clientId: string;
  readonly #ackTimeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #sendTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #log: Logger | undefined;
  readonly #names = new Map<string, Buffer>();
  /**
   * Encoded headers of frozen header objects, by identity: the collector gives every record of a payload type the
   * same frozen object, so its bytes are made once instead of a Map and a Buffer per record (bench/PROFILE.md).
   */
  readonly #frozen = new WeakMap<object, Map<Buffer, Buffer>>();
  #producer: Client | undefined;
  #connecting: Promise<Client> | undefined;

  constructor(opts: PlatformaticRecordProducerOptions) {
    if (opts.brokers.length === 0) throw new TollgateError(ProducerErrors.badOptions, 'at least one Kafka broker is needed');
    this.#brokers = [...opts.brokers];
    this.#clientId = opts.clientId;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
    this.#retries = opts.retries ?? 4;
    this.#retryDelayMs = opts.retryDelayMs ?? 100;
    this.#sendTimeoutMs = opts.sendTimeoutMs ?? 5_000;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.#log = opts.log;
    // 0 or 1 would mean "forever" to the client (see the header comment).
    if (!(Number.isInteger(this.#retries) && this.#retries >= 2)) {
      throw new TollgateError(ProducerErrors.badOptions, `retries must be an integer >= 2, got ${this.#retries}`);
    }
  }

  async connect(): Promise<void> {
    await this.#ready();
  }

  async send(batch: readonly OutgoingRecord[]): Promise<void> {
    if (batch.length === 0) return;
    const producer = await this.#ready();
    const messages: Message[] = new Array<Message>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const headers = r.headers === undefined ? undefined : this.#headers(r.headers);
      // No headers at all, rather than an empty map: the client then writes a zero count without walking one.
      messages[i] = headers === undefined || headers.size === 0
        ? { topic: r.topic, key: r.key, value: r.value }
        : { topic: r.topic, key: r.key, value: r.value, headers };
    }
    const sending = producer.send({ messages });
    try {
      await boundedSend(sending, this.#sendTimeoutMs, () => {
        this.#forget(producer);
        return this.#close(producer);
      });
    } catch (err) {
      this.#forget(producer);
      await this.#close(producer);
      throw new TollgateError(ProducerErrors.sendFailed, `kafka did not acknowledge ${batch.length} records: ${describe(err)}`, { records: batch.length }, { cause: err });
    }
  }

  async disconnect(): Promise<void> {
    const pending = this.#connecting;
    this.#connecting = undefined;
    const producer = this.#producer ?? (await pending?.catch(() => undefined));
    this.#producer = undefined;
    if (producer !== undefined) await producer.close(true);
  }

  #headers(h: Readonly<Record<string, string>>): Map<Buffer, Buffer> {
    if (Object.isFrozen(h)) {
      let made = this.#frozen.get(h);
      if (made === undefined) {
        made = this.#encodeHeaders(h);
        this.#frozen.set(h, made);
      }
      return made;
    }
    return this.#encodeHeaders(h);
  }

  #encodeHeaders(h: Readonly<Record<string, string>>): Map<Buffer, Buffer> {
    const out = new Map<Buffer, Buffer>();
    for (const name in h) {
      let nb = this.#names.get(name);
      if (nb === undefined) {
        nb = Buffer.from(name, 'utf8');
        if (this.#names.size < NAME_CACHE_LIMIT) this.#names.set(name, nb);
      }
      out.set(nb, Buffer.from(h[name]!, 'utf8'));
    }
    return out;
  }

  #ready(): Promise<Client> {
    if (this.#producer !== undefined) return Promise.resolve(this.#producer);
    this.#connecting ??= this.#create().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #create(): Promise<Client> {
    const base = this.#retryDelayMs;
    const producer: Client = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: this.#clientId,
      bootstrapBrokers: this.#brokers,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
      retries: this.#retries,
      retryDelay: (_client, _op, attempt) => Math.min(MAX_RETRY_DELAY_MS, base * 2 ** Math.max(0, attempt - 1)),
      timeout: this.#ackTimeoutMs,
      connectTimeout: this.#connectTimeoutMs,
      // A request the broker never answers (broker stopped mid-request) fails within the send bound.
      requestTimeout: this.#sendTimeoutMs,
      partitioner: (_message, key) => (key === undefined ? 0 : keyHash(key)),
    });
    try {
      // Fetching the producer id proves the cluster answers; it is also the one round trip the first send would make.
      await Promise.race([producer.initIdempotentProducer({}), rejectAfter(this.#connectTimeoutMs, `no producer id within ${this.#connectTimeoutMs} ms`)]);
    } catch (err) {
      await this.#close(producer);
      throw new TollgateError(ProducerErrors.connectFailed, `kafka producer cannot connect: ${describe(err)}`, {}, { cause: err });
    }
    this.#producer = producer;
    return producer;
  }

  #forget(producer: Client): void {
    if (this.#producer === producer) this.#producer = undefined;
  }

  /** Bounded: a close that hangs must not hold the caller's loop; the pool is marked closed at once regardless. */
  async #close(producer: Client): Promise<void> {
    try {
      await Promise.race([producer.close(true), rejectAfter(this.#sendTimeoutMs, 'close did not finish')]);
    } catch (err) {
      this.#log?.warn({ err }, 'discarded kafka producer did not close cleanly');
    }
  }
}

/** The client nests causes in `errors` (MultipleErrors); the innermost messages say what actually happened. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = (err as Error & { errors?: unknown[] }).errors;
  if (Array.isArray(inner) && inner.length > 0) return `${err.message} (last: ${describe(inner.at(-1))})`;
  return err.message;
}
