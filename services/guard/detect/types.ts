/**
 * What the detectors see and what they say. Events come from the analyzer's `sip.events` / `sip.quarantine`
 * streams; a detector turns them into findings ("this subject is over that threshold now"), and the alert book
 * (../alerts.ts) turns findings into de-duplicated alerts.
 */
import type { QuarantineEvent, SipEvent } from '../../analyzer/events.ts';

export type { QuarantineEvent, SipEvent };

export type DetectorName = 'flood' | 'scanner' | 'bruteforce' | 'tollfraud' | 'malformed';
export const DETECTORS: readonly DetectorName[] = ['flood', 'scanner', 'bruteforce', 'tollfraud', 'malformed'];

export type Severity = 'warning' | 'critical';
export type SubjectKind = 'ip' | 'account' | 'prefix' | 'tenant';

export interface Subject {
  readonly kind: SubjectKind;
  readonly value: string;
}

export interface Finding {
  readonly detector: DetectorName;
  /** Which rule of the detector fired, e.g. `per_source`, `tool_ua`, `distributed`, `cpm`. */
  readonly rule: string;
  readonly severity: Severity;
  readonly subject: Subject;
  readonly tenant: string;
  /** Event time (ms since epoch) of the event that crossed the threshold. */
  readonly at: number;
  /** Sources to block (empty: alert only). Allowlisted sources are already removed. */
  readonly block: readonly string[];
  readonly evidence: Evidence;
}

export interface Evidence {
  readonly count: number;
  readonly threshold: number;
  readonly windowMs: number;
  readonly detail: string;
  readonly callIds: readonly string[];
  readonly extra?: Readonly<Record<string, string | number>>;
}

/**
 * Event time in ms from the analyzer's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC); NaN when it is not that. The usual form is
 * read digit by digit (the engine reads every event's time, and building an ISO string for `Date.parse` was ~1 µs of
 * an event's CPU: bench/PROFILE.md, "Guard: where an event's CPU goes"); anything else goes to `Date.parse` as before,
 * so every string gets the same answer (`test/unit/guard/hot-path-sameness.test.ts` holds them equal).
 */
export function eventTimeMs(ts: string): number {
  if (ts.length < 19) return NaN;
  if (ts.length >= 23) {
    const year = digits(ts, 0, 4);
    const month = digits(ts, 5, 2);
    const day = digits(ts, 8, 2);
    const hour = digits(ts, 11, 2);
    const minute = digits(ts, 14, 2);
    const second = digits(ts, 17, 2);
    const ms = digits(ts, 20, 3);
    if (year >= 1000 && month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59 && ms >= 0
      && ts.charCodeAt(4) === 45 && ts.charCodeAt(7) === 45 && ts.charCodeAt(13) === 58 && ts.charCodeAt(16) === 58 && ts.charCodeAt(19) === 46) {
      // Date.UTC rolls a day past the month's end over into the next month, as Date.parse does with such a date.
      return Date.UTC(year, month - 1, day, hour, minute, second, ms);
    }
  }
  return Date.parse(`${ts.slice(0, 10)}T${ts.slice(11, 23)}Z`);
}

/** The number written by the `n` ASCII digits at `at`, or -1 when one of them is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** The party that sent the request a message belongs to: the source of a request, the destination of a response. */
export function clientIp(e: SipEvent): string {
  return e.status === 0 ? e.src_ip : e.dst_ip;
}

export function isRequest(e: SipEvent): boolean {
  return e.status === 0;
}

/** At most `max` distinct Call-IDs kept as evidence. */
export class Samples {
  readonly #ids: string[] = [];
  constructor(private readonly max = 5) {}
  add(id: string): void {
    if (id === '' || this.#ids.length >= this.max || this.#ids.includes(id)) return;
    this.#ids.push(id);
  }
  get list(): readonly string[] {
    return this.#ids;
  }
}
