/**
 * Reading the analyzer's event records: version 1 (one event per record) and version 2 (a container of events,
 * services/analyzer/events.ts). Both are read during a rolling upgrade. Every string field the detectors read is
 * checked, so junk cannot crash them; what is not an event is counted as bad by the caller.
 */
import { containerLines, isContainer } from '../shared/kafka/event-container.ts';
import type { QuarantineEvent, SipEvent } from './detect/types.ts';

/** The string fields the detectors read (checked one by one in `parseEvent`). */
const SIP_FIELDS = ['id', 'ts', 'src_ip', 'dst_ip', 'method', 'call_id', 'from_user', 'from_domain', 'to_user', 'ruri_user', 'user_agent', 'auth_user', 'tenant'] as const;

/** A version-1 event or undefined. */
export function parseEvent(value: Buffer | null, quarantine: boolean): SipEvent | QuarantineEvent | undefined {
  if (value === null) return undefined;
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (e === null || typeof e !== 'object' || e['v'] !== 1) return undefined;
  if (quarantine) {
    return e['kind'] === 'quarantine' && typeof e['src_ip'] === 'string' && typeof e['ts'] === 'string' && typeof e['reason'] === 'string' && typeof e['id'] === 'string'
      ? (e as unknown as QuarantineEvent) : undefined;
  }
  if (typeof e['kind'] !== 'string' || typeof e['status'] !== 'number' || (e['cseq'] !== undefined && typeof e['cseq'] !== 'number')) return undefined;
  // SIP_FIELDS one by one, as named reads: a loop of computed keys cost ~0.5 µs an event (bench/PROFILE.md).
  const x = e as Partial<Record<(typeof SIP_FIELDS)[number], unknown>>;
  if (typeof x.id !== 'string' || typeof x.ts !== 'string' || typeof x.src_ip !== 'string' || typeof x.dst_ip !== 'string' || typeof x.method !== 'string'
    || typeof x.call_id !== 'string' || typeof x.from_user !== 'string' || typeof x.from_domain !== 'string' || typeof x.to_user !== 'string'
    || typeof x.ruri_user !== 'string' || typeof x.user_agent !== 'string' || typeof x.auth_user !== 'string' || typeof x.tenant !== 'string') return undefined;
  return e as unknown as SipEvent;
}

export interface EventRecordContent<E> {
  /** The events read, in record order. */
  readonly events: E[];
  /** Each event's bytes as a version-1 record value (a view of the record, no copy), index for index. */
  readonly values: Buffer[];
  /** Events (or whole records, when not even the container is readable) that were not events. */
  readonly bad: number;
}

/** The events of one record of `sip.events` (or of `sip.quarantine` with `quarantine`), whichever version it is. */
export function readEventRecord(value: Buffer | null, quarantine: false): EventRecordContent<SipEvent>;
export function readEventRecord(value: Buffer | null, quarantine: true): EventRecordContent<QuarantineEvent>;
export function readEventRecord(value: Buffer | null, quarantine: boolean): EventRecordContent<SipEvent | QuarantineEvent>;
export function readEventRecord(value: Buffer | null, quarantine: boolean): EventRecordContent<SipEvent | QuarantineEvent> {
  if (value === null || !isContainer(value)) {
    const e = parseEvent(value, quarantine);
    return e === undefined ? { events: [], values: [], bad: 1 } : { events: [e], values: [value!], bad: 0 };
  }
  const lines = containerLines(value);
  if (lines === undefined) return { events: [], values: [], bad: 1 };
  const events: (SipEvent | QuarantineEvent)[] = [];
  const values: Buffer[] = [];
  let bad = 0;
  for (const line of lines) {
    const e = parseEvent(line, quarantine);
    if (e === undefined) bad++;
    else {
      events.push(e);
      values.push(line);
    }
  }
  return { events, values, bad };
}
