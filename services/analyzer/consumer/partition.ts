/**
 * One assigned topic-partition: its correlation trackers, the ledger ranges still to be replayed, the records held
 * for an unfinished recorded range, and the batch protocol:
 *
 *   1. ledger row (group, topic, partition, first, last)      — before any data, so a replay can find the cut
 *   2. every table's rows with token <group>:<topic>:<partition>:<first>-<last>:<table>
 *   3. events for the detectors (idempotent producer, at least once, id = topic/partition/offset)
 *   4. commit offset last + 1                                  — only after 1-3 were acknowledged
 *   5. tracker snapshot at offset last + 1 (SIP partitions, at most every snapshotIntervalMs) — bounds the replay
 *
 * The guarantee: every record of the partition ends up in ClickHouse exactly once per table (same token on
 * replay → dropped by ClickHouse), and the trackers see every record exactly once in offset order from a
 * snapshot taken at a batch boundary, so calls and registrations are also emitted exactly once. It holds as long
 * as a replayed range is still within the table's deduplication window and the ledger's TTL, and only one
 * consumer processes a partition at a time (a member that outlives its session is fenced by the commit failing,
 * but its in-flight inserts are not: keep the session timeout above the worst batch latency).
 *
 * Everything about Kafka and ClickHouse is behind `BatchSink`, so the protocol is tested without either.
 */
import { DialogTracker, RegistrationTracker, type DialogTrackerOptions, type RegistrationTrackerOptions } from '../correlation/index.ts';
import type { QuarantineEvent, SipEvent } from '../events.ts';
import type { AnalyzerMetrics } from '../metrics.ts';
import { callRow, registrationRow, TableRows, type TableName } from '../store/rows.ts';
import type { StoredSnapshot } from '../store/ingest-state.ts';
import type { TenantMap } from '../tenants.ts';
import { decodeRecord, type TopicKind } from './decode.ts';
import { dedupToken, planCuts, type OffsetRange } from './plan.ts';
import { retryForever, type RetryHooks } from './retry.ts';

export const SNAPSHOT_FORMAT = 1;

export interface InputRecord {
  readonly offset: number;
  readonly value: Buffer | null;
  /** Kafka record timestamp, ms. */
  readonly timestampMs: number;
}

export interface BatchSink {
  recordRange(range: OffsetRange, rows: number): Promise<void>;
  insert(table: TableName, rows: readonly Record<string, unknown>[], token: string): Promise<void>;
  publish(sip: readonly SipEvent[], quarantine: readonly QuarantineEvent[]): Promise<void>;
  /** Kafka commit of the next offset to read. Failures (a rebalance) propagate: the partition is given up. */
  commit(nextOffset: number): Promise<void>;
  saveSnapshot(offset: number, state: string): Promise<void>;
  latestSnapshot(atMost: number): Promise<StoredSnapshot | undefined>;
  rangesFrom(offset: number): Promise<OffsetRange[]>;
}

export interface PartitionOptions {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly kind: TopicKind;
  readonly maxRows: number;
  readonly tenants: TenantMap;
  readonly dialogs: DialogTrackerOptions;
  readonly registrations: RegistrationTrackerOptions;
  readonly metrics?: AnalyzerMetrics;
  /** Least time between two snapshots of the partition; 0 snapshots after every committed batch. A restart
   * replays (deduplicated) from the newest snapshot, so this bounds the replay, not correctness. */
  readonly snapshotIntervalMs?: number;
  /** Called once when a snapshot could not be saved: not fatal (an older snapshot + ledger replay cover it). */
  readonly onSnapshotError?: (err: unknown) => void;
}

export type RestoreSource = 'snapshot' | 'snapshot_replay' | 'fresh' | 'no_snapshot' | 'stateless';

export class PartitionWorker {
  #dialogs: DialogTracker | undefined;
  #registrations: RegistrationTracker | undefined;
  #planned: OffsetRange[] = [];
  #held: InputRecord[] = [];
  /** Highest offset handed to us; later deliveries at or below it are ignored. */
  #seenUpTo = -1;
  #next = 0;
  #lastSnapshotAt = 0;

  constructor(private readonly o: PartitionOptions, private readonly sink: BatchSink) {}

  get nextOffset(): number {
    return this.#next;
  }

