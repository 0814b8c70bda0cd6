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
import { secondText } from './store/rows.ts';

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
  return typeof e.kind === 'string' && typeof e.id === 'string' && typeof e.ts === 'string' && typeof e.src_ip === 'string'
    && typeof e.dst_ip === 'string' && typeof e.method === 'string' && typeof e.status === 'number' && typeof e.call_id === 'string'
    && (e.cseq === undefined || typeof e.cseq === 'number') && typeof e.from_user === 'string' && typeof e.from_domain === 'string'
    && typeof e.to_user === 'string' && typeof e.ruri_user === 'string' && typeof e.user_agent === 'string' && typeof e.auth_user === 'string'
    && typeof e.tenant === 'string' && e.v === 1
    ? sipEventLine(e.id, e.kind, e.ts, e.src_ip, e.dst_ip, e.method, e.status, e.call_id, e.cseq, e.from_user, e.from_domain, e.to_user,
      e.ruri_user, e.user_agent, e.auth_user, e.tenant)
    : detectorJson(e);
}

/**
 * The v2 line of a SIP event from its values (`DETECTOR_FIELDS`, in that order): what `eventLine` writes for the
 * event object, and what the hot path writes without one (consumer/decode.ts).
 */
export function sipEventLine(
  id: string, kind: string, ts: string, srcIp: string, dstIp: string, method: string, status: number, callId: string, cseq: number | undefined,
  fromUser: string, fromDomain: string, toUser: string, ruriUser: string, userAgent: string, authUser: string, tenant: string,
): string {
  return `{"v":1,"id":${str(id)},"kind":${str(kind)},"ts":${str(ts)},"src_ip":${str(srcIp)},"dst_ip":${str(dstIp)},`
    + `"method":${str(method)},"status":${num(status)},"call_id":${str(callId)},${cseq === undefined ? '' : `"cseq":${num(cseq)},`}`
    + `"from_user":${str(fromUser)},"from_domain":${str(fromDomain)},"to_user":${str(toUser)},"ruri_user":${str(ruriUser)},`
    + `"user_agent":${str(userAgent)},"auth_user":${str(authUser)},"tenant":${str(tenant)}}`;
}

/**
 * A batch's SIP events as their v2 lines with their keys (source IPs), in batch order, without an event object per
 * message. Each line's UTF-8 bytes are written into a slab as soon as it is made: a line string kept until the batch
 * is encoded has been promoted out of the young generation by then, and writing it costs several times more
 * (bench/PROFILE.md, "Rows without row objects").
 */
export class SipEventLines {
  readonly keys: string[] = [];
  readonly #slabs: Buffer[] = [];
  /** Per line: its slab, byte start and end, and its length as a string. */
  readonly #slab: number[] = [];
  readonly #start: number[] = [];
  readonly #end: number[] = [];
  readonly #chars: number[] = [];
  #buf: Buffer;
  #o = 0;

  constructor(slabBytes = 256 * 1024) {
    this.#buf = Buffer.allocUnsafe(slabBytes);
    this.#slabs.push(this.#buf);
  }

  get length(): number {
    return this.keys.length;
  }

  add(key: string, line: string): void {
    const start = this.#room(line.length * 3);
    this.#o += this.#buf.write(line, start, 'utf8');
    this.#added(key, start, line.length);
  }

