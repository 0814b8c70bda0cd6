/**
 * Toll fraud per account, in the OpenSIPS fraud_detection model: every call start is matched to a rule by
 * destination prefix (the high-risk list first, then the profile, longest prefix wins) and counted per account and
 * rule — calls per minute (60 s gliding), total per hour/day, concurrent, sequential calls to the same number,
 * duration — each with a warning and a critical level. Plus Wangiri-style bursts (calls cancelled while ringing,
 * to many numbers) and an account that
 * suddenly calls from a network it never used.
 */
import { isIPv4 } from 'node:net';
import { BoundedCache } from '../../shared/bounded-cache.ts';
import { clientIp, isRequest, Samples, type Finding, type Severity, type SipEvent } from './types.ts';
import type { FraudRule, FraudThresholds, Rules } from './rules.ts';
import { normaliseNumber, PrefixList } from './numbers.ts';
import { accountKey } from './bruteforce.ts';
import { KeyedState, SlidingCount, SlidingSet } from './window.ts';

const MINUTE = 60_000;
const CALL_MAX_MS = 4 * 3_600_000;

interface Call {
  readonly account: string;
  readonly tenant: string;
  readonly client: string;
  readonly number: string;
  readonly ruleKey: string;
  readonly rule: FraudRule;
  readonly start: number;
  readonly cseq: number | undefined;
  answered?: number;
}

class RuleCounters {
  readonly cpm = new SlidingCount();
  readonly total = new SlidingCount();
  readonly samples = new Samples();
  concurrent = 0;
  last = -Infinity;
}

class AccountState {
  lastNumber = '';
  seq = 0;
  calls = 0;
  readonly networks = new Set<string>();
  readonly short = new SlidingCount();
  readonly shortDestinations = new SlidingSet<string>();
  readonly shortSamples = new Samples();
  last = -Infinity;
}

export class TollFraudDetector {
  readonly #calls = new Map<string, Call>();
  readonly #rules = new KeyedState(() => new RuleCounters());
  readonly #accounts = new KeyedState(() => new AccountState());

  constructor(private readonly highRisk: PrefixList) {}

  observe(e: SipEvent, t: number, rules: Rules): Finding[] {
    const r = rules.tollfraud;
    if (!r.enabled || e.call_id === '') return [];
    if (isRequest(e)) {
      if (e.method === 'INVITE' && e.kind === 'invite') return this.#start(e, t, rules);
      if (e.method === 'BYE' || e.method === 'CANCEL') return this.#end(e.call_id, t, rules, e.method === 'CANCEL');
      return [];
    }
    const call = this.#calls.get(e.call_id);
    if (call === undefined || e.method !== 'INVITE' || e.status < 200) return [];
    if (e.cseq !== undefined && call.cseq !== undefined ? e.cseq < call.cseq : t < call.start) return [];
    if (e.status < 300) {
      call.answered ??= t;
      return [];
    }
    // 401/407: the caller answers the challenge on the same Call-ID; the call has not ended.
    if (e.status === 401 || e.status === 407) return [];
    return this.#end(e.call_id, t, rules, e.status === 487);
  }

