/**
 * DialogTracker: SIP messages in, one CallRecord per INVITE dialog out, when the call is final.
 *
 * Clock. There is none: `now` is the highest capture timestamp seen (or passed to `advanceTo`). A message may
 * arrive up to `reorderWindowUs` after a message with a later timestamp (several capture agents, Kafka
 * partitions). A call is emitted once `now` is more than one window past its closing time, so every message
 * that could still change the record has arrived by then; the record is computed from order-independent facts
 * (see dialog-facts.ts), so any arrival order within the window yields the same record.
 *
 * Closing time, by what is known: BYE + settle; a caller-facing final + settle (+ the setup timeout after 401/407,
 * the retry window after 3xx, 422, 491, so that an authenticated retry — however long the user took to type the
 * password — or a followed redirect on the same Call-ID and From-tag stays one call); last message + setup timeout when no final came; for answered calls without BYE, the earlier of
 * last message + idle timeout and answer + maximum duration.
 *
 * Identity. A call is Call-ID + the caller's From-tag. Forked answers with other To-tags and every proxy hop's
 * copy (same Call-ID and tags, more Vias) are the same call; `hops` counts the capture points. Messages whose
 * INVITE has not been seen are held as orphans for two windows, then dropped and counted. After emission a
 * tombstone swallows stragglers (retransmitted finals, late ACKs) for `tombstoneUs`.
 *
 * Memory. At most `maxDialogs` open calls: opening one more emits the oldest with end_reason `evicted` (counted).
 * At most `maxOrphans` held messages and 16 INVITE transactions per call; beyond that, input is dropped and counted.
 */
import type { ObservedSip } from './observed.ts';
// When tsx loads these modules as CommonJS (it can, depending on the entry script), every use of an imported name is a getter call on the exporting
// module's exports object; the hot ones are bound once, at load.
import * as observed from './observed.ts';
import { DeadlineScheduler, type DeadlineSource } from './deadlines.ts';
import * as common from './common.ts';
import * as facts from './dialog-facts.ts';
import type { CallEndReason, CallEvent, CallFacts, CallRecord, TrackerTimes } from './dialog-facts.ts';

const { toUs } = observed;
const { badSnapshot, CallIdIndex, checkUs, EntryJson, RecordOutbox } = common;
const { ORPHAN_METHODS, applyEvent, buildRecord, callKey, closeAtUs, completeEvent, isCallMethod, lastCloseReason, newCall, toCallEvent } = facts;

export interface DialogTrackerOptions {
  /** How far out of timestamp order messages may arrive. Default 2 s. */
  readonly reorderWindowUs?: number;
  /** After 3xx, 422 or 491, how long a new INVITE with a higher CSeq still continues the call. Default 10 s.
   * After 401/407 it is `setupTimeoutUs`: a person answering a password prompt takes tens of seconds. */
  readonly retryWindowUs?: number;
  /** Unanswered call with no caller-facing final: closed this long after its last message. Default 180 s. */
  readonly setupTimeoutUs?: number;
  /** Answered call without BYE: closed this long after its last message (re-INVITE/UPDATE refreshes count). Default 2 h. */
  readonly answeredIdleTimeoutUs?: number;
  /** Answered call without BYE: closed at answer + this, whatever its activity. Default 4 h. */
  readonly maxCallDurationUs?: number;
  /** How long an emitted call's identity keeps absorbing stragglers. Default 64 s (2 × Timer B). */
  readonly tombstoneUs?: number;
  /** Open calls kept at most. Default 100 000. */
  readonly maxDialogs?: number;
  /** Messages held waiting for their INVITE at most. Default 10 000. */
  readonly maxOrphans?: number;
  /** Headers carrying the A-leg Call-ID, in priority order, tried before the HEP correlation id and the
   * P-Charging-Vector icid (heplify-server calls this list AlegIDs). Default `['X-CID']`. */
  readonly linkHeaders?: readonly string[];
}

export interface DialogTrackerStats {
  messages: number;
  /** Not an INVITE-dialog method (REGISTER, OPTIONS, SUBSCRIBE, MESSAGE ...). */
  ignored: number;
  /** In-dialog requests for calls never seen (capture started mid-call), not worth holding. */
  unmatched: number;
  calls_opened: number;
  records: number;
  orphans_held: number;
  orphans_adopted: number;
  orphans_dropped: number;
  /** Messages for calls already emitted, swallowed by their tombstone. */
  late: number;
  evicted: number;
  open_calls: number;
  open_orphans: number;
}

