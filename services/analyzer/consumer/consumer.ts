/**
 * The analyzer's Kafka side: one consumer group over the HEP SIP, RTCP and QoS topics, `eachBatch` with
 * `autoCommit: false`, one PartitionWorker per assigned partition (so each partition's dialogs are tracked by
 * exactly one worker: a dialog's messages share a partition because the key is the Call-ID).
 *
 * Assignment. kafkajs rebuilds its fetch positions from the committed offsets on every group join, so workers are
 * dropped on join and rebuilt on their partition's first batch: committed offset → newest snapshot at or below it
 * → seek there when older → ledger ranges from there on. Batches of a partition run one at a time, in offset order.
 * Workers are also restored right after a join for every assigned partition, without waiting for a record: an idle
 * partition's trackers must still move (`idleAdvanceMs`), including the open calls a restart brought back.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import { isTollgateError, TollgateError } from '../../shared/errors.ts';
import { Once, type Component, type ComponentHealth } from '../../shared/lifecycle.ts';
import type { OutgoingRecord, RecordProducer } from '../../shared/kafka/producer.ts';
import { topicName } from '../../shared/kafka/topics.ts';
import type { DialogTrackerOptions, RegistrationTrackerOptions } from '../correlation/index.ts';
import { AnalyzerErrors } from '../errors.ts';
import { containerRecords, SipEventLines, singleEventRecords, type EventFormat } from '../event-records.ts';
import type { QuarantineEvent, SipEvent } from '../events.ts';
import type { AnalyzerMetrics } from '../metrics.ts';
import { IngestState, type PartitionKey } from '../store/ingest-state.ts';
import { tableWriter, type InsertFormat } from '../store/table-writer.ts';
import type { TenantMap } from '../tenants.ts';
import type { TopicKind } from './decode.ts';
import { PartitionWorker, type BatchSink } from './partition.ts';
import type { RetryHooks } from './retry.ts';

const PUBLISH_SLICE_BYTES = 512 * 1024;
/** How old the event topics' partition counts may get before they are read again (containers are routed by them). */
const PARTITIONS_MAX_AGE_MS = 30_000;

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
  /** Insert body format (`ANALYZER_INSERT_FORMAT`); rowbinary when not given. */
  readonly insertFormat?: InsertFormat;
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  readonly snapshotIntervalMs: number;
  /** Retention days per table (RETENTION_*), to count what the store will drop. */
  readonly retentionDays?: Readonly<Record<string, number>>;
  /** How often idle SIP partitions' trackers are offered an advance of their capture clock; 0 never. */
  readonly idleAdvanceMs: number;
  /** The `sip.events` / `sip.quarantine` producer; none when events are off. Connected in start(), closed in close(). */
  readonly events: RecordProducer | undefined;
  /** Record format of the events: `v2` containers, or `v1` one event per record (ANALYZER_SIP_EVENTS_FORMAT). Default `v2`. */
  readonly eventsFormat?: EventFormat;
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
  /** Workers being restored or ready, per `topic:partition`; dropped on every group join. */
  readonly #workers = new Map<string, Promise<PartitionWorker>>();
  readonly #ready = new Map<string, PartitionWorker>();
  /** Partition counts of the event topics, for routing containers (`#partitionCount`). */
  readonly #partitions = new Map<string, { at: number; count: Promise<number> }>();
  #generation = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #idleRunning = false;
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
    c.on(c.events.GROUP_JOIN, (e) => {
      this.#generation++;
      this.#workers.clear();
      this.#ready.clear();
      this.#crashed = undefined;
      this.#restoreAssigned(e.payload.memberAssignment);
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
    if (this.#o.idleAdvanceMs > 0) {
      this.#idleTimer = setInterval(() => void this.#idleTick(), this.#o.idleAdvanceMs);
      this.#idleTimer.unref();
    }
  }

  /** Restores the SIP partitions of a new assignment without waiting for records (see the file comment). */
  #restoreAssigned(assignment: Record<string, number[]>): void {
    for (const [topic, partitions] of Object.entries(assignment)) {
      if (this.#kinds.get(topic) !== 'sip') continue;
      for (const partition of partitions) {
        this.#worker(topic, partition, 'sip', this.#hooks(async () => {}), undefined).catch((err: unknown) => {
          if (!isTollgateError(err, AnalyzerErrors.aborted)) this.#o.log.warn({ err, topic, partition }, 'restoring an assigned partition failed; retried on its next batch');
        });
      }
    }
  }

  async #idleTick(): Promise<void> {
    if (this.#idleRunning || this.#stopped) return;
    this.#idleRunning = true;
    try {
      await this.#idleAdvanceAll();
    } catch (err) {
      this.#o.log.warn({ err }, 'idle advance: reading the log end offsets failed; retried on the next tick');
    } finally {
      this.#idleRunning = false;
    }
  }

  async #idleAdvanceAll(): Promise<void> {
    const generation = this.#generation;
    const ends = new Map<string, number>();
    for (const topic of new Set([...this.#ready.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))) {
      if (this.#kinds.get(topic) !== 'sip') continue;
      for (const o of await this.#admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${o.partition}`, Number(o.high));
    }
    for (const [key, w] of this.#ready) {
      const end = ends.get(key);
      if (end === undefined) continue;
      const hooks = { ...this.#hooks(async () => {}), stopped: () => this.#stopped || this.#generation !== generation };
      try {
        await w.idle(Date.now(), end, hooks);
      } catch (err) {
        if (!isTollgateError(err, AnalyzerErrors.aborted)) this.#o.log.warn({ err, partition: key }, 'idle advance failed; retried on the next tick');
      }
    }
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
    const generation = this.#generation;
    try {
      const worker = await this.#worker(topic, partition, kind, hooks, Number(batch.messages[0]!.offset));
      // A seek to an older snapshot makes this batch stale: kafkajs drops it and fetches from the seek position.
      if (!isRunning() || isStale() || generation !== this.#generation) return;
      await worker.process(batch.messages.map((m) => ({ offset: Number(m.offset), value: m.value, timestampMs: Number(m.timestamp) })), hooks);
    } catch (err) {
      if (generation === this.#generation) {
        this.#workers.delete(key);
        this.#ready.delete(key);
      }
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

  /** The partition's worker, restored once per assignment (by the join or by the first batch, whichever is first). */
  #worker(topic: string, partition: number, kind: TopicKind, hooks: RetryHooks, firstFetched: number | undefined): Promise<PartitionWorker> {
    const key = `${topic}:${partition}`;
    let p = this.#workers.get(key);
    if (p === undefined) {
      const generation = this.#generation;
      p = (async () => {
        const worker = this.#newWorker(topic, partition, kind);
        const committed = await this.#committed(topic, partition);
        const first = firstFetched ?? await this.#lowWatermark(topic, partition);
        const { start } = await worker.restore(committed, first, hooks);
        // An older snapshot: replay from it (batches already fetched for the partition turn stale).
        if (start < (committed ?? first)) this.#consumer.seek({ topic, partition, offset: String(start) });
        if (generation === this.#generation) this.#ready.set(key, worker);
        return worker;
      })();
      this.#workers.set(key, p);
      const mine = p;
      p.catch(() => {
        if (this.#workers.get(key) === mine) this.#workers.delete(key);
      });
    }
    return p;
  }

  async #lowWatermark(topic: string, partition: number): Promise<number> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
  }

  /** A batch's events for one topic as records: version-2 containers per target partition, or version 1 (events.ts). */
  async #eventRecords(topic: string, events: readonly (SipEvent | QuarantineEvent)[] | SipEventLines): Promise<OutgoingRecord[]> {
    if (events.length === 0) return [];
    // Lines are only asked for with v2 (#newWorker).
    const records = this.#o.eventsFormat === 'v1' && !(events instanceof SipEventLines)
      ? singleEventRecords(events)
      : containerRecords(events, await this.#partitionCount(topic));
    return records.map((r) => ({ topic, key: r.key, value: r.value }));
  }

  /**
   * The topic's partition count, from metadata at most PARTITIONS_MAX_AGE_MS old. The producer re-reads metadata on
   * its own schedule; should the count grow between the two reads, a container still lands whole on one partition
   * (its first event's), which is the reordering any partition change brings to keyed records anyway.
   */
  #partitionCount(topic: string): Promise<number> {
    const now = Date.now();
    const cached = this.#partitions.get(topic);
    if (cached !== undefined && now - cached.at < PARTITIONS_MAX_AGE_MS) return cached.count;
    // Not fetchTopicMetadata: on a shared kafkajs admin it narrows the cached metadata to this topic, and a
    // concurrent fetchTopicOffsets of another topic (restores, idle advance) then finds no partitions.
    const count = this.#admin.fetchTopicOffsets(topic).then((offsets) => {
      const n = offsets.length;
      if (n < 1) throw new TollgateError(AnalyzerErrors.eventTopicUnknown, `topic ${topic} has no partitions in the cluster metadata`, { topic });
      return n;
    });
    this.#partitions.set(topic, { at: now, count });
    count.catch(() => {
      if (this.#partitions.get(topic)?.count === count) this.#partitions.delete(topic);
    });
    return count;
  }

  #newWorker(topic: string, partition: number, kind: TopicKind): PartitionWorker {
    const k: PartitionKey = { group: this.#o.groupId, topic, partition };
    const state = this.#state;
    const insert = tableWriter(this.#o.store, this.#o.insertFormat ?? 'rowbinary');
    const eventsTopic = topicName(this.#o.topicPrefix, 'sipEvents');
    const quarantineTopic = topicName(this.#o.topicPrefix, 'quarantine');
    const sink: BatchSink = {
      recordRange: (range, rows) => state.recordRange(k, range, rows),
      recordAdvance: (a, rows) => state.recordAdvance(k, a.at, a.toUs, rows),
      advancesFrom: (from) => state.advancesFrom(k, from),
      insert,
      publish: async (sip, quarantine) => {
        const events = this.#events;
        if (events === undefined) return;
        const out = [...await this.#eventRecords(eventsTopic, sip), ...await this.#eventRecords(quarantineTopic, quarantine)];
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
      // The hot path without row and event objects where the formats allow it (partition.ts, PartitionOptions).
      sipRows: (this.#o.insertFormat ?? 'rowbinary') === 'rowbinary' ? 'rowbinary' : 'objects',
      sipEvents: this.#o.events === undefined ? 'none' : this.#o.eventsFormat === 'v1' ? 'objects' : 'lines',
      retentionDays: this.#o.retentionDays,
      onNotKept: (e) => this.#o.log.warn({ topic, partition, notKept: e },
        'rows older than their retention even counted from arrival (or than the rollups\' 400 days of capture time): the store drops them'),
      onDeadLetter: (e) => this.#o.log.error({ topic, partition, ...e },
        'a table refused rows for good (not retried); they are in sip_quarantine with reason store_refused and the partition moved on'),
      onSnapshotError: (err) => this.#o.log.warn({ err, topic, partition }, 'tracker snapshot not saved; a restart replays from an older one'),
    }, sink);
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      this.#stopped = true;
      this.#running = false;
      if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
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
