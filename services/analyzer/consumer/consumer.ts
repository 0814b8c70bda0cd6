/**
 * The analyzer's Kafka side: one consumer group over the HEP SIP, RTCP and QoS topics, `eachBatch` with
 * `autoCommit: false`, one PartitionWorker per assigned partition (so each partition's dialogs are tracked by
 * exactly one worker: a dialog's messages share a partition because the key is the Call-ID).
 *
 * Assignment. kafkajs rebuilds its fetch positions from the committed offsets on every group join, so workers are
 * dropped on join and rebuilt on their partition's first batch: committed offset → newest snapshot at or below it
 * → seek there when older → ledger ranges from there on. Batches of a partition run one at a time, in offset order.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import { isTollgateError } from '../../shared/errors.ts';
import { Once, type Component, type ComponentHealth } from '../../shared/lifecycle.ts';
import type { OutgoingRecord, RecordProducer } from '../../shared/kafka/producer.ts';
import { topicName } from '../../shared/kafka/topics.ts';
import type { DialogTrackerOptions, RegistrationTrackerOptions } from '../correlation/index.ts';
import { AnalyzerErrors } from '../errors.ts';
import type { AnalyzerMetrics } from '../metrics.ts';
import { IngestState, type PartitionKey } from '../store/ingest-state.ts';
import type { TenantMap } from '../tenants.ts';
import type { TopicKind } from './decode.ts';
import { PartitionWorker, type BatchSink } from './partition.ts';

const PUBLISH_SLICE_BYTES = 512 * 1024;

export function sliceByBytes<T extends { value: Buffer }>(items: readonly T[], maxBytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let size = 0;
  for (const it of items) {
    const n = it.value.length + 64;
    if (cur.length > 0 && size + n > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(it);
    size += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface AnalyzerConsumerOptions {
  readonly kafka: Kafka;
  readonly store: SqlStore;
  readonly log: Logger;
  readonly metrics: AnalyzerMetrics;
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly maxRows: number;
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  readonly snapshotIntervalMs: number;
  /** The `sip.events` / `sip.quarantine` producer; none when events are off. Connected in start(), closed in close(). */
  readonly events: RecordProducer | undefined;
  readonly tenants: TenantMap;
  readonly dialogs: DialogTrackerOptions;
  readonly registrations: RegistrationTrackerOptions;
}

export class AnalyzerConsumer implements Component {
  readonly name = 'analyzer';
  readonly #o: AnalyzerConsumerOptions;
  readonly #consumer: Consumer;
  readonly #events: RecordProducer | undefined;
  readonly #admin: Admin;
  readonly #state: IngestState;
  readonly #kinds: Map<string, TopicKind>;
  readonly #workers = new Map<string, PartitionWorker>();
  readonly #closing = new Once();
  #stopped = false;
  #running = false;
  #failing: string | undefined;
  #crashed: string | undefined;