interface Tomb {
  maxCseq: number;
  until: number;
}

export interface DialogSnapshot {
  readonly v: 1;
  readonly kind: 'dialogs';
  readonly now: number;
  readonly nextSweep: number;
  readonly calls: CallFacts[];
  readonly orphans: [string, CallEvent[]][];
  readonly tombs: [string, Tomb][];
  readonly stats: DialogTrackerStats;
}

const NEVER = Number.MIN_SAFE_INTEGER;

function maxInitialCseq(c: CallFacts): number {
  let max = 0;
  for (const t of c.txns) if (t.initial && t.cseq > max) max = t.cseq;
  return max;
}

function emptyStats(): DialogTrackerStats {
  return {
    messages: 0, ignored: 0, unmatched: 0, calls_opened: 0, records: 0, orphans_held: 0, orphans_adopted: 0,
    orphans_dropped: 0, late: 0, evicted: 0, open_calls: 0, open_orphans: 0,
  };
}

export class DialogTracker implements DeadlineSource {
  private readonly windowUs: number;
  private readonly times: TrackerTimes;
  private readonly tombstoneUs: number;
  private readonly maxDialogs: number;
  private readonly maxOrphans: number;
  private readonly linkHeaders: readonly string[];

  private now = NEVER;
  private nextSweep = NEVER;
  private calls = new Map<string, CallFacts>();
  /** The open calls of each Call-ID (usually one): finds a message's call without building its key string. */
  private readonly byCallId = new CallIdIndex<CallFacts>();
  /** Records emitted by the current call, allocated only when there is one. */
  private readonly outbox = new RecordOutbox<CallRecord>();
  private orphans = new Map<string, CallEvent[]>();
  private orphanCount = 0;
  private tombs = new Map<string, Tomb>();
  private deadlines = new DeadlineScheduler();
  private counters = emptyStats();
  /** Snapshot text of open calls and tombstones not changed since the last snapshot (`snapshotJson`). */
  private readonly callJson = new EntryJson<CallFacts>();
  private readonly tombJson = new EntryJson<Tomb>();

  constructor(options: DialogTrackerOptions = {}) {
    this.windowUs = checkUs('reorderWindowUs', options.reorderWindowUs ?? 2_000_000);
    this.times = {
      settleUs: this.windowUs,
      retryWindowUs: checkUs('retryWindowUs', options.retryWindowUs ?? 10_000_000),
      setupTimeoutUs: checkUs('setupTimeoutUs', options.setupTimeoutUs ?? 180_000_000),
      answeredIdleUs: checkUs('answeredIdleTimeoutUs', options.answeredIdleTimeoutUs ?? 7_200_000_000),
      maxDurationUs: checkUs('maxCallDurationUs', options.maxCallDurationUs ?? 14_400_000_000),
    };
    this.tombstoneUs = checkUs('tombstoneUs', options.tombstoneUs ?? 64_000_000);
    this.maxDialogs = checkUs('maxDialogs', options.maxDialogs ?? 100_000, 1);
    this.maxOrphans = checkUs('maxOrphans', options.maxOrphans ?? 10_000);
    this.linkHeaders = [...(options.linkHeaders ?? ['X-CID'])];
  }

  /** Feeds one message; returns the calls that became final before its timestamp (possibly none). The empty
   * result is a shared frozen array: read it, do not push into it. */
  observe(o: ObservedSip): readonly CallRecord[] {
    const ts = toUs(o.tsUs);
    if (ts > this.now) this.advance(ts);
    this.counters.messages++;
    const m = o.message;
    const method = m.kind === 'request' ? m.method : m.cseq.method;
    if (isCallMethod(method)) this.route(toCallEvent(o, ts, this.linkHeaders), o);
    else this.counters.ignored++;
    return this.outbox.take();
  }

  /** Declares that capture time has reached `tsUs` (idle consumer, shutdown replay); closes due calls. */
  advanceTo(tsUs: bigint | number): readonly CallRecord[] {
    const ts = toUs(tsUs);
    if (ts > this.now) this.advance(ts);
    return this.outbox.take();
  }

