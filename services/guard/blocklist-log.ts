/**
 * The blocklist's source of truth: a compacted Kafka topic keyed by address, one whole record per key. Every guard
 * (and the API, for the pull endpoints and manual blocks) reads it from the beginning into its own `Blocklist`,
 * so a restarted or added instance has the full set before it pushes anything; compaction keeps the topic as
 * small as the set of addresses ever blocked within the offence memory. A write is applied locally at once and
 * again when it comes back from the topic (idempotent: records are ordered by `updatedAt`).
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import { Once, type Component, type ComponentHealth } from '../shared/lifecycle.ts';
import type { Blocklist, BlockRecord } from './blocklist.ts';

export interface BlocklistLogOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly blocklist: Blocklist;
  readonly log: Logger;
  /** Called for every record applied (from this instance or another), after the state changed. */
  readonly onChange?: (r: BlockRecord) => void;
  readonly groupPrefix: string;
}

export async function ensureCompactedTopic(admin: Admin, topic: string): Promise<void> {
  const existing = new Set(await admin.listTopics());
  if (existing.has(topic)) return;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic, numPartitions: 1, replicationFactor: -1,
        // One partition: a few thousand addresses at most, and one total order of decisions is worth more than
        // parallelism here. Compaction keeps the latest record per address.
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.1' }, { name: 'segment.ms', value: String(86_400_000) }],
      }],
    });
  } catch (err) {
    // Another instance created it between our list and create.
    if (!new Set(await admin.listTopics()).has(topic)) throw err;
  }
}

export class BlocklistLog implements Component {
  readonly name = 'blocklist-log';
  readonly #o: BlocklistLogOptions;
  readonly #groupId: string;
  #consumer: Consumer | undefined;
  #producer: Producer | undefined;
  #admin: Admin | undefined;
  #ready = false;
  #failing: string | undefined;
  readonly #closing = new Once();

  constructor(o: BlocklistLogOptions) {
    this.#o = o;
    // A group of one per process: every instance reads the whole topic; offsets are never committed.
    this.#groupId = `${o.groupPrefix}-${randomUUID()}`;
  }

  async start(): Promise<void> {
    const { kafka, topic, blocklist, log } = this.#o;
    this.#admin = kafka.admin();
    await this.#admin.connect();
    await ensureCompactedTopic(this.#admin, topic);
    const ends = await offsetsOfNewTopic(this.#admin, topic);
    const target = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    const behind = new Set([...target].filter(([, high]) => high > 0).map(([p]) => p));
    this.#producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
    await this.#producer.connect();
    this.#consumer = kafka.consumer({ groupId: this.#groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic, fromBeginning: true });
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => { caughtUp = r; });
    if (behind.size === 0) caughtUp();
    await this.#consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        if (message.value === null) blocklist.forget(key);
        else {
          const r = parseRecord(message.value);
          if (r === undefined) log.warn({ topic, offset: message.offset }, 'blocklist record unreadable; skipped');
          else if (blocklist.apply(r)) this.#o.onChange?.(r);
        }
        if (behind.has(partition) && Number(message.offset) + 1 >= (target.get(partition) ?? 0)) {
          behind.delete(partition);
          if (behind.size === 0) caughtUp();
        }
      },
    });
    await ready;
    this.#ready = true;
    log.info({ topic, records: blocklist.size }, 'blocklist loaded');
  }

  /**
   * Writes a record (applied locally first, so the caller's edge push does not wait for the round trip). When Kafka
   * refuses, the record is kept (the latest per address) and re-sent every 2 s until it is written, so a block
   * decided during an outage still reaches the topic and survives a restart; the caller gets the error to count.
   */
  async write(r: BlockRecord): Promise<void> {
    if (this.#o.blocklist.apply(r)) this.#o.onChange?.(r);
    try {
      await this.#send([r]);
    } catch (err) {
      const cur = this.#unsent.get(r.ip);
      if (cur === undefined || cur.updatedAt <= r.updatedAt) this.#unsent.set(r.ip, r);
      this.#retryTimer ??= setInterval(() => void this.#retryUnsent(), 2_000);
      throw err;
    }
  }

  readonly #unsent = new Map<string, BlockRecord>();
  #retryTimer: NodeJS.Timeout | undefined;

  async #send(records: readonly BlockRecord[]): Promise<void> {
    try {
      await this.#producer!.send({ topic: this.#o.topic, acks: -1, messages: records.map((r) => ({ key: r.ip, value: JSON.stringify(r) })) });
      if (this.#unsent.size === 0) this.#failing = undefined;
    } catch (err) {
      this.#failing = (err as Error).message;
      throw err;
    }
  }

  async #retryUnsent(): Promise<void> {
    const batch = [...this.#unsent.values()];
    if (batch.length === 0) return;
    try {
      await this.#send(batch);
      for (const r of batch) if (this.#unsent.get(r.ip) === r) this.#unsent.delete(r.ip);
      if (this.#unsent.size === 0) {
        clearInterval(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#failing = undefined;
        this.#o.log.info({ records: batch.length }, 'blocklist records written after a Kafka outage');
      }
    } catch {
      // Still failing: health says so; the next tick tries again.
    }
  }

  get unsent(): number {
    return this.#unsent.size;
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      this.#ready = false;
      clearInterval(this.#retryTimer);
      if (this.#unsent.size > 0) {
        await this.#retryUnsent();
        if (this.#unsent.size > 0) this.#o.log.error({ records: this.#unsent.size }, 'blocklist records not written to Kafka at shutdown (they were pushed to the edges)');
      }
      await this.#consumer?.disconnect();
      await this.#producer?.disconnect();
      await this.#admin?.deleteGroups([this.#groupId]).catch(() => undefined);
      await this.#admin?.disconnect();
    });
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    if (!this.#ready) return { state: 'down', detail: 'blocklist not loaded' };
    if (this.#failing !== undefined) return { state: 'degraded', detail: `writing the blocklist topic failed (${this.#unsent.size} records kept, retrying): ${this.#failing}` };
    return { state: 'ok' };
  }
}

export function parseRecord(value: Buffer): BlockRecord | undefined {
  try {
    const r = JSON.parse(value.toString('utf8')) as BlockRecord;
    if (typeof r.ip !== 'string' || (r.state !== 'active' && r.state !== 'lifted') || typeof r.updatedAt !== 'number' || typeof r.expiresAt !== 'number') return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/**
 * End offsets of a topic that may have just been created: until the broker's metadata has caught up it answers
 * "This server does not host this topic-partition" (retriable, but the admin client does not retry it).
 */
export async function offsetsOfNewTopic(admin: Admin, topic: string): ReturnType<Admin['fetchTopicOffsets']> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      if (attempt >= 20 || (err as { retriable?: boolean }).retriable !== true) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
