/**
 * What the correlation trackers consume: one parsed SIP message plus the capture facts HEP carried with it.
 * Time is the capture timestamp, never the wall clock, so replaying a topic gives the same records.
 */
import type { SipMessage } from '../sip/index.ts';

export interface ObservedSip {
  readonly message: SipMessage;
  /** HEP capture time, microseconds since the epoch. Numbers stay exact up to 2^53 µs (year 2255). */
  readonly tsUs: bigint | number;
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstPort: number;
  /** `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or whatever the capture agent reported. */
  readonly transport: string;
  readonly captureId: number;
  /** HEP node name (chunk 19); '' when the agent sent none. */
  readonly node: string;
  /** HEP chunk 17. Kamailio and FreeSWITCH agents put the A-leg Call-ID here on B-legs. */
  readonly correlationId?: string;
  /** Arrival index (Kafka offset order); only used to break exact timestamp ties deterministically. */
  readonly seq: number;
}

/** Microseconds as a plain number: records and snapshots must be JSON, and µs since 1970 fit in 2^53. */
export function toUs(ts: bigint | number): number {
  return typeof ts === 'bigint' ? Number(ts) : Math.trunc(ts);
}