  /** DeadlineSource: a call's real deadline, undefined once emitted. */
  realDue(key: string): number | undefined {
    const c = this.calls.get(key);
    return c === undefined ? undefined : closeAtUs(c, this.times) + this.windowUs;
  }

  private find(callId: string, tag: string): CallFacts | undefined {
    const list = this.byCallId.get(callId);
    if (list !== undefined) for (const c of list) if (c.callerTag === tag) return c;
    return undefined;
  }

  /** The tracker's capture clock (µs): the highest timestamp observed or advanced to. */
  clockUs(): number {
    return this.now;
  }

  /** A lower bound of the earliest moment (µs) at which advancing would emit a call; undefined when none is open. */
  nextDueUs(): number | undefined {
    return this.deadlines.next();
  }

  stats(): DialogTrackerStats {
    return { ...this.counters, open_calls: this.calls.size, open_orphans: this.orphanCount };
  }

  snapshot(): DialogSnapshot {
    const snap: DialogSnapshot = {
      v: 1,
      kind: 'dialogs',
      now: this.now,
      nextSweep: this.nextSweep,
      calls: [...this.calls.values()],
      orphans: [...this.orphans.entries()],
      tombs: [...this.tombs.entries()],
      stats: this.stats(),
    };
    return structuredClone(snap);
  }

  /**
   * `JSON.stringify(this.snapshot())`, character for character, without the copy: open calls and tombstones are
   * serialized only when they changed since the previous snapshot (`EntryJson`), the others' text is reused.
   */
  snapshotJson(): string {
    const calls: string[] = [];
    for (const c of this.calls.values()) calls.push(this.callJson.get(c) ?? this.callJson.keep(c, JSON.stringify(c)));
    const tombs: string[] = [];
    // A tombstone object is never changed and belongs to one key: its text is that of its [key, tomb] entry.
    for (const [key, t] of this.tombs) tombs.push(this.tombJson.get(t) ?? this.tombJson.keep(t, JSON.stringify([key, t])));
    return `{"v":1,"kind":"dialogs","now":${JSON.stringify(this.now)},"nextSweep":${JSON.stringify(this.nextSweep)},` +
      `"calls":[${calls.join(',')}],"orphans":${JSON.stringify([...this.orphans.entries()])},"tombs":[${tombs.join(',')}],` +
      `"stats":${JSON.stringify(this.stats())}}`;
  }

  /** Replaces all state with a snapshot's; options stay those of this instance. */
  restore(snapshot: unknown): void {
    const s = snapshot as Partial<DialogSnapshot> | null;
    if (s === null || typeof s !== 'object' || s.v !== 1 || s.kind !== 'dialogs' || typeof s.now !== 'number' ||
      typeof s.nextSweep !== 'number' || !Array.isArray(s.calls) || !Array.isArray(s.orphans) ||
      !Array.isArray(s.tombs) || s.stats === undefined) {
      throw badSnapshot('not a version 1 dialog tracker snapshot');
    }
    const copy = structuredClone(s as DialogSnapshot);
    this.now = copy.now;
    this.nextSweep = copy.nextSweep;
    this.calls = new Map(copy.calls.map((c) => [c.key, c]));
    this.byCallId.clear();
    for (const c of this.calls.values()) this.byCallId.add(c);
    this.orphans = new Map(copy.orphans);
    this.orphanCount = copy.orphans.reduce((n, [, l]) => n + l.length, 0);
    this.tombs = new Map(copy.tombs);
    this.counters = { ...emptyStats(), ...copy.stats };
    this.callJson.clear();
    this.tombJson.clear();
    this.deadlines.clear();
    for (const c of this.calls.values()) this.schedule(c);
  }

