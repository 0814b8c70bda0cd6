/** Small pure helpers shared by the dialog and registration trackers. */
import type { NameAddr, SipMessage, Uri } from '../sip/index.ts';
import { TollgateError } from '../../shared/errors.ts';
import { CorrelationErrors } from './errors.ts';

/** What a tracker returns when nothing became final: shared and frozen, so it costs no allocation per message. */
export const NO_RECORDS: readonly never[] = Object.freeze([]);

/**
 * The records a tracker makes final while it handles one message or one clock advance, handed out once. Most
 * messages finish nothing, so no array is made until the first record.
 */
export class RecordOutbox<T> {
  #records: T[] | null = null;

  push(record: T): void {
    if (this.#records === null) this.#records = [record];
    else this.#records.push(record);
  }

  /** The records pushed since the last take (the shared empty list when none), and a fresh start. */
  take(): readonly T[] {
    const records = this.#records;
    this.#records = null;
    return records ?? NO_RECORDS;
  }
}

/**
 * The open entries of each Call-ID (usually one), so a message finds its call or transaction by comparing a tag or
 * a CSeq number in a short list instead of building a key string per message.
 */
export class CallIdIndex<T extends { readonly callId: string }> {
  #lists = new Map<string, T[]>();

  get(callId: string): readonly T[] | undefined {
    return this.#lists.get(callId);
  }

  add(entry: T): void {
    const list = this.#lists.get(entry.callId);
    if (list === undefined) this.#lists.set(entry.callId, [entry]);
    else list.push(entry);
  }

  remove(entry: T): void {
    const list = this.#lists.get(entry.callId);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.#lists.delete(entry.callId);
  }

  clear(): void {
    this.#lists.clear();
  }
}

/**
 * The JSON text of a tracker's long-lived entries (open calls, REGISTER transactions, tombstones), kept between
 * snapshots: an entry is serialized again only after the tracker reported it `changed`, so a snapshot costs the
 * entries changed since the previous one plus copying the others' text (bench/PROFILE.md, "Changed-only
 * snapshots"). Keyed by the entry object, so an emitted entry's text goes with it and needs no bookkeeping.
 * The text is exactly `JSON.stringify` of what the entry is when the snapshot is taken, as long as every change
 * to an entry is followed by `changed(entry)` before the next snapshot.
 */
export class EntryJson<T extends object> {
  #text = new WeakMap<T, string>();

  changed(entry: T): void {
    this.#text.delete(entry);
  }

  /** The entry's kept text, undefined when it changed (or was never serialized) since. */
  get(entry: T): string | undefined {
    return this.#text.get(entry);
  }

  keep(entry: T, text: string): string {
    this.#text.set(entry, text);
    return text;
  }

  clear(): void {
    this.#text = new WeakMap();
  }
}

export interface UserDomain {
  user: string | null;
  domain: string | null;
}

export function uriUserDomain(uri: Uri | undefined): UserDomain {
  if (uri === undefined || uri.kind !== 'sip') return { user: null, domain: null };
  return { user: uri.user ?? null, domain: uri.host === '' ? null : uri.host.toLowerCase() };
}

export function addrUserDomain(a: NameAddr): UserDomain {
  return uriUserDomain(a.uri);
}

/** `scheme:user@host:port` without parameters: the part of a Contact that identifies a binding. */
export function uriKey(uri: Uri): string {
  if (uri.kind !== 'sip') return `${uri.scheme}:${uri.opaque}`;
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  const user = uri.user === undefined ? '' : `${uri.user}@`;
  const port = uri.port === undefined ? '' : `:${uri.port}`;
  return `${uri.scheme}:${user}${host.toLowerCase()}${port}`;
}

export function viaCount(m: SipMessage): number {
  return m.via.length;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpLiteral(host: string): boolean {
  return IPV4.test(host) || host.includes(':');
}

/**
 * Addresses a registrar cannot reach from outside: RFC 1918, CGNAT 100.64/10, link-local, loopback, IPv6 ULA
 * and link-local. A Contact in these ranges means the UA sits behind NAT (or a misconfigured SBC).
 */
export function isPrivateAddress(host: string): boolean {
  const m = IPV4.exec(host);
  if (m !== null) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
  }
  const h = host.toLowerCase();
  if (!h.includes(':')) return false;
  return h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80:');
}

/** Keeps a small sorted set of distinct values; capture agents and hops per call are few, floods are not. */
export function addDistinct<T extends string | number>(list: T[], v: T, cap: number): boolean {
  if (list.includes(v)) return false;
  if (list.length >= cap) return false;
  list.push(v);
  list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return true;
}

export function minOrNull(a: number | null, b: number): number {
  return a === null || b < a ? b : a;
}

/** Validates µs options once at construction: a NaN window would silently never close anything. */
export function checkUs(name: string, v: number, min = 0): number {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new TollgateError(CorrelationErrors.badConfig, `${name} must be an integer ≥ ${min}, got ${v}`, { name, value: v });
  }
  return v;
}

export function badSnapshot(detail: string): TollgateError {
  return new TollgateError(CorrelationErrors.badSnapshot, `cannot restore correlation state: ${detail}`, { detail });
}
