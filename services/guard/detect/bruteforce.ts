/**
 * Credential brute force. A failure is a request that carried credentials (Authorization / Proxy-Authorization)
 * answered 401/403/407 on the same Call-ID. One source failing often is blocked; many sources failing on one
 * account (a distributed guess) raise an alert on the account and block the sources that took part.
 */
import { clientIp, isRequest, Samples, type Finding, type SipEvent } from './types.ts';
import type { Rules } from './rules.ts';
import { KeyedState, SlidingCount } from './window.ts';
import type { EngineParts } from './engine.ts';

const REJECTED = new Set([401, 403, 407]);

interface Pending {
  readonly account: string;
  readonly client: string;
  readonly t: number;
  readonly cseq: number | undefined;
}

/**
 * Does response `e` (at `t`) answer request `p`? By CSeq when both carry it; else by time, which is only nearly
 * right: Kamailio's trace of a sent reply can be stamped after the next request arrived.
 */
export function answers(e: SipEvent, t: number, p: { readonly t: number; readonly cseq: number | undefined }): boolean {
  if (e.cseq !== undefined && p.cseq !== undefined) return e.cseq === p.cseq;
  return t >= p.t;
}

class SourceState {
  readonly failures = new SlidingCount();
  readonly samples = new Samples();
  get last(): number {
    return this.failures.last;
  }
}

class AccountState {
  /** client → failures on this account. */
  readonly bySource = new Map<string, SlidingCount>();
  readonly succeeded = new Set<string>();
  readonly samples = new Samples();
  last = -Infinity;
}

export class BruteForceDetector {
  readonly #pending = new Map<string, Pending>();
  readonly #sources = new KeyedState(() => new SourceState());
  readonly #accounts = new KeyedState(() => new AccountState());

  /** `parts.source`: the per-source rule; `parts.account`: the distributed rule (allowlisted clients count). */
  observe(e: SipEvent, t: number, rules: Rules, parts: EngineParts = { source: true, account: true, destination: true }): Finding[] {
    const r = rules.bruteforce;
    if (!r.enabled || e.call_id === '') return [];
    if (isRequest(e)) {
      if (e.method !== 'REGISTER' && e.method !== 'INVITE') return [];
      if (e.auth_user === '') {
        this.#pending.delete(e.call_id);
        return [];
      }
      if (this.#pending.size > 100_000) this.#sweepPending(t);
      this.#pending.set(e.call_id, { account: accountKey(e.tenant, e.auth_user), client: clientIp(e), t, cseq: e.cseq });
      return [];
    }
    if (e.status < 200) return [];
    const p = this.#pending.get(e.call_id);
    // A response to an earlier request on this Call-ID (the challenge of the first REGISTER, read late because
    // responses travel on the proxy's partition) is not the verdict on the credentials.
    if (p === undefined || !answers(e, t, p)) return [];
    this.#pending.delete(e.call_id);
    const acc = this.#accounts.get(p.account);
    acc.last = t;
    if (e.status < 300) {
      acc.succeeded.add(p.client);
      return [];
    }
    if (!REJECTED.has(e.status)) return [];
    const out: Finding[] = [];
    const src = parts.source ? this.#sources.get(p.client) : undefined;
    src?.samples.add(e.call_id);
    const n = src?.failures.add(t, r.windowMs) ?? 0;
    if (src !== undefined && n >= r.perSourceFailures) {
      out.push({
        detector: 'bruteforce', rule: 'per_source', severity: 'critical', subject: { kind: 'ip', value: p.client }, tenant: e.tenant, at: t,
        block: [p.client],
        evidence: { count: n, threshold: r.perSourceFailures, windowMs: r.windowMs, detail: `${n} rejected credentials from ${p.client} (last account ${p.account})`, callIds: src.samples.list },
      });
    }
    if (!parts.account) return out;
    acc.samples.add(e.call_id);
    let sc = acc.bySource.get(p.client);
    if (sc === undefined) acc.bySource.set(p.client, (sc = new SlidingCount()));
    sc.add(t, r.distributedWindowMs);
    const failing: string[] = [];
    for (const [client, c] of acc.bySource) {
      const k = c.count(t, r.distributedWindowMs);
      if (k === 0) acc.bySource.delete(client);
      else if (k >= r.distributedMinFailuresPerSource && !acc.succeeded.has(client)) failing.push(client);
    }
    if (acc.bySource.size >= r.distributedSources) {
      out.push({
        detector: 'bruteforce', rule: 'distributed', severity: 'critical', subject: { kind: 'account', value: p.account }, tenant: e.tenant, at: t,
        block: failing,
        evidence: {
          count: acc.bySource.size, threshold: r.distributedSources, windowMs: r.distributedWindowMs,
          detail: `${acc.bySource.size} sources failed credentials on ${p.account}`, callIds: acc.samples.list, extra: { sources: [...acc.bySource.keys()].slice(0, 20).join(' ') },
        },
      });
    }
    return out;
  }

  #sweepPending(now: number): void {
    for (const [k, p] of this.#pending) if (p.t < now - 60_000) this.#pending.delete(k);
  }

  sweep(now: number): void {
    this.#sweepPending(now);
    this.#sources.sweep(now, 600_000);
    this.#accounts.sweep(now, 3_600_000);
  }
}

export function accountKey(tenant: string, user: string): string {
  return tenant === '' ? user : `${tenant}/${user}`;
}