  private route(e: CallEvent, o: ObservedSip): void {
    const c = this.find(e.callId, e.fromTag) ?? (e.toTag !== '' ? this.find(e.callId, e.toTag) : undefined);
    if (c !== undefined) {
      // A message captured after the call's closing time does not belong to it, whichever order it arrived
      // in: anything that arrived before the closing message is earlier than closing + settle (settle equals
      // the reorder window), so this test gives the same answer for every order within the window.
      const closeUs = closeAtUs(c, this.times);
      if (e.ts <= closeUs) {
        applyEvent(c, e);
        this.callJson.changed(c);
        this.schedule(c);
        return;
      }
      const reason = lastCloseReason();
      if (e.invite === null || e.fromTag !== c.callerTag || e.cseq <= maxInitialCseq(c)) {
        this.counters.late++;
        return;
      }
      // A new attempt after the old one closed (e.g. a retry past the retry window): close the old one now.
      this.outbox.push(this.emit(c, reason));
    }
    const fromKey = callKey(e.callId, e.fromTag);
    const tomb = this.tombs.get(fromKey) ?? (e.toTag !== '' ? this.tombs.get(callKey(e.callId, e.toTag)) : undefined);
    if (tomb !== undefined) {
      // A new initial INVITE after the retry window is a new call on purpose; anything else is a straggler.
      if (e.invite !== null && e.cseq > tomb.maxCseq && this.tombs.get(fromKey) === tomb) {
        this.tombs.delete(fromKey);
      } else {
        this.counters.late++;
        return;
      }
    }
    if (e.invite !== null) {
      this.open(e);
      return;
    }
    if (!ORPHAN_METHODS.has(e.method)) {
      this.counters.unmatched++;
      return;
    }
    if (this.orphanCount >= this.maxOrphans) {
      this.counters.orphans_dropped++;
      return;
    }
    completeEvent(e, o);
    const list = this.orphans.get(e.callId);
    if (list === undefined) this.orphans.set(e.callId, [e]);
    else list.push(e);
    this.orphanCount++;
    this.counters.orphans_held++;
  }

  private open(e: CallEvent): void {
    if (this.calls.size >= this.maxDialogs) {
      const oldest = this.calls.values().next().value;
      if (oldest !== undefined) {
        this.counters.evicted++;
        this.outbox.push(this.emit(oldest, 'evicted'));
      }
    }
    const c = newCall(e);
    this.calls.set(c.key, c);
    this.byCallId.add(c);
    this.counters.calls_opened++;
    applyEvent(c, e);
    const held = this.orphans.get(e.callId);
    if (held !== undefined) {
      const keep: CallEvent[] = [];
      for (const o of held) {
        if (o.fromTag === c.callerTag || o.toTag === c.callerTag) {
          applyEvent(c, o);
          this.counters.orphans_adopted++;
          this.orphanCount--;
        } else {
          keep.push(o);
        }
      }
      if (keep.length === 0) this.orphans.delete(e.callId);
      else this.orphans.set(e.callId, keep);
    }
    this.schedule(c);
  }

  private schedule(c: CallFacts): void {
    this.deadlines.schedule(c.key, closeAtUs(c, this.times) + this.windowUs);
  }

  private advance(ts: number): void {
    this.now = ts;
    const due = this.deadlines.takeDue(ts, this);
    for (let i = 0; i < due.length; i++) {
      const c = this.calls.get(due[i]!)!;
      closeAtUs(c, this.times);
      this.outbox.push(this.emit(c, lastCloseReason()));
    }
    if (ts >= this.nextSweep) this.sweep(ts);
  }

  private emit(c: CallFacts, reason: CallEndReason): CallRecord {
    this.calls.delete(c.key);
    this.byCallId.remove(c);
    this.deadlines.remove(c.key);
    this.tombs.delete(c.key);
    this.tombs.set(c.key, { maxCseq: maxInitialCseq(c), until: this.now + this.tombstoneUs });
    this.counters.records++;
    return buildRecord(c, reason);
  }

  /** Expires orphans and tombstones; runs at most once per window of capture time. */
  private sweep(now: number): void {
    this.nextSweep = now + Math.max(this.windowUs, 1);
    const orphanLimit = now - 2 * this.windowUs;
    for (const [callId, list] of this.orphans) {
      let old = 0;
      for (const e of list) if (e.ts < orphanLimit) old++;
      if (old === 0) continue;
      const keep = list.filter((e) => e.ts >= orphanLimit);
      const dropped = list.length - keep.length;
      this.orphanCount -= dropped;
      this.counters.orphans_dropped += dropped;
      if (keep.length === 0) this.orphans.delete(callId);
      else this.orphans.set(callId, keep);
    }
    // Tombstones are inserted with non-decreasing `until`, so the expired ones are a prefix.
    for (const [key, t] of this.tombs) {
      if (t.until >= now) break;
      this.tombs.delete(key);
    }
  }
}
