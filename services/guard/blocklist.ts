/**
 * The blocklist state, pure. Records are whole (last writer wins per address, ordered by `updatedAt`), so the same
 * record applied twice — written here, then read back from the compacted topic — changes nothing. Expiry is
 * computed from `expiresAt`, never written: every instance agrees on it without coordination.
 */
import { isIP } from 'node:net';
import { TollgateError } from '../shared/errors.ts';
import type { Allowlist } from './detect/allowlist.ts';
import { GuardErrors } from './errors.ts';

export interface BlockRecord {
  readonly ip: string;
  readonly state: 'active' | 'lifted';
  readonly reason: string;
  /** The detector that asked for it, or `manual`. */
  readonly detector: string;
  readonly actor: string;
  readonly alertId: string;
  readonly createdAt: number;
  /** ms since epoch; a block is active while `state` is active and now < expiresAt. */
  readonly expiresAt: number;
  /** How many times this address has been blocked within the offence memory (drives escalation). */
  readonly offences: number;
  readonly updatedAt: number;
  /** After a manual unblock, detectors leave the address alone until then. */
  readonly graceUntil: number;
}

export interface BlockPolicy {
  readonly baseTtlMs: number;
  readonly escalationFactor: number;
  readonly maxTtlMs: number;
  /** Offences older than this are forgotten (the next block starts at the base TTL again). */
  readonly offenceMemoryMs: number;
  readonly manualTtlMs: number;
  readonly unblockGraceMs: number;
}

export interface BlockRequest {
  readonly ip: string;
  readonly reason: string;
  readonly detector: string;
  readonly actor: string;
  readonly alertId?: string;
  /** Manual blocks may give their own TTL. */
  readonly ttlMs?: number;
}

export type BlockDecision =
  | { readonly kind: 'block'; readonly record: BlockRecord }
  | { readonly kind: 'already'; readonly record: BlockRecord }
  | { readonly kind: 'grace'; readonly record: BlockRecord }
  | { readonly kind: 'allowlisted' };

export class Blocklist {
  readonly #records = new Map<string, BlockRecord>();

  constructor(private readonly policy: BlockPolicy, private readonly allowlist: Allowlist) {}

  /** A record from the log (or written here); older than what we hold → ignored. */
  apply(r: BlockRecord): boolean {
    const cur = this.#records.get(r.ip);
    if (cur !== undefined && cur.updatedAt > r.updatedAt) return false;
    this.#records.set(r.ip, r);
    return true;
  }

  /** The log's tombstone for an address (compaction of records long lifted). */
  forget(ip: string): void {
    this.#records.delete(ip);
  }

  get(ip: string): BlockRecord | undefined {
    return this.#records.get(ip);
  }

  isActive(ip: string, now: number): boolean {
    const r = this.#records.get(ip);
    return r !== undefined && r.state === 'active' && r.expiresAt > now && !this.allowlist.has(ip);
  }

  /** What a block request leads to; the caller writes `record` when the decision is `block`. */
  decideBlock(req: BlockRequest, now: number): BlockDecision {
    if (isIP(req.ip) === 0) throw new TollgateError(GuardErrors.badAddress, `"${req.ip}" is not an IPv4 or IPv6 address`, { ip: req.ip });
    if (this.allowlist.has(req.ip)) return { kind: 'allowlisted' };
    const prev = this.#records.get(req.ip);
    const manual = req.detector === 'manual';
    if (prev !== undefined && !manual) {
      if (prev.state === 'active' && prev.expiresAt > now) return { kind: 'already', record: prev };
      if (prev.graceUntil > now) return { kind: 'grace', record: prev };
    }
    const remembered = prev !== undefined && now - prev.createdAt < this.policy.offenceMemoryMs ? prev.offences : 0;
    // A manual block replacing a live one is not a new offence.
    const offences = prev !== undefined && prev.state === 'active' && prev.expiresAt > now ? Math.max(1, prev.offences) : remembered + 1;
    const ttl = manual ? req.ttlMs ?? this.policy.manualTtlMs : this.ttlFor(offences);
    const record: BlockRecord = {
      ip: req.ip, state: 'active', reason: req.reason, detector: req.detector, actor: req.actor, alertId: req.alertId ?? '',
      createdAt: now, expiresAt: now + ttl, offences, updatedAt: now, graceUntil: 0,
    };
    return { kind: 'block', record };
  }

  /** The record lifting an active block, or undefined when the address is not blocked. */
  decideUnblock(ip: string, reason: string, actor: string, now: number): BlockRecord | undefined {
    const prev = this.#records.get(ip);
    if (prev === undefined || prev.state !== 'active' || prev.expiresAt <= now) return undefined;
    return { ...prev, state: 'lifted', reason, actor, detector: prev.detector, updatedAt: now, expiresAt: now, graceUntil: now + this.policy.unblockGraceMs };
  }

  ttlFor(offences: number): number {
    const p = this.policy;
    return Math.min(p.maxTtlMs, Math.round(p.baseTtlMs * p.escalationFactor ** Math.max(0, offences - 1)));
  }

  /** Active blocks, allowlist applied, oldest first. */
  active(now: number): BlockRecord[] {
    const out: BlockRecord[] = [];
    for (const r of this.#records.values()) if (r.state === 'active' && r.expiresAt > now && !this.allowlist.has(r.ip)) out.push(r);
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.ip < b.ip ? -1 : 1));
  }

  get size(): number {
    return this.#records.size;
  }
}
