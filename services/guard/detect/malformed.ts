/** Malformed traffic: quarantined messages (unparseable SIP) per source. */
import { Samples, type Finding, type QuarantineEvent } from './types.ts';
import type { Rules } from './rules.ts';
import { KeyedState, SlidingCount } from './window.ts';

class SourceState {
  readonly count = new SlidingCount();
  readonly samples = new Samples();
  readonly reasons = new Map<string, number>();
  get last(): number {
    return this.count.last;
  }
}

export class MalformedDetector {
  readonly #sources = new KeyedState(() => new SourceState());

  observe(e: QuarantineEvent, t: number, rules: Rules): Finding[] {
    const r = rules.malformed;
    if (!r.enabled || e.src_ip === '') return [];
    const s = this.#sources.get(e.src_ip);
    s.samples.add(e.call_id);
    if (s.reasons.size < 10 || s.reasons.has(e.reason)) s.reasons.set(e.reason, (s.reasons.get(e.reason) ?? 0) + 1);
    const n = s.count.add(t, r.windowMs);
    if (n < r.warning) return [];
    const critical = n >= r.critical;
    return [{
      detector: 'malformed', rule: 'per_source', severity: critical ? 'critical' : 'warning', subject: { kind: 'ip', value: e.src_ip }, tenant: '', at: t,
      block: critical ? [e.src_ip] : [],
      evidence: {
        count: n, threshold: critical ? r.critical : r.warning, windowMs: r.windowMs,
        detail: `${n} malformed messages from ${e.src_ip} (${[...s.reasons].map(([k, v]) => `${k}: ${v}`).join(', ')})`, callIds: s.samples.list,
      },
    }];
  }

  sweep(now: number): void {
    this.#sources.sweep(now, 600_000);
  }
}
