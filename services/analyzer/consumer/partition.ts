/**
 * One assigned topic-partition: its correlation trackers, the ledger ranges still to be replayed, the records held
 * for an unfinished recorded range, and the batch protocol:
 *
 *   1. ledger row (group, topic, partition, first, last)      — before any data, so a replay can find the cut
 *   2. every table's rows with token <group>:<topic>:<partition>:<first>-<last>:<table>
 *   3. events for the detectors (idempotent producer, at least once, id = topic/partition/offset) — started as
 *      soon as the batch is correlated, alongside 1-2, so the detectors never wait for ClickHouse
 *   4. commit offset last + 1                                  — only after 1-3 were all acknowledged
 *   5. tracker snapshot at offset last + 1 (SIP partitions, at most every snapshotIntervalMs) — bounds the replay
 *
 * Idle advances. A SIP partition without new records still moves its trackers' capture clock (`idle()`), so calls
 * and registrations are written when traffic stops. The clock runs on from the last record at wall-clock speed:
 * watermark = highest capture time + (now − that record's Kafka timestamp) − reorder window, which holds for
 * agents whose clock is years off as well. An advance is taken only when something is due; it is recorded
 * (`recordAdvance`, at the partition's next offset) before its rows are inserted, and a replay applies the
 * recorded advances at the same offsets instead of deciding new ones, so replays stay deterministic.
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
import { DialogTracker, RegistrationTracker, type CallRecord, type DialogTrackerOptions, type RegistrationRecord, type RegistrationTrackerOptions } from '../correlation/index.ts';
import { SipEventLines } from '../event-records.ts';
import type { QuarantineEvent, SipEvent } from '../events.ts';
import type { AnalyzerMetrics } from '../metrics.ts';
import { rowObjects, type RowBlock } from '../store/encoded-rows.ts';
import { callRow, registrationRow, TableRows, type TableName } from '../store/rows.ts';
import type { StoredSnapshot } from '../store/ingest-state.ts';
import { RetentionCheck, RetentionTally } from '../store/retention.ts';
import type { TenantMap } from '../tenants.ts';
import { decodeRecord, sipMessageRows, type DirectSip, type TopicKind } from './decode.ts';
import { dedupToken, planCuts, rangeKey, type OffsetRange } from './plan.ts';
import { isTollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';
import { isRetryable, retryForever, type RetryHooks } from './retry.ts';
import { deadLetterRow, refusalDetail, STORE_REFUSED } from './dead-letter.ts';

export const SNAPSHOT_FORMAT = 1;

export interface InputRecord {
  readonly offset: number;
  readonly value: Buffer | null;
  /** Kafka record timestamp, ms. */
  readonly timestampMs: number;
}

/** A recorded idle advance: the trackers were moved to `toUs` when every record below offset `at` was processed. */
export interface IdleAdvance {
  readonly at: number;
  readonly toUs: number;
}

export interface BatchSink {
  recordRange(range: OffsetRange, rows: number): Promise<void>;
  recordAdvance(advance: IdleAdvance, rows: number): Promise<void>;
  /** Recorded advances with `at ≥ offset`, ascending by (at, toUs). */
  advancesFrom(offset: number): Promise<IdleAdvance[]>;
  /** `rows`: objects, or (`sip_messages` on the hot path) their RowBinary encoding (store/encoded-rows.ts). */
  insert(table: TableName, rows: RowBlock, token: string): Promise<void>;
  /** `sip`: event objects, or (`sipEvents: 'lines'`) their v2 lines. */
  publish(sip: readonly SipEvent[] | SipEventLines, quarantine: readonly QuarantineEvent[]): Promise<void>;
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
  /** Retention days per table (RETENTION_*): rows the store will drop anyway are counted and reported. */
  readonly retentionDays?: Readonly<Record<string, number>>;
  /** Called once per batch with what the store will not keep, by table and reason. */
  readonly onNotKept?: (e: Array<{ table: string; reason: string; n: number }>) => void;
  /** Called when a table refused rows for good and they went to the quarantine (or, failing that, nowhere). */
  readonly onDeadLetter?: (e: { table: TableName; rows: number; detail: string; part: string }) => void;
  /** Called once when a snapshot could not be saved: not fatal (an older snapshot + ledger replay cover it). */
  readonly onSnapshotError?: (err: unknown) => void;
  /**
   * The hot path's shapes (bench/PROFILE.md, "Rows without row objects"): `sip_messages` rows encoded as RowBinary
   * while each message is decoded (`'rowbinary'`, only for a RowBinary insert) or as objects (default); SIP events
   * as their v2 lines (`'lines'`, only for v2 containers), not made at all (`'none'`: events off) or as objects
   * (default). Tokens, bodies and events are the same either way.
   */
  readonly sipRows?: 'objects' | 'rowbinary';
  readonly sipEvents?: 'objects' | 'lines' | 'none';
}