  #start(e: SipEvent, t: number, rules: Rules): Finding[] {
    if (this.#calls.has(e.call_id)) return [];
    const r = rules.tollfraud;
    const number = normaliseNumber(e.ruri_user || e.to_user, r);
    if (number === '') return [];
    const user = e.auth_user || e.from_user;
    if (user === '') return [];
    const account = accountKey(e.tenant, user);
    const hr = number.startsWith('+') ? this.highRisk.match(number) : undefined;
    let rule: FraudRule | undefined;
    let ruleKey: string;
    if (hr !== undefined) {
      rule = { ...r.highRisk, prefix: hr };
      ruleKey = `high_risk:${hr}`;
    } else {
      rule = longestRule(r.profile, number);
      ruleKey = rule === undefined ? '' : `profile:${rule.prefix}`;
    }
    const client = clientIp(e);
    const out: Finding[] = [];
    const acc = this.#accounts.get(account);
    acc.last = t;
    out.push(...this.#network(e, t, rules, acc, account, client));
    if (rule === undefined || !inHours(rule.hours, t)) return out;
    const call: Call = { account, tenant: e.tenant, client, number, ruleKey, rule, start: t, cseq: e.cseq };
    if (this.#calls.size > 500_000) this.#sweepCalls(t);
    this.#calls.set(e.call_id, call);
    const c = this.#rules.get(`${account}\u0000${ruleKey}`);
    c.last = t;
    c.samples.add(e.call_id);
    c.concurrent++;
    const cpm = c.cpm.add(t, MINUTE);
    const windowMs = rule.window === 'day' ? 86_400_000 : 3_600_000;
    const total = c.total.add(t, windowMs);
    if (number === acc.lastNumber) acc.seq++;
    else {
      acc.lastNumber = number;
      acc.seq = 1;
    }
    const base = { call, samples: c.samples.list };
    out.push(...this.#check('cpm', rule.cpm, cpm, MINUTE, base, t, rules, `${cpm} calls/min to ${rule.prefix || 'any'} (last ${number})`));
    out.push(...this.#check('total', rule.total, total, windowMs, base, t, rules, `${total} calls to ${rule.prefix || 'any'} in the last ${rule.window ?? 'hour'}`));
    out.push(...this.#check('concurrent', rule.concurrent, c.concurrent, 0, base, t, rules, `${c.concurrent} concurrent calls to ${rule.prefix || 'any'}`));
    out.push(...this.#check('sequential', rule.sequential, acc.seq, 0, base, t, rules, `${acc.seq} consecutive calls to ${number}`));
    return out;
  }

  #end(callId: string, t: number, rules: Rules, cancelled: boolean): Finding[] {
    const call = this.#calls.get(callId);
    if (call === undefined) return [];
    this.#calls.delete(callId);
    const c = this.#rules.peek(`${call.account}\u0000${call.ruleKey}`);
    if (c !== undefined && c.concurrent > 0) c.concurrent--;
    const r = rules.tollfraud;
    const out: Finding[] = [];
    const base = { call, samples: [callId] };
    if (call.answered !== undefined) {
      const seconds = Math.round((t - call.answered) / 1000);
      out.push(...this.#check('duration', call.rule.duration, seconds, 0, base, t, rules, `call to ${call.number} lasted ${seconds} s`));
    }
    // Wangiri: rung briefly and cancelled by the caller, never answered (an answered one-second call is a call).
    const shortMs = call.answered === undefined && cancelled ? t - call.start : Infinity;
    if (shortMs < r.shortCallMs) {
      const acc = this.#accounts.get(call.account);
      acc.last = t;
      acc.shortSamples.add(callId);
      const n = acc.short.add(t, r.shortCallWindowMs);
      const d = acc.shortDestinations.add(call.number, t, r.shortCallWindowMs);
      if (d >= r.shortCallDistinctDestinations) {
        out.push(...this.#check('wangiri', r.shortCallBurst, n, r.shortCallWindowMs, { call, samples: acc.shortSamples.list }, t, rules,
          `${n} calls shorter than ${r.shortCallMs} ms to ${d} numbers`));
      }
    }
    return out;
  }

  #network(e: SipEvent, t: number, rules: Rules, acc: AccountState, account: string, client: string): Finding[] {
    const r = rules.tollfraud;
    acc.calls++;
    if (!r.newNetwork) return [];
    const net = networkCached(client, r.networkBits);
    if (acc.networks.has(net)) return [];
    const known = acc.calls > r.learnCalls && acc.networks.size > 0;
    if (acc.networks.size < 64) acc.networks.add(net);
    if (!known) return [];
    return [{
      detector: 'tollfraud', rule: 'new_network', severity: 'warning', subject: { kind: 'account', value: account }, tenant: e.tenant, at: t, block: [],
      evidence: { count: 1, threshold: 1, windowMs: 0, detail: `${account} calls from ${net}, not seen in its first ${r.learnCalls} calls`, callIds: [e.call_id], extra: { network: net } },
    }];
  }

  #check(stat: string, th: FraudThresholds | undefined, value: number, windowMs: number, base: { call: Call; samples: readonly string[] }, t: number,
    rules: Rules, detail: string): Finding[] {
    if (th === undefined) return [];
    // A threshold of 0 turns that statistic off (OpenSIPS users asked for exactly this, issue #890).
    const severity: Severity | undefined = th.critical > 0 && value >= th.critical ? 'critical' : th.warning > 0 && value >= th.warning ? 'warning' : undefined;
    if (severity === undefined) return [];
    const { call } = base;
    const block = severity === 'critical' && rules.tollfraud.blockSources ? [call.client] : [];
    return [{
      detector: 'tollfraud', rule: call.ruleKey === '' ? stat : `${stat}:${call.ruleKey}`, severity, subject: { kind: 'account', value: call.account }, tenant: call.tenant, at: t, block,
      evidence: {
        count: value, threshold: severity === 'critical' ? th.critical : th.warning, windowMs, detail, callIds: base.samples,
        extra: { prefix: call.rule.prefix, number: call.number, source: call.client },
      },
    }];
  }

  #sweepCalls(now: number): void {
    for (const [id, c] of this.#calls) {
      if (c.start < now - CALL_MAX_MS) {
        this.#calls.delete(id);
        const k = this.#rules.peek(`${c.account}\u0000${c.ruleKey}`);
        if (k !== undefined && k.concurrent > 0) k.concurrent--;
      }
    }
  }

  sweep(now: number): void {
    this.#sweepCalls(now);
    this.#rules.sweep(now, 86_400_000);
    this.#accounts.sweep(now, 7 * 86_400_000);
  }
}

function longestRule(profile: readonly FraudRule[], number: string): FraudRule | undefined {
  let best: FraudRule | undefined;
  for (const r of profile) if (number.startsWith(r.prefix) && (best === undefined || r.prefix.length > best.prefix.length)) best = r;
  return best;
}

function inHours(hours: string | undefined, t: number): boolean {
  if (hours === undefined || hours === '') return true;
  const m = /^(\d{1,2})-(\d{1,2})$/.exec(hours);
  if (m === null) return true;
  const h = new Date(t).getUTCHours();
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a <= b ? h >= a && h < b : h >= a || h < b;
}

/** `networkOf` remembered per address and prefix length (it was ~0.35 µs of each call start; pure, so exact). */
function networkCached(ip: string, v4bits: number): string {
  let known = NETWORKS.get(v4bits);
  if (known === undefined) NETWORKS.set(v4bits, (known = new BoundedCache(10_000)));
  return known.get(ip) ?? known.set(ip, networkOf(ip, v4bits));
}

const NETWORKS = new Map<number, BoundedCache<string, string>>();

export function networkOf(ip: string, v4bits: number): string {
  if (isIPv4(ip)) {
    const parts = ip.split('.').map(Number);
    const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    const mask = v4bits === 0 ? 0 : (0xffffffff << (32 - v4bits)) >>> 0;
    const m = (n & mask) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${v4bits}`;
  }
  // IPv6: the first three groups (/48), written out.
  const groups = ip.split('::')[0]!.split(':');
  return `${groups.slice(0, 3).join(':')}::/48`;
}
