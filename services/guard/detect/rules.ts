/**
 * Detector thresholds. The defaults are meant to be kept: they sit well above what a registering phone, a calling
 * PBX or an OPTIONS monitor produces and well below what sipvicious, a password guesser or a flood produces.
 * An operator overrides any of them in a JSON rules file (`GUARD_RULES_FILE`), globally and per tenant:
 * `{ "flood": { "perSourceLimit": 60 }, "tenants": { "acme": { "tollfraud": { "blockSources": true } } } }`.
 */
import { TollgateError } from '../../shared/errors.ts';
import { GuardErrors } from '../errors.ts';

export interface FraudThresholds {
  readonly warning: number;
  readonly critical: number;
}

/** One rule of a fraud profile, in the OpenSIPS fraud_detection model: a destination prefix and its limits. */
export interface FraudRule {
  readonly prefix: string;
  /** Calls started in the last 60 s (gliding window). */
  readonly cpm?: FraudThresholds;
  /** Calls in the rule's interval (`window`). */
  readonly total?: FraudThresholds;
  readonly concurrent?: FraudThresholds;
  /** Consecutive calls to the same number. */
  readonly sequential?: FraudThresholds;
  /** Seconds of one answered call. */
  readonly duration?: FraudThresholds;
  /** Interval of `total`: `hour` or `day`. */
  readonly window?: 'hour' | 'day';
  /** Hours (UTC, `start-end`, end exclusive) the rule applies; default all day. */
  readonly hours?: string;
}

export interface Rules {
  readonly flood: {
    readonly enabled: boolean;
    /** Requests from one source in `windowMs` that block it (pike: 30 per 2 s unit). */
    readonly perSourceLimit: number;
    readonly windowMs: number;
    /** Requests towards one destination address in `windowMs`: an alert (a DDoS on a proxy), no block. */
    readonly perDestinationLimit: number;
  };
  readonly scanner: {
    readonly enabled: boolean;
    /** Case-insensitive User-Agent substrings of attack tools: one request blocks. */
    readonly toolUserAgents: readonly string[];
    /** `user@domain` From values that only scanners send. */
    readonly fromTells: readonly string[];
    readonly windowMs: number;
    /** Distinct users/extensions one source touches in the window. */
    readonly distinctUsers: number;
    /** Longest run of consecutive numeric extensions one source touches. */
    readonly sequentialRun: number;
    /** Share of 401/403/404/407 among final responses, needed with either signal above. */
    readonly failureRatio: number;
    readonly minResponses: number;
  };
  readonly bruteforce: {
    readonly enabled: boolean;
    readonly windowMs: number;
    /** Rejected credentialed requests (REGISTER/INVITE with credentials answered 401/403/407) from one source. */
    readonly perSourceFailures: number;
    /** Distinct sources failing on one account in `distributedWindowMs`: alert on the account, block the sources. */
    readonly distributedSources: number;
    readonly distributedWindowMs: number;
    /** A source must have failed this often on the account before a distributed finding blocks it. */
    readonly distributedMinFailuresPerSource: number;
  };
  readonly tollfraud: {
    readonly enabled: boolean;
    /** Block the sources an account's critical fraud comes from (off: alert only; a PBX may be shared). */
    readonly blockSources: boolean;
    /** Prefixes stripped before normalising (tech prefixes such as `*67` or a trunk code `9`). */
    readonly techPrefixes: readonly string[];
    /** Country code assumed for national numbers (`0…`), digits only; empty: leave them national. */
    readonly defaultCountryCode: string;
    /** Rules for destinations on the high-risk list. */
    readonly highRisk: FraudRule;
    /** Further per-prefix rules (longest prefix wins), e.g. `{ "prefix": "+44", "cpm": {...} }`. */
    readonly profile: readonly FraudRule[];
    /** Wangiri bursts: calls cancelled by the caller within `shortCallMs` of ringing, never answered, from one account. */
    readonly shortCallMs: number;
    readonly shortCallBurst: FraudThresholds;
    readonly shortCallWindowMs: number;
    readonly shortCallDistinctDestinations: number;
    /** New network for an account: a warning once the account is known from `learnCalls` calls. */
    readonly newNetwork: boolean;
    readonly learnCalls: number;
    /** IPv4 prefix length that makes one "network" (IPv6: 48). */
    readonly networkBits: number;
  };
  readonly malformed: {
    readonly enabled: boolean;
    readonly windowMs: number;
    readonly warning: number;
    readonly critical: number;
  };
}