  /** At least `worst` bytes free in the current slab; returns the write position. */
  #room(worst: number): number {
    if (this.#o + worst > this.#buf.length) {
      this.#buf = Buffer.allocUnsafe(Math.max(this.#buf.length, worst));
      this.#slabs.push(this.#buf);
      this.#o = 0;
    }
    return this.#o;
  }

  #added(key: string, start: number, chars: number): void {
    this.keys.push(key);
    this.#slab.push(this.#slabs.length - 1);
    this.#start.push(start);
    this.#end.push(this.#o);
    this.#chars.push(chars);
  }

  /**
   * `add(key, sipEventLine(...))` without making the line: its bytes written field by field (`id` is
   * `<topic>/<partition>/<offset>`, `ts` µs since the epoch written as `formatUs` writes it), the same bytes and the
   * same length as a string (test/unit/analyzer/direct-rows.test.ts). The line string was a rope of ~50 pieces per
   * message, flattened when written (bench/PROFILE.md, "Rows without row objects").
   */
  addSip(
    key: string, topic: string, partition: number, offset: number, kind: string, tsUs: number, srcIp: string, dstIp: string, method: string,
    status: number, callId: string, cseq: number | undefined, fromUser: string, fromDomain: string, toUser: string, ruriUser: string,
    userAgent: string, authUser: string, tenant: string,
  ): void {
    // JSON escapes take at most 6 bytes per UTF-16 unit; the rest (names, numbers, time) stays under 400 bytes.
    const start = this.#room(400 + 6 * (topic.length + kind.length + srcIp.length + dstIp.length + method.length + callId.length
      + fromUser.length + fromDomain.length + toUser.length + ruriUser.length + userAgent.length + authUser.length + tenant.length));
    this.#c = 0;
    this.#lit('{"v":1,"id":');
    const id = this.#o;
    const c = this.#c;
    if (this.#plain(topic)) {
      this.#lit('/');
      this.#lit(String(partition));
      this.#lit('/');
      this.#lit(String(offset));
      this.#lit('"');
    } else {
      this.#o = id;
      this.#c = c;
      this.#literal(str(`${topic}/${partition}/${offset}`));
    }
    this.#lit(',"kind":');
    this.#str(kind);
    this.#lit(',"ts":"');
    const t = Math.trunc(tsUs);
    let frac = ((t % 1_000_000) + 1_000_000) % 1_000_000;
    this.#lit(secondText((t - frac) / 1_000_000));
    const b = this.#buf;
    b[this.#o] = 0x2e;
    for (let k = 6; k >= 1; k--) {
      const d = frac % 10;
      b[this.#o + k] = 0x30 + d;
      frac = (frac - d) / 10;
    }
    this.#o += 7;
    this.#c += 7;
    this.#lit('","src_ip":');
    this.#str(srcIp);
    this.#lit(',"dst_ip":');
    this.#str(dstIp);
    this.#lit(',"method":');
    this.#str(method);
    this.#lit(',"status":');
    this.#lit(num(status));
    this.#lit(',"call_id":');
    this.#str(callId);
    if (cseq !== undefined) {
      this.#lit(',"cseq":');
      this.#lit(num(cseq));
    }
    this.#lit(',"from_user":');
    this.#str(fromUser);
    this.#lit(',"from_domain":');
    this.#str(fromDomain);
    this.#lit(',"to_user":');
    this.#str(toUser);
    this.#lit(',"ruri_user":');
    this.#str(ruriUser);
    this.#lit(',"user_agent":');
    this.#str(userAgent);
    this.#lit(',"auth_user":');
    this.#str(authUser);
    this.#lit(',"tenant":');
    this.#str(tenant);
    this.#lit('}');
    this.#added(key, start, this.#c);
  }

  /** Characters of the line being written by `addSip` (its length as a string). */
  #c = 0;

  /** ASCII text as it is. */
  #lit(s: string): void {
    const b = this.#buf;
    let o = this.#o;
    for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
    this.#o = o;
    this.#c += s.length;
  }

  /** Opening quote and `s` when every character is printable ASCII other than quote and backslash; else false and
   * nothing is counted (the caller rewinds). */
  #plain(s: string): boolean {
    const b = this.#buf;
    let o = this.#o;
    b[o++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch < 0x20 || ch >= 0x80 || ch === 0x22 || ch === 0x5c) return false;
      b[o++] = ch;
    }
    this.#o = o;
    this.#c += s.length + 1;
    return true;
  }

  /** A JSON string literal as `str` makes it. */
  #str(s: string): void {
    const at = this.#o;
    const c = this.#c;
    if (this.#plain(s)) {
      this.#buf[this.#o++] = 0x22;
      this.#c++;
      return;
    }
    this.#o = at;
    this.#c = c;
    this.#literal(str(s));
  }

  #literal(lit: string): void {
    this.#o += this.#buf.write(lit, this.#o, 'utf8');
    this.#c += lit.length;
  }

  /** Line `i` into a container. */
  writeTo(w: ContainerWriter, i: number): void {
    w.addBytes(this.keys[i]!, this.#slabs[this.#slab[i]!]!, this.#start[i]!, this.#end[i]!, this.#chars[i]!);
  }

  /** Each line's length as a string (what the containers are cut by). */
  lengths(): number[] {
    return [...this.#chars];
  }

  /** The lines as text (tests, tools). */
  lines(): string[] {
    return this.keys.map((_, i) => this.#slabs[this.#slab[i]!]!.toString('utf8', this.#start[i], this.#end[i]));
  }
}

/**
 * What `eventLine` writes, by `JSON.stringify` of a fixed-shape object: the reference its template must equal byte for
 * byte (a property test holds them together), and its path for an event whose fields are not of their types.
 */
export function detectorJson(e: SipEvent): string {
  return JSON.stringify({
    v: e.v, id: e.id, kind: e.kind, ts: e.ts, src_ip: e.src_ip, dst_ip: e.dst_ip, method: e.method, status: e.status, call_id: e.call_id,
    cseq: e.cseq, from_user: e.from_user, from_domain: e.from_domain, to_user: e.to_user, ruri_user: e.ruri_user, user_agent: e.user_agent,
    auth_user: e.auth_user, tenant: e.tenant,
  });
}

/** Characters `JSON.stringify` writes escaped: quote, backslash, controls, and (unpaired) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal: as is when nothing needs escaping (nearly always), else `JSON.stringify`'s own. */
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A JSON number as `JSON.stringify` writes it (`null` for NaN and the infinities). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * Version 2: the events grouped by the partition their source IP's key hash picks among `partitions`, each group in
 * input order, in containers of at most `maxBytes`. Records come out partition by partition, each partition's in order.
 */
export function containerRecords(events: readonly (SipEvent | QuarantineEvent)[] | SipEventLines, partitions: number, maxBytes = CONTAINER_MAX_BYTES): EventRecord[] {
  if (events instanceof SipEventLines) return grouped(events.length, (i) => events.keys[i]!, (w, i) => events.writeTo(w, i), partitions, maxBytes);
  return grouped(events.length, (i) => events[i]!.src_ip, (w, i) => w.add(events[i]!.src_ip, eventLine(events[i]!)), partitions, maxBytes);
}

function grouped(n: number, keyAt: (i: number) => string, add: (w: ContainerWriter, i: number) => void, partitions: number, maxBytes: number): EventRecord[] {
  const groups = new Map<number, number[]>();
  const partitionOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = keyAt(i);
    let p = partitionOf.get(key);
    if (p === undefined) partitionOf.set(key, (p = partitionFor(Buffer.from(key), partitions)));
    let g = groups.get(p);
    if (g === undefined) groups.set(p, (g = []));
    g.push(i);
  }
  const w = new ContainerWriter(maxBytes);
  for (const g of groups.values()) {
    for (const i of g) add(w, i);
    w.cut();
  }
  return w.records.map((r) => ({ key: Buffer.from(r.key), value: r.value, events: r.events }));
}
