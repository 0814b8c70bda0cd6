/**
 * One CDR per call leg: its timing from CHANNEL_HANGUP_COMPLETE (or mod_json_cdr, or an estimate after a lost
 * socket), its parties and ids, and its rating. Revisions of the same leg share the Unique-ID and carry a growing
 * `version`; the `cdrs` table keeps the latest (ReplacingMergeTree), so writing a revision twice is harmless.
 */
import type { CallFacts, Headers, Reqtype } from './call.ts';

export type TimingSource = 'event' | 'json_cdr' | 'estimated';
export type RatingStatus = 'rated' | 'pending' | 'failed' | 'not_rated' | 'unanswered';
export type Disposition = 'answered' | 'busy' | 'no_answer' | 'cancelled' | 'refused' | 'failed';

export interface LegTiming {
  readonly createdUs: number;
  readonly answeredUs: number;
  readonly endedUs: number;
  readonly progressMediaMs: number;
  readonly hangupCause: string;
  readonly q850: number;
  readonly sipDisposition: string;
  readonly sipTermStatus: string;
  readonly source: TimingSource;
}

export interface CdrRecord {
  readonly facts: CallFacts;
  readonly timing: LegTiming;
  /** The park decision (`credit`, `no_credit`, `fail_open`, `not_prepaid`, ... or `none` when never parked with us). */
  readonly decision: string;
  readonly maxUsageMs: number;
  readonly sessionInitiated: boolean;
  sessionTerminated: boolean;
  ratingStatus: RatingStatus;
  ratingError: string;
  ratingAttempts: number;
  cost: number | null;
  costSource: string;
  cgrId: string;
  ratingDetails: string;
}

const BUSY = new Set(['USER_BUSY', 'NORMAL_CIRCUIT_CONGESTION', 'SWITCH_CONGESTION']);
const NO_ANSWER = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'ALLOTTED_TIMEOUT', 'PROGRESS_TIMEOUT', 'RECOVERY_ON_TIMER_EXPIRE']);
const CANCELLED = new Set(['ORIGINATOR_CANCEL', 'LOSE_RACE', 'PICKED_OFF']);

export function disposition(t: Pick<LegTiming, 'answeredUs' | 'hangupCause'>, refused: boolean): Disposition {
  if (t.answeredUs > 0) return 'answered';
  if (refused) return 'refused';
  if (BUSY.has(t.hangupCause)) return 'busy';
  if (NO_ANSWER.has(t.hangupCause) || t.hangupCause === 'NORMAL_CLEARING') return 'no_answer';
  if (CANCELLED.has(t.hangupCause)) return 'cancelled';
  return 'failed';
}

/** Billed milliseconds: answer → end, 0 when never answered. */
export function billMs(t: Pick<LegTiming, 'answeredUs' | 'endedUs'>): number {
  return t.answeredUs > 0 && t.endedUs > t.answeredUs ? Math.floor((t.endedUs - t.answeredUs) / 1000) : 0;
}

/**
 * The usage sent to CGRateS. A call cut at its authorized usage ends a few milliseconds after it (the switch's
 * scheduler), which per-second increments would round up to one more second than the credit covered: that overshoot
 * (under one second) is ours, not the caller's, so the usage is capped at what was authorized.
 */
export function billableMs(t: Pick<LegTiming, 'answeredUs' | 'endedUs'>, maxUsageMs: number): number {
  const ms = billMs(t);
  return maxUsageMs > 0 && ms > maxUsageMs && ms - maxUsageMs < 1000 ? maxUsageMs : ms;
}

/** Timing of a CHANNEL_HANGUP_COMPLETE event (or anything with the same variable names). */
export function timingFromHangup(h: Headers, source: TimingSource): LegTiming {
  const v = (n: string): string | undefined => h[`variable_${n}`];
  const createdUs = int(h['Caller-Channel-Created-Time']) || int(v('start_uepoch'));
  const answeredUs = int(h['Caller-Channel-Answered-Time']) || int(v('answer_uepoch'));
  const endedUs = int(h['Caller-Channel-Hangup-Time']) || int(v('end_uepoch'));
  const media = int(v('progress_mediamsec')) || int(v('progressmsec'));
  const cause = h['Hangup-Cause'] ?? v('hangup_cause') ?? 'NORMAL_CLEARING';
  return {
    createdUs, answeredUs, endedUs, progressMediaMs: media, hangupCause: cause, q850: int(v('hangup_cause_q850')),
    sipDisposition: v('sip_hangup_disposition') ?? '', sipTermStatus: v('sip_term_status') ?? '', source,
  };
}

/**
 * A mod_json_cdr document → the header names of an ESL event, so the same fact and timing readers apply. Values
 * are URL-encoded when mod_json_cdr's `encode-values` is on (its default); decoding plain text is harmless.
 */
export function headersFromJsonCdr(doc: unknown): Record<string, string> {
  if (typeof doc !== 'object' || doc === null) throw new TypeError('a JSON CDR is an object');
  const d = doc as { variables?: Record<string, unknown>; callflow?: unknown };
  if (typeof d.variables !== 'object' || d.variables === null) throw new TypeError('a JSON CDR has a "variables" object');
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(d.variables)) {
    if (typeof raw !== 'string' && typeof raw !== 'number') continue;
    out[`variable_${k}`] = decode(String(raw));
  }
  const flow = Array.isArray(d.callflow) ? d.callflow[0] : d.callflow;
  const profile = (flow as { caller_profile?: Record<string, unknown> } | undefined)?.caller_profile ?? {};
  const str = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? decode(x) : undefined);
  const uuid = out['variable_uuid'] ?? str(profile['uuid']);
  if (!uuid) throw new TypeError('a JSON CDR names its channel in variables.uuid');
  out['Unique-ID'] = uuid;
  const dest = str(profile['destination_number']);
  if (dest) out['Caller-Destination-Number'] = dest;
  const cid = str(profile['caller_id_number']);
  if (cid) out['Caller-Caller-ID-Number'] = cid;
  const user = str(profile['username']);
  if (user) out['Caller-Username'] = user;
  const ctx = str(profile['context']);
  if (ctx) out['Caller-Context'] = ctx;
  if (out['variable_hangup_cause']) out['Hangup-Cause'] = out['variable_hangup_cause'];
  return out;
}

/** The leg billed up to the last moment it was known to be up (the socket was lost and no CDR came). */
export function estimatedTiming(known: { createdUs: number; answeredUs: number }, lastKnownUpUs: number): LegTiming {
  return {
    createdUs: known.createdUs, answeredUs: known.answeredUs, endedUs: Math.max(lastKnownUpUs, known.answeredUs, known.createdUs),
    progressMediaMs: 0, hangupCause: 'UNKNOWN_ESTIMATED', q850: 0, sipDisposition: '', sipTermStatus: '', source: 'estimated',
  };
}

function int(v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function isAnswered(t: Pick<LegTiming, 'answeredUs'>): boolean {
  return t.answeredUs > 0;
}

export function reqtypeIsRated(r: Reqtype): boolean {
  return r !== '*none';
}