export const DEFAULT_RULES: Rules = {
  flood: { enabled: true, perSourceLimit: 30, windowMs: 2_000, perDestinationLimit: 2_000 },
  scanner: {
    enabled: true,
    toolUserAgents: ['friendly-scanner', 'sipvicious', 'sipcli', 'vaxsipuseragent', 'sip call', 'simplesip', 'sipsak',
      'sundayddr', 'iwar', 'pplsip', 'sipscan', 'sip-scan', 'smap', 'svcrack', 'svwar', 'voipbuster'],
    fromTells: ['100@1.1.1.1', 'nm@nm'],
    windowMs: 60_000,
    distinctUsers: 10,
    sequentialRun: 6,
    failureRatio: 0.6,
    minResponses: 6,
  },
  bruteforce: {
    enabled: true,
    windowMs: 60_000,
    perSourceFailures: 8,
    distributedSources: 5,
    distributedWindowMs: 600_000,
    distributedMinFailuresPerSource: 2,
  },
  tollfraud: {
    enabled: true,
    blockSources: false,
    techPrefixes: [],
    defaultCountryCode: '',
    highRisk: {
      prefix: '',
      cpm: { warning: 5, critical: 10 },
      total: { warning: 20, critical: 50 },
      concurrent: { warning: 3, critical: 6 },
      sequential: { warning: 5, critical: 10 },
      duration: { warning: 1_800, critical: 3_600 },
      window: 'hour',
    },
    profile: [
      { prefix: '+', cpm: { warning: 60, critical: 120 }, concurrent: { warning: 30, critical: 60 }, sequential: { warning: 20, critical: 40 } },
    ],
    shortCallMs: 5_000,
    shortCallBurst: { warning: 10, critical: 25 },
    shortCallWindowMs: 300_000,
    shortCallDistinctDestinations: 5,
    newNetwork: true,
    learnCalls: 20,
    networkBits: 24,
  },
  malformed: { enabled: true, windowMs: 60_000, warning: 10, critical: 30 },
};

export interface RulesFile {
  readonly rules: Rules;
  readonly tenants: ReadonlyMap<string, Rules>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Overrides merged onto the defaults; unknown keys and values of the wrong type are refused by name. */
export function loadRules(input: unknown, where = 'rules'): RulesFile {
  if (input === undefined || input === null) return { rules: DEFAULT_RULES, tenants: new Map() };
  if (typeof input !== 'object' || Array.isArray(input)) throw badRules(where, 'expected a JSON object');
  const { tenants, ...global } = input as Record<string, Json>;
  const rules = merge(DEFAULT_RULES as unknown as Json, global as Json, where) as unknown as Rules;
  const perTenant = new Map<string, Rules>();
  if (tenants !== undefined) {
    if (typeof tenants !== 'object' || tenants === null || Array.isArray(tenants)) throw badRules(`${where}.tenants`, 'expected an object of tenant → overrides');
    for (const [t, o] of Object.entries(tenants)) perTenant.set(t, merge(rules as unknown as Json, o, `${where}.tenants.${t}`) as unknown as Rules);
  }
  return { rules, tenants: perTenant };
}

export function rulesFor(file: RulesFile, tenant: string): Rules {
  return file.tenants.get(tenant) ?? file.rules;
}

function merge(base: Json, over: Json, path: string): Json {
  if (Array.isArray(base)) {
    if (!Array.isArray(over)) throw badRules(path, 'expected an array');
    return over;
  }
  if (base !== null && typeof base === 'object') {
    if (over === null || typeof over !== 'object' || Array.isArray(over)) throw badRules(path, 'expected an object');
    const out: Record<string, Json> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (!(k in base)) {
        // Optional members of a fraud rule may be absent from the default and still be valid.
        if (!OPTIONAL_KEYS.has(k)) throw badRules(`${path}.${k}`, `unknown setting (known: ${Object.keys(base).join(', ')})`);
        out[k] = v;
      } else {
        out[k] = merge(base[k]!, v, `${path}.${k}`);
      }
    }
    return out;
  }
  if (typeof base === 'number') {
    if (typeof over !== 'number' || !Number.isFinite(over) || over < 0) throw badRules(path, `expected a number ≥ 0, got ${JSON.stringify(over)}`);
    return over;
  }
  if (typeof base !== typeof over) throw badRules(path, `expected a ${typeof base}, got ${JSON.stringify(over)}`);
  return over;
}

const OPTIONAL_KEYS = new Set(['cpm', 'total', 'concurrent', 'sequential', 'duration', 'window', 'hours']);

function badRules(path: string, why: string): TollgateError {
  return new TollgateError(GuardErrors.badRules, `guard rules: ${path}: ${why}`, { path });
}

/**
 * The longest window any detector aggregates over, across the global rules and every tenant's: how far back a
 * restarted guard must replay to hold the same state (toll fraud's `total` per hour or day is the usual maximum).
 */
export function longestWindowMs(file: RulesFile): number {
  let max = 0;
  for (const r of [file.rules, ...file.tenants.values()]) {
    max = Math.max(max, r.flood.windowMs, r.scanner.windowMs, r.bruteforce.windowMs, r.bruteforce.distributedWindowMs, r.tollfraud.shortCallWindowMs,
      r.malformed.windowMs, 60_000);
    for (const fr of [r.tollfraud.highRisk, ...r.tollfraud.profile]) if (fr.total !== undefined) max = Math.max(max, fr.window === 'day' ? 86_400_000 : 3_600_000);
  }
  return max;
}
