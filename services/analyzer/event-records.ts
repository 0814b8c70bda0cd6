/**
 * The analyzer's events as Kafka records, in either format the guard reads:
 * - `v1`: one record per event, the event's JSON, keyed by its source IP;
 * - `v2` (default): containers (services/shared/kafka/event-container.ts) of the events of one target partition, in
 *   batch order, keyed by their first event's source IP. A container holds only events whose source IP's key hash
 *   picks its partition, so the producer's hash of its key sends it exactly where each of its events would have gone
 *   as a v1 record: per-source order and partition affinity hold. Event ids stay those of the captured records, so
 *   the detectors' de-duplication is unchanged.
 *
 * A v2 SIP event line carries the fields the guard reads (`DETECTOR_FIELDS`, checked by a test that records what the
 * detectors touch); the ports, transport and the To / R-URI / tenant domains are in ClickHouse and stay in v1. Each
 * line is still a valid version-1 event, which the guard's re-keying forwarder passes on as a record of its own.
 */
import { ContainerWriter } from '../shared/kafka/event-container.ts';
import { partitionFor } from '../shared/kafka/partition.ts';
import type { QuarantineEvent, SipEvent } from './events.ts';

export type EventFormat = 'v1' | 'v2';

/** Bound on a container's bytes: a record well below the broker's 1 MiB `message.max.bytes` default. */
export const CONTAINER_MAX_BYTES = 500 * 1024;

/** The fields of a SIP event a v2 line carries: what the detectors and the re-keying read, and nothing else. */
export const DETECTOR_FIELDS = [
  'v', 'id', 'kind', 'ts', 'src_ip', 'dst_ip', 'method', 'status', 'call_id', 'cseq',
  'from_user', 'from_domain', 'to_user', 'ruri_user', 'user_agent', 'auth_user', 'tenant',
] as const satisfies readonly (keyof SipEvent)[];

export interface EventRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Events in the record (1 for v1). */
  readonly events: number;
}

/** Version 1: one record per event, every field. */
export function singleEventRecords(events: readonly (SipEvent | QuarantineEvent)[]): EventRecord[] {
  return events.map((e) => ({ key: Buffer.from(e.src_ip), value: Buffer.from(JSON.stringify(e)), events: 1 }));
}

/** A v2 line: the SIP event with `DETECTOR_FIELDS` only (a quarantine event whole: the malformed detector's input is small). */
export function eventLine(e: SipEvent | QuarantineEvent): string {
  if (e.kind === 'quarantine') return JSON.stringify(e);
  // Written out rather than looped over DETECTOR_FIELDS: one object of a fixed shape, the fast path of JSON.stringify.
  return JSON.stringify({
    v: e.v, id: e.id, kind: e.kind, ts: e.ts, src_ip: e.src_ip, dst_ip: e.dst_ip, method: e.method, status: e.status, call_id: e.call_id,
    cseq: e.cseq, from_user: e.from_user, from_domain: e.from_domain, to_user: e.to_user, ruri_user: e.ruri_user, user_agent: e.user_agent,
    auth_user: e.auth_user, tenant: e.tenant,
  });
}

/**
 * Version 2: the events grouped by the partition their source IP's key hash picks among `partitions`, each group in
 * input order, in containers of at most `maxBytes`. Records come out partition by partition, each partition's in order.
 */
export function containerRecords(events: readonly (SipEvent | QuarantineEvent)[], partitions: number, maxBytes = CONTAINER_MAX_BYTES): EventRecord[] {
  const groups = new Map<number, (SipEvent | QuarantineEvent)[]>();
  const partitionOf = new Map<string, number>();
  for (const e of events) {
    let p = partitionOf.get(e.src_ip);
    if (p === undefined) partitionOf.set(e.src_ip, (p = partitionFor(Buffer.from(e.src_ip), partitions)));
    let g = groups.get(p);
    if (g === undefined) groups.set(p, (g = []));
    g.push(e);
  }
  const w = new ContainerWriter(maxBytes);
  for (const g of groups.values()) {
    for (const e of g) w.add(e.src_ip, eventLine(e));
    w.cut();
  }
  return w.records.map((r) => ({ key: Buffer.from(r.key), value: r.value, events: r.events }));
}
