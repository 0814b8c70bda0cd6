/** Request density per source (pike's job, exact sliding window) and per destination address. */
import { clientIp, isRequest, type Finding, type SipEvent } from './types.ts';
import type { Rules } from './rules.ts';
import type { EngineParts } from './engine.ts';
import { KeyedState, SlidingCount } from './window.ts';

export class FloodDetector {
  readonly #bySource = new KeyedState(() => new SlidingCount());
  readonly #byDestination = new KeyedState(() => new SlidingCount());

  observe(e: SipEvent, t: number, rules: Rules, parts: EngineParts = { source: true, account: true, destination: true }): Finding[] {
    const r = rules.flood;
    // ACKs ride on answers the proxy already counted; counting them would double an INVITE flood's rate.
    if (!r.enabled || !isRequest(e) || e.method === 'ACK') return [];
    const out: Finding[] = [];
    const src = clientIp(e);
    const n = parts.source ? this.#bySource.get(src).add(t, r.windowMs) : 0;
    if (parts.source && n >= r.perSourceLimit) {
      out.push({
        detector: 'flood', rule: 'per_source', severity: 'critical', subject: { kind: 'ip', value: src }, tenant: e.tenant, at: t,
        block: [src],
        evidence: { count: n, threshold: r.perSourceLimit, windowMs: r.windowMs, detail: `${n} requests from ${src} in ${r.windowMs} ms (last ${e.method})`, callIds: [e.call_id] },
      });
    }
    if (!parts.destination) return out;
    const d = this.#byDestination.get(e.dst_ip).add(t, r.windowMs);
    if (d >= r.perDestinationLimit) {
      out.push({
        detector: 'flood', rule: 'per_destination', severity: 'warning', subject: { kind: 'ip', value: e.dst_ip }, tenant: e.tenant, at: t,
        block: [],
        evidence: { count: d, threshold: r.perDestinationLimit, windowMs: r.windowMs, detail: `${d} requests to ${e.dst_ip} in ${r.windowMs} ms`, callIds: [e.call_id] },
      });
    }
    return out;
  }

  sweep(now: number): void {
    this.#bySource.sweep(now, 60_000);
    this.#byDestination.sweep(now, 60_000);
  }
}