  constructor(o: AnalyzerConsumerOptions) {
    this.#o = o;
    this.#kinds = new Map([
      [topicName(o.topicPrefix, 'hepSip'), 'sip'],
      [topicName(o.topicPrefix, 'hepRtcp'), 'rtcp'],
      [topicName(o.topicPrefix, 'hepQos'), 'qos'],
    ]);
    this.#consumer = o.kafka.consumer({
      groupId: o.groupId,
      maxWaitTimeInMs: o.maxWaitMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      // kafkajs caps a whole fetch at 10 MiB by default, which would cut batches below maxBytesPerPartition as soon
      // as several partitions have backlog.
      maxBytes: o.maxBytesPerPartition * 4,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(o.sessionTimeoutMs / 10)),
    });
    this.#events = o.events;
    this.#admin = o.kafka.admin();
    this.#state = new IngestState(o.store);
  }

  async start(): Promise<void> {
    await this.#admin.connect();
    await this.#events?.connect();
    await this.#consumer.connect();
    const c = this.#consumer;
    // kafkajs resets fetch positions to the committed offsets on every join: rebuild workers from there.
    c.on(c.events.GROUP_JOIN, () => {
      this.#workers.clear();
      this.#crashed = undefined;
    });
    c.on(c.events.CRASH, (e) => {
      const err = e.payload.error;
      this.#crashed = err.message;
      // Logged here, once: kafkajs restarts the consumer itself when the error is retriable.
      this.#o.log.error({ err, restart: e.payload.restart }, 'analyzer consumer crashed');
    });
    await c.subscribe({ topics: [...this.#kinds.keys()], fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      // Partitions are independent (own worker, trackers, ledger ranges); running them concurrently lets one
      // partition decode while another waits for ClickHouse or Kafka. A partition's batches stay sequential.
      partitionsConsumedConcurrently: 3,
      eachBatch: (p) => this.#eachBatch(p),
    });
    this.#running = true;
  }

  #hooks(heartbeat: () => Promise<void>) {
    return {
      stopped: () => this.#stopped,
      heartbeat,
      onFailure: (err: unknown, attempt: number) => {
        const msg = (err as Error).message;
        if (this.#failing === undefined || attempt === 1) {
          // Logged on the first failure of a write; later attempts only update health and metrics.
          if (attempt === 1) this.#o.log.warn({ err }, 'ClickHouse/Kafka operation failed; retrying with backoff, offsets stay uncommitted');
        }
        this.#failing = msg;
      },
      onRecovered: () => {
        this.#failing = undefined;
      },
    };
  }

  async #eachBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const kind = this.#kinds.get(topic);
    if (kind === undefined || batch.messages.length === 0) return;
    const key = `${topic}:${partition}`;
    const hooks = { ...this.#hooks(heartbeat), highWatermark: Number(batch.highWatermark) };
    try {
      let worker = this.#workers.get(key);
      if (worker === undefined) {
        worker = this.#worker(topic, partition, kind);
        const committed = await this.#committed(topic, partition);
        const first = Number(batch.messages[0]!.offset);
        const { start } = await worker.restore(committed, first, hooks);
        this.#workers.set(key, worker);
        if (start < (committed ?? first)) {
          // An older snapshot: replay from it. kafkajs drops the batches already fetched for this partition.
          this.#consumer.seek({ topic, partition, offset: String(start) });
          return;
        }
      }
      if (!isRunning() || isStale()) return;
      await worker.process(batch.messages.map((m) => ({ offset: Number(m.offset), value: m.value, timestampMs: Number(m.timestamp) })), hooks);
    } catch (err) {
      this.#workers.delete(key);
      // Stopping mid-batch: nothing was committed, the batch is replayed by whoever owns the partition next.
      if (isTollgateError(err, AnalyzerErrors.aborted)) return;
      throw err;
    }
  }

  async #committed(topic: string, partition: number): Promise<number | undefined> {
    const res = await this.#admin.fetchOffsets({ groupId: this.#o.groupId, topics: [topic] });
    const p = res[0]?.partitions.find((x) => x.partition === partition);
    const n = p === undefined ? -1 : Number(p.offset);
    return n >= 0 ? n : undefined;
  }

  #worker(topic: string, partition: number, kind: TopicKind): PartitionWorker {
    const k: PartitionKey = { group: this.#o.groupId, topic, partition };
    const state = this.#state;
    const store = this.#o.store;
    const eventsTopic = topicName(this.#o.topicPrefix, 'sipEvents');
    const quarantineTopic = topicName(this.#o.topicPrefix, 'quarantine');
    const sink: BatchSink = {
      recordRange: (range, rows) => state.recordRange(k, range, rows),
      insert: (table, rows, token) => store.insert(table, rows, { dedupToken: token }),
      publish: async (sip, quarantine) => {
        const events = this.#events;
        if (events === undefined) return;
        const out: OutgoingRecord[] = [
          ...sip.map((e) => ({ topic: eventsTopic, key: Buffer.from(e.src_ip), value: Buffer.from(JSON.stringify(e)) })),
          ...quarantine.map((e) => ({ topic: quarantineTopic, key: Buffer.from(e.src_ip), value: Buffer.from(JSON.stringify(e)) })),
        ];
        // The broker refuses a partition's record batch above message.max.bytes (1 MiB by default), and neither
        // client splits one send: send in slices, one at a time so the order per key holds.
        for (const slice of sliceByBytes(out, PUBLISH_SLICE_BYTES)) await events.send(slice);
        this.#o.metrics.events.inc({ topic: eventsTopic }, sip.length);
        this.#o.metrics.events.inc({ topic: quarantineTopic }, quarantine.length);
      },
      commit: (next) => this.#consumer.commitOffsets([{ topic, partition, offset: String(next) }]),
      saveSnapshot: (offset, s) => state.saveSnapshot(k, offset, 1, s),
      latestSnapshot: (atMost) => state.latestSnapshot(k, atMost),
      rangesFrom: (from) => state.rangesFrom(k, from),
    };
    return new PartitionWorker({
      group: this.#o.groupId, topic, partition, kind, maxRows: this.#o.maxRows, tenants: this.#o.tenants,
      dialogs: this.#o.dialogs, registrations: this.#o.registrations, metrics: this.#o.metrics,
      snapshotIntervalMs: this.#o.snapshotIntervalMs,
      onSnapshotError: (err) => this.#o.log.warn({ err, topic, partition }, 'tracker snapshot not saved; a restart replays from an older one'),
    }, sink);
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      this.#stopped = true;
      this.#running = false;
      // disconnect() waits for the batch in flight: it either finishes (committed) or aborts uncommitted.
      await this.#consumer.disconnect();
      await this.#events?.disconnect();
      await this.#admin.disconnect();
    });
  }

  destroy(): Promise<void> {
    this.#stopped = true;
    return this.close();
  }

  health(): ComponentHealth {
    if (this.#crashed !== undefined && !this.#running) return { state: 'down', detail: `consumer crashed: ${this.#crashed}` };
    if (this.#failing !== undefined) return { state: 'degraded', detail: `ClickHouse/Kafka operations failing, retrying (offsets not committed): ${this.#failing}` };
    if (!this.#running) return { state: 'down', detail: 'not consuming' };
    return { state: 'ok' };
  }
}
