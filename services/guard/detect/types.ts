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

/** Event time in ms from the analyzer's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC); NaN when it is not that. */
export function eventTimeMs(ts: string): number {
  if (ts.length < 19) return NaN;
  return Date.parse(`${ts.slice(0, 10)}T${ts.slice(11, 23)}Z`);
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
