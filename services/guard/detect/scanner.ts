/**
 * Scanners: the fast path recognises attack tools by User-Agent or From; the behaviour path catches an ordinary
 * softphone UA sweeping extensions — many distinct users, consecutive numbers, mostly 401/403/404/407 answers.
 */
import { BoundedCache } from '../../shared/bounded-cache.ts';
import { clientIp, isRequest, Samples, type Finding, type SipEvent } from './types.ts';
import type { Rules } from './rules.ts';
import { KeyedState, SlidingCount, SlidingSet } from './window.ts';

const FAILURES = new Set([401, 403, 404, 407]);

class SourceState {
  readonly users = new SlidingSet<string>();
  readonly finals = new SlidingCount();
  readonly failures = new SlidingCount();
  readonly samples = new Samples();
  seqRun = 0;
  last = -Infinity;
}

/** Longest run of consecutive integers among numeric user names (extensions 100, 101, 102 …). */
export function longestSequentialRun(users: Iterable<string>): number {
  const nums = [...new Set([...users].filter((u) => /^\d{1,15}$/.test(u)).map((u) => Number(u)))].sort((a, b) => a - b);
  let best = nums.length > 0 ? 1 : 0;
  let run = 1;
  for (let i = 1; i < nums.length; i++) {
    run = nums[i] === nums[i - 1]! + 1 ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/**
 * Whether a User-Agent names an attack tool of `uas`. Short ones (what phones send) are remembered per list and UA:
 * lower-casing and searching for every tool name cost ~0.4 µs a request against ~0.1 µs for the lookup, and a platform
 * sees few distinct UAs. A long one is searched each time: hashing it for the lookup costs more than the search
 * (bench/PROFILE.md, "Guard: where an event's CPU goes"). The answer depends on nothing else, so a remembered one is
 * the answer.
 */
function toolUa(ua: string, uas: readonly string[]): boolean {
  if (ua === '') return false;
  if (ua.length > 64) return searchUa(ua, uas);
  let known = TOOL_UA.get(uas);
  // Bounded: a sender cycling User-Agents must not grow it without limit.
  if (known === undefined) TOOL_UA.set(uas, (known = new BoundedCache(10_000)));
  return known.get(ua) ?? known.set(ua, searchUa(ua, uas));
}

function searchUa(ua: string, uas: readonly string[]): boolean {
  const lower = ua.toLowerCase();
  return uas.some((u) => lower.includes(u));
}

const TOOL_UA = new WeakMap<readonly string[], BoundedCache<string, boolean>>();

export class ScannerDetector {
  readonly #sources = new KeyedState(() => new SourceState());

  observe(e: SipEvent, t: number, rules: Rules): Finding[] {
    const r = rules.scanner;
    if (!r.enabled) return [];
    const src = clientIp(e);
    if (isRequest(e)) {
      const tool = this.#tool(e, r.toolUserAgents, r.fromTells);
      if (tool !== undefined) {
        return [{
          detector: 'scanner', rule: tool.rule, severity: 'critical', subject: { kind: 'ip', value: src }, tenant: e.tenant, at: t, block: [src],
          evidence: { count: 1, threshold: 1, windowMs: 0, detail: `${e.method} from ${src} with ${tool.rule === 'tool_ua' ? 'User-Agent' : 'From'} "${tool.value}"`, callIds: [e.call_id] },
        }];
      }
    }
    const s = this.#sources.get(src);
    s.last = t;
    s.samples.add(e.call_id);
    if (isRequest(e)) {
      const user = e.method === 'REGISTER' ? e.to_user || e.from_user : e.ruri_user || e.to_user;
      if (user === '' || e.method === 'ACK') return [];
      const before = s.users.size(t, r.windowMs);
      const after = s.users.add(user, t, r.windowMs);
      if (after !== before) s.seqRun = after >= r.sequentialRun ? longestSequentialRun(s.users.values()) : 0;
      return this.#judge(e, src, s, t, rules);
    }
    if (e.status < 200) return [];
    s.finals.add(t, r.windowMs);
    if (FAILURES.has(e.status)) s.failures.add(t, r.windowMs);
    return this.#judge(e, src, s, t, rules);
  }

  #judge(e: SipEvent, src: string, s: SourceState, t: number, rules: Rules): Finding[] {
    const r = rules.scanner;
    const finals = s.finals.count(t, r.windowMs);
    const failures = s.failures.count(t, r.windowMs);
    if (finals < r.minResponses || failures / finals < r.failureRatio) return [];
    const users = s.users.size(t, r.windowMs);
    const extra = { distinct_users: users, sequential_run: s.seqRun, final_responses: finals, failures };
    if (users >= r.distinctUsers) {
      return [this.#finding(e, src, t, 'enumeration', users, r.distinctUsers, r.windowMs, s,
        `${users} distinct users from ${src}, ${failures}/${finals} answers 401/403/404/407`, extra)];
    }
    if (s.seqRun >= r.sequentialRun) {
      return [this.#finding(e, src, t, 'sequential', s.seqRun, r.sequentialRun, r.windowMs, s,
        `${s.seqRun} consecutive extensions from ${src}, ${failures}/${finals} answers 401/403/404/407`, extra)];
    }
    return [];
  }

  #finding(e: SipEvent, src: string, t: number, rule: string, count: number, threshold: number, windowMs: number, s: SourceState, detail: string,
    extra: Record<string, number>): Finding {
    return {
      detector: 'scanner', rule, severity: 'critical', subject: { kind: 'ip', value: src }, tenant: e.tenant, at: t, block: [src],
      evidence: { count, threshold, windowMs, detail, callIds: s.samples.list, extra },
    };
  }

  #tool(e: SipEvent, uas: readonly string[], tells: readonly string[]): { rule: string; value: string } | undefined {
    if (toolUa(e.user_agent, uas)) return { rule: 'tool_ua', value: e.user_agent };
    const from = `${e.from_user}@${e.from_domain}`.toLowerCase();
    if (tells.includes(from)) return { rule: 'from_tell', value: from };
    return undefined;
  }

  sweep(now: number): void {
    this.#sources.sweep(now, 600_000);
  }
}