/** What the idle watermark runs from: the highest capture time seen and the Kafka timestamp of that moment. */
interface PartitionClock {
  captureUs: number;
  kafkaMs: number;
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
  #advances: IdleAdvance[] = [];
  /** Tracker drop counters already reported as metrics (the trackers' own counters survive snapshots). */
  #reported: Record<string, number> | undefined;
  #clock: PartitionClock | undefined;
  /** process() and idle() run one at a time. */
  #turn: Promise<unknown> = Promise.resolve();
  readonly #windowUs: number;

  constructor(private readonly o: PartitionOptions, private readonly sink: BatchSink) {
    this.#windowUs = o.dialogs.reorderWindowUs ?? 2_000_000;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn, fn);
    this.#turn = run.catch(() => undefined);
    return run;
  }

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
        const state = JSON.parse(snap.state) as { dialogs: unknown; registrations: unknown; clock?: PartitionClock };
        this.#dialogs.restore(state.dialogs);
        this.#registrations.restore(state.registrations);
        this.#clock = state.clock;
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
    if (this.o.kind === 'sip') {
      this.#advances = await retryForever('reading the idle advances', () => this.sink.advancesFrom(start), hooks);
    }
    this.#held = [];
    this.#reported = undefined;
    this.#reportTrackers();
    this.#seenUpTo = start - 1;
    this.#next = start;
    this.o.metrics?.restores.inc({ source });
    return { start, source };
  }

  /** Processes fetched records in offset order; returns when every complete batch among them is committed. */
  process(records: readonly InputRecord[], hooks: RetryHooks & { highWatermark?: number }): Promise<void> {
    return this.#exclusive(() => this.#process(records, hooks));
  }

  async #process(records: readonly InputRecord[], hooks: RetryHooks & { highWatermark?: number }): Promise<void> {
    const fresh = records.filter((r) => r.offset > this.#seenUpTo);
    if (fresh.length === 0) return;
    this.#seenUpTo = fresh[fresh.length - 1]!.offset;
    const all = this.#held.length > 0 ? [...this.#held, ...fresh] : fresh;
    const plan = planCuts(all.map((r) => r.offset), this.#planned, this.o.maxRows);
    for (const cut of plan.cuts) {
      await this.#replayAdvances(cut.range.first, hooks);
      await this.#batch(all.slice(cut.start, cut.end), cut.range, cut.planned, hooks);
      // After a committed batch (at most every snapshotIntervalMs): a crash resumes from here.
      if (this.o.kind === 'sip') await this.#snapshot();
      await hooks.heartbeat?.();
    }
    this.#held = all.slice(plan.holdFrom);
    this.#planned = plan.remaining;
  }

  /**
   * Moves an idle partition's trackers on (see the file comment): first the recorded advances a replay has reached,
   * then, once nothing recorded is left, a new one when the watermark passes a deadline. `nowMs` is the wall clock,
   * `endOffset` the partition's log end offset (a new advance is only taken when every record was processed).
   * Returns the rows written.
   */
  idle(nowMs: number, endOffset: number, hooks: RetryHooks): Promise<number> {
    return this.#exclusive(async () => {
      if (this.o.kind !== 'sip' || this.#dialogs === undefined || this.#registrations === undefined) return 0;
      // A replay still has recorded ranges or held records ahead: the partition is not idle, only not fetched yet.
      if (this.#held.length > 0 || this.#planned.length > 0) return 0;
      let rows = await this.#replayAdvances(this.#next, hooks);
      // Records waiting in Kafka (a backlog, a restart) are not silence: their capture times decide, not the wall clock.
      if (this.#advances.length > 0 || this.#clock === undefined || this.#next < endOffset) return rows;
      const toUs = this.#clock.captureUs + Math.max(0, nowMs - this.#clock.kafkaMs) * 1000 - this.#windowUs;
      if (toUs <= Math.max(this.#dialogs.clockUs(), this.#registrations.clockUs())) return rows;
      const due = Math.min(this.#dialogs.nextDueUs() ?? Infinity, this.#registrations.nextDueUs() ?? Infinity);
      if (!(due < toUs)) return rows;
      rows += await this.#advance({ at: this.#next, toUs }, false, hooks);
      return rows;
    });
  }

  async #replayAdvances(upTo: number, hooks: RetryHooks): Promise<number> {
    let rows = 0;
    while (this.#advances.length > 0 && this.#advances[0]!.at <= upTo) rows += await this.#advance(this.#advances.shift()!, true, hooks);
    return rows;
  }

  async #advance(a: IdleAdvance, replay: boolean, hooks: RetryHooks): Promise<number> {
    const rows = new TableRows();
    const recv = this.#clock === undefined ? a.toUs : this.#clock.kafkaMs * 1000;
    const tally = this.#tally();
    this.#correlated(this.#dialogs!.advanceTo(a.toUs), this.#registrations!.advanceTo(a.toUs), recv, rows, tally);
    this.#report(tally);
    if (!replay) await retryForever('recording the idle advance', () => this.sink.recordAdvance(a, rows.total), hooks);
    await this.#insertAll(rows, `idle@${a.at}:${a.toUs}`, hooks);
    this.o.metrics?.idleAdvances.inc({ source: replay ? 'replay' : 'idle' });
    await this.#snapshot();
    return rows.total;
  }

  /** `part` names what the rows come from: `<first>-<last>` for a batch, `idle@<at>:<toUs>` for an advance. */
  async #insertAll(rows: TableRows, part: string, hooks: RetryHooks): Promise<void> {
    const { group, topic, partition } = this.o;
    const refused = new Map<TableName, { rows: Readonly<Record<string, unknown>>[]; detail: string }>();
    await Promise.all(rows.entries().filter(([, r]) => r.length > 0).map(([table, r]) =>
      this.#insertOrIsolate(table, r, dedupToken(group, topic, partition, part, table), hooks, (bad, detail) => {
        const e = refused.get(table);
        if (e === undefined) refused.set(table, { rows: rowObjects(bad), detail });
        else e.rows.push(...rowObjects(bad));
      })));
    if (refused.size > 0) await this.#deadLetter(refused, part, hooks);
  }

  /**
   * Inserts `rows` under `token`; when the table refuses them for good, halves the block (tokens `<token>#<lo>-<hi>`,
   * the same on a replay, since a refusal is a function of the rows) until the refused rows are alone, and hands
   * those to `onRefused`. Each refused row costs about two inserts per halving.
   */
  async #insertOrIsolate(
    table: TableName, rows: RowBlock, token: string, hooks: RetryHooks,
    onRefused: (rows: RowBlock, detail: string) => void, lo = 0,
  ): Promise<void> {
    const m = this.o.metrics;
    try {
      await retryForever(`inserting into ${table}`, async () => {
        const ti = performance.now();
        await this.sink.insert(table, rows, token);
        m?.insertSeconds.observe({ table }, (performance.now() - ti) / 1000);
      }, { ...hooks, onFailure: (err, n) => { m?.insertFailures.inc({ table }); hooks.onFailure?.(err, n); } });
      m?.rows.inc({ table }, rows.length);
    } catch (err) {
      // Stopping is not a refusal; neither is a failure that can pass (retryForever only throws those when stopping).
      if (isRetryable(err) || isTollgateError(err, AnalyzerErrors.aborted)) throw err;
      m?.insertFailures.inc({ table });
      const base = token.replace(/#\d+-\d+$/, '');
      if (rows.length === 1) {
        onRefused(rows, refusalDetail(table, err));
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.#insertOrIsolate(table, rows.slice(0, half), `${base}#${lo}-${lo + half - 1}`, hooks, onRefused, lo);
      await this.#insertOrIsolate(table, rows.slice(half), `${base}#${lo + half}-${lo + rows.length - 1}`, hooks, onRefused, lo + half);
    }
  }

  async #deadLetter(refused: Map<TableName, { rows: Readonly<Record<string, unknown>>[]; detail: string }>, part: string, hooks: RetryHooks): Promise<void> {
    const { group, topic, partition } = this.o;
    const m = this.o.metrics;
    for (const [table, { rows, detail }] of refused) {
      m?.deadLetters.inc({ table }, rows.length);
      this.o.onDeadLetter?.({ table, rows: rows.length, detail, part });
      const fallbackUs = Date.now() * 1000;
      const letters: Record<string, unknown>[] = rows.map((r) => ({ ...deadLetterRow(table, r, detail, { topic, partition, fallbackUs }) }));
      const token = `${dedupToken(group, topic, partition, part, 'sip_quarantine')}:refused:${table}`;
      await this.#insertOrIsolate('sip_quarantine', letters, token, hooks, (lost, why) => {
        // Even the quarantine refused them: nothing is left to write to. Counted and logged, never silent.
        m?.unstorable.inc({ table }, lost.length);
        this.o.onDeadLetter?.({ table, rows: lost.length, detail: `not stored anywhere: ${why}`, part });
      });
      m?.quarantined.inc({ reason: STORE_REFUSED }, rows.length);
    }
  }

  async #batch(records: readonly InputRecord[], range: OffsetRange, replay: boolean, hooks: RetryHooks & { highWatermark?: number }): Promise<void> {
    const t0 = performance.now();
    const m = this.o.metrics;
    const rows = new TableRows();
    const sipEvents: SipEvent[] = [];
    const qEvents: QuarantineEvent[] = [];
    const { topic, partition, kind, tenants, sipRows, sipEvents: eventShape } = this.o;
    const direct: DirectSip | undefined = kind === 'sip' && (sipRows === 'rowbinary' || (eventShape ?? 'objects') !== 'objects')
      ? {
        ...(sipRows === 'rowbinary' ? { rows: sipMessageRows(records.length) } : {}),
        ...(eventShape === 'lines' ? { events: new SipEventLines() } : eventShape === 'none' ? { events: 'none' as const } : {}),
      }
      : undefined;
    const tally = this.#tally();
    // One context for the batch, moved along: decodeRecord reads it and keeps nothing of it.
    const ctx = { topic, topicKind: kind, partition, offset: 0, kafkaTimestampMs: 0 };
    for (const r of records) {
      ctx.offset = r.offset;
      ctx.kafkaTimestampMs = r.timestampMs;
      const d = decodeRecord(r.value, ctx, tenants, direct);
      if (d.kind === 'sip') {
        const ts = Number(d.observed.tsUs);
        const recv = r.timestampMs * 1000;
        this.#tick(ts, r.timestampMs);
        if (d.row !== undefined) rows.sip_messages.push(d.row);
        tally?.note('sip_messages', 'sip_messages_minute', ts, d.receivedUs);
        if (d.event !== undefined) sipEvents.push(d.event);
        this.#correlated(this.#dialogs!.observe(d.observed), this.#registrations!.observe(d.observed), recv, rows, tally);
      } else if (d.kind === 'qos') {
        rows.qos.push(...d.rows);
      } else {
        rows.sip_quarantine.push(d.row);
        qEvents.push(d.event);
        m?.quarantined.inc({ reason: d.row.reason });
      }
    }
    if (direct?.rows !== undefined) rows.encoded.sip_messages = direct.rows.done();
    const sip = direct?.events instanceof SipEventLines ? direct.events : sipEvents;
    m?.consumed.inc({ topic }, records.length);
    this.#report(tally);
    if (replay) m?.replayedBatches.inc();

    // The detectors must not wait for ClickHouse: the events go out as soon as the batch is correlated, while the
    // ledger row and the inserts run. Both must be acknowledged before the commit (see the file comment).
    const published = sip.length > 0 || qEvents.length > 0
      ? retryForever('publishing events', () => this.sink.publish(sip, qEvents), hooks)
      : Promise.resolve();
    const stored = (async () => {
      await retryForever('recording the batch in the ingest ledger', () => this.sink.recordRange(range, records.length), hooks);
      await this.#insertAll(rows, rangeKey(range), hooks);
    })();
    await settledBoth(published, stored);
    await this.sink.commit(range.last + 1);
    this.#next = range.last + 1;
    if (m) {
      m.lastCommitAt.ms = Date.now();
      if (hooks.highWatermark !== undefined) m.lag.set({ topic, partition: String(partition) }, Math.max(0, hooks.highWatermark - this.#next));
      m.batchSeconds.observe((performance.now() - t0) / 1000);
    }
  }

  /** Rows of emitted calls and registrations; `recv` is when the record that completed them reached Kafka. */
  #correlated(calls: readonly CallRecord[], regs: readonly RegistrationRecord[], recv: number, rows: TableRows, tally: RetentionTally | undefined): void {
    const { tenants, partition } = this.o;
    for (const c of calls) {
      rows.calls.push(callRow(c, tenants, partition, recv));
      tally?.note('calls', 'calls_minute', c.setup_us, recv);
    }
    for (const g of regs) {
      rows.registrations.push(registrationRow(g, tenants, partition, recv));
      tally?.note('registrations', 'registrations_minute', g.ts_us, recv);
    }
  }

  #tally(): RetentionTally | undefined {
    const days = this.o.retentionDays;
    return days === undefined ? undefined : new RetentionTally(new RetentionCheck(days, Date.now() * 1000));
  }

  /** Adds what the trackers dropped since the last report to the metrics (deltas of their cumulative counters). */
  #reportTrackers(): void {
    const m = this.o.metrics;
    if (m === undefined || this.#dialogs === undefined || this.#registrations === undefined) return;
    const d = this.#dialogs.stats();
    const r = this.#registrations.stats();
    const now: Record<string, number> = {
      'dialogs|unmatched': d.unmatched, 'dialogs|orphans_dropped': d.orphans_dropped, 'dialogs|late': d.late, 'dialogs|evicted': d.evicted,
      'registrations|late': r.late, 'registrations|evicted': r.evicted,
    };
    const before = this.#reported;
    this.#reported = now;
    // The first report after a restore only sets the baseline: the restored counts were reported by the run before.
    if (before === undefined) return;
    for (const [k, v] of Object.entries(now)) {
      const delta = v - (before[k] ?? 0);
      if (delta <= 0) continue;
      const [tracker, reason] = k.split('|') as [string, string];
      m.trackerDropped.inc({ tracker, reason }, delta);
    }
  }

  #report(t: RetentionTally | undefined): void {
    this.#reportTrackers();
    if (t === undefined || t.empty) return;
    const m = this.o.metrics;
    for (const e of t.notKept.values()) m?.notKept.inc({ table: e.table, reason: e.reason }, e.n);
    for (const [table, n] of t.oldCapture) m?.oldCapture.inc({ table }, n);
    if (t.notKept.size > 0) this.o.onNotKept?.([...t.notKept.values()]);
  }

  /** Keeps the idle watermark's origin: the highest capture time and the Kafka timestamp of its record. */
  #tick(captureUs: number, kafkaMs: number): void {
    const c = this.#clock;
    if (c === undefined) this.#clock = { captureUs, kafkaMs };
    else {
      if (captureUs > c.captureUs) c.captureUs = captureUs;
      if (kafkaMs > c.kafkaMs) c.kafkaMs = kafkaMs;
    }
  }

  snapshotState(): string | undefined {
    if (this.#dialogs === undefined || this.#registrations === undefined) return undefined;
    // The text JSON.stringify({ dialogs: snapshot(), registrations: snapshot(), clock }) has always written, built
    // from the trackers' changed-only serialization (bench/PROFILE.md, "Changed-only snapshots").
    const clock = this.#clock === undefined ? '' : `,"clock":${JSON.stringify(this.#clock)}`;
    return `{"dialogs":${this.#dialogs.snapshotJson()},"registrations":${this.#registrations.snapshotJson()}${clock}}`;
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

/**
 * Waits for both steps to finish, however either ends, then throws the first failure. Nothing of a batch is still
 * running when its worker gives the partition up (an early rejection would leave the other step retrying behind it).
 */
async function settledBoth(a: Promise<unknown>, b: Promise<unknown>): Promise<void> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
}