  /**
   * Decides where this partition resumes. `committed` is the group's committed offset (undefined when none, then
   * `firstAvailable` is where the fetch started). Returns the offset to read from: when it is below the fetch
   * position, the caller seeks there (a replay from an older snapshot, deduplicated through the ledger).
   */
  async restore(committed: number | undefined, firstAvailable: number, hooks: RetryHooks): Promise<{ start: number; source: RestoreSource }> {
    const resume = committed ?? firstAvailable;
    let start = resume;
    let source: RestoreSource = 'stateless';
    if (this.o.kind === 'sip') {
      this.#dialogs = new DialogTracker(this.o.dialogs);
      this.#registrations = new RegistrationTracker(this.o.registrations);
      const snap = await retryForever('reading the tracker snapshot', () => this.sink.latestSnapshot(resume), hooks);
      if (snap !== undefined && snap.format === SNAPSHOT_FORMAT) {
        const state = JSON.parse(snap.state) as { dialogs: unknown; registrations: unknown };
        this.#dialogs.restore(state.dialogs);
        this.#registrations.restore(state.registrations);
        start = snap.offset;
        source = snap.offset === resume ? 'snapshot' : 'snapshot_replay';
      } else if (committed !== undefined) {
        // Offsets were committed but no snapshot survives (lost, expired, or a crash before the first one): rebuild
        // the trackers by replaying from the first recorded range. Every range up to the committed offset is in the
        // ledger, so the replay is cut identically and deduplicated; only history older than the ledger is gone.
        const all = await retryForever('reading the ingest ledger', () => this.sink.rangesFrom(0), hooks);
        if (all[0] !== undefined && all[0].first < resume) start = all[0].first;
        source = 'no_snapshot';
      } else {
        source = 'fresh';
      }
    }
    this.#planned = await retryForever('reading the ingest ledger', () => this.sink.rangesFrom(start), hooks);
    this.#held = [];
    this.#seenUpTo = start - 1;
    this.#next = start;
    this.o.metrics?.restores.inc({ source });
    return { start, source };
  }

  /** Processes fetched records in offset order; returns when every complete batch among them is committed. */
  async process(records: readonly InputRecord[], hooks: RetryHooks & { highWatermark?: number }): Promise<void> {
    const fresh = records.filter((r) => r.offset > this.#seenUpTo);
    if (fresh.length === 0) return;
    this.#seenUpTo = fresh[fresh.length - 1]!.offset;
    const all = this.#held.length > 0 ? [...this.#held, ...fresh] : fresh;
    const plan = planCuts(all.map((r) => r.offset), this.#planned, this.o.maxRows);
    for (const cut of plan.cuts) {
      await this.#batch(all.slice(cut.start, cut.end), cut.range, cut.planned, hooks);
      // After a committed batch (at most every snapshotIntervalMs): a crash resumes from here.
      if (this.o.kind === 'sip') await this.#snapshot();
      await hooks.heartbeat?.();
    }
    this.#held = all.slice(plan.holdFrom);
    this.#planned = plan.remaining;
  }

  async #batch(records: readonly InputRecord[], range: OffsetRange, replay: boolean, hooks: RetryHooks & { highWatermark?: number }): Promise<void> {
    const t0 = performance.now();
    const m = this.o.metrics;
    const rows = new TableRows();
    const sipEvents: SipEvent[] = [];
    const qEvents: QuarantineEvent[] = [];
    const { topic, partition, kind, tenants } = this.o;
    for (const r of records) {
      const d = decodeRecord(r.value, { topic, topicKind: kind, partition, offset: r.offset, kafkaTimestampMs: r.timestampMs }, tenants);
      if (d.kind === 'sip') {
        rows.sip_messages.push(d.row);
        sipEvents.push(d.event);
        for (const c of this.#dialogs!.observe(d.observed)) rows.calls.push(callRow(c, tenants, partition));
        for (const g of this.#registrations!.observe(d.observed)) rows.registrations.push(registrationRow(g, tenants, partition));
      } else if (d.kind === 'qos') {
        rows.qos.push(...d.rows);
      } else {
        rows.sip_quarantine.push(d.row);
        qEvents.push(d.event);
        m?.quarantined.inc({ reason: d.row.reason });
      }
    }
    m?.consumed.inc({ topic }, records.length);
    if (replay) m?.replayedBatches.inc();

    await retryForever('recording the batch in the ingest ledger', () => this.sink.recordRange(range, records.length), hooks);
    await Promise.all(rows.entries().filter(([, r]) => r.length > 0).map(([table, r]) =>
      retryForever(`inserting into ${table}`, async () => {
        const ti = performance.now();
        await this.sink.insert(table, r, dedupToken(this.o.group, topic, partition, range, table));
        m?.insertSeconds.observe({ table }, (performance.now() - ti) / 1000);
      }, { ...hooks, onFailure: (err, n) => { m?.insertFailures.inc({ table }); hooks.onFailure?.(err, n); } })
        .then(() => m?.rows.inc({ table }, r.length))));
    if (sipEvents.length > 0 || qEvents.length > 0) {
      await retryForever('publishing events', () => this.sink.publish(sipEvents, qEvents), hooks);
    }
    await this.sink.commit(range.last + 1);
    this.#next = range.last + 1;
    if (m) {
      m.lastCommitAt.ms = Date.now();
      if (hooks.highWatermark !== undefined) m.lag.set({ topic, partition: String(partition) }, Math.max(0, hooks.highWatermark - this.#next));
      m.batchSeconds.observe((performance.now() - t0) / 1000);
    }
  }

  snapshotState(): string | undefined {
    if (this.#dialogs === undefined || this.#registrations === undefined) return undefined;
    return JSON.stringify({ dialogs: this.#dialogs.snapshot(), registrations: this.#registrations.snapshot() });
  }

  async #snapshot(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastSnapshotAt < (this.o.snapshotIntervalMs ?? 0)) return;
    this.#lastSnapshotAt = now;
    const state = this.snapshotState();
    if (state === undefined) return;
    try {
      await this.sink.saveSnapshot(this.#next, state);
    } catch (err) {
      this.o.onSnapshotError?.(err);
    }
  }
}
