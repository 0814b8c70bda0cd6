/**
 * All detectors over one event stream, pure: events in, findings out. Applies the allowlist (an allowlisted
 * source is neither judged nor blocked; account findings still fire), per-tenant rules, de-duplication of replayed
 * events by id, and a per-subject throttle so a flood yields one finding a second, not one per packet.
 */
import { eventTimeMs, type Finding, type QuarantineEvent, type SipEvent, clientIp } from './types.ts';
import { rulesFor, type RulesFile } from './rules.ts';
import type { Allowlist } from './allowlist.ts';
import type { PrefixList } from './numbers.ts';
import { FloodDetector } from './flood.ts';
import { ScannerDetector } from './scanner.ts';
import { BruteForceDetector } from './bruteforce.ts';
import { TollFraudDetector } from './tollfraud.ts';
import { MalformedDetector } from './malformed.ts';
import { OldestFirst } from '../../shared/oldest-first.ts';

const THROTTLE_MS = 1_000;
const SEEN_IDS = 200_000;
/** How long a final response waits for its request (they travel on different partitions: keyed by source IP). */
const EARLY_MS = 10_000;
const EARLY_MAX = 100_000;

/**
 * Which aggregations an engine runs. A guard fed `sip.events` directly runs all of them; a scaled-out guard runs
 * each on the stream re-keyed by what it aggregates on (client address, From user, destination address), so
 * every subject's events reach exactly one engine in the group (facts.ts).
 */
export interface EngineParts {
  /** Per client address: flood per source, scanner, brute force per source, malformed. */
  readonly source: boolean;
  /** Per account: distributed brute force, toll fraud, new network. */
  readonly account: boolean;
  /** Per destination address: flood per destination. */
  readonly destination: boolean;
}

export const ALL_PARTS: EngineParts = { source: true, account: true, destination: true };

/** Early final responses of one Call-ID and their event times, index for index. */
interface Early {
  readonly events: SipEvent[];
  readonly times: number[];
}

export class DetectorEngine {
  readonly #flood = new FloodDetector();
  readonly #scanner = new ScannerDetector();
  readonly #brute = new BruteForceDetector();
  readonly #fraud: TollFraudDetector;
  readonly #malformed = new MalformedDetector();
  readonly #seen = new Set<string>();
  /** `#seen` in insertion order, as a ring: the oldest id leaves when it is full (no iterator per event). */
  readonly #seenOrder: string[] = [];
  #seenHead = 0;
  readonly #lastEmitted = new Map<string, number>();
  /**
   * Final responses by Call-ID, kept briefly so a request read after its response still gets paired; each with its
   * event time, read once when it arrived (re-reading it for every later request on the Call-ID was ~0.7 µs an event).
   */
  readonly #early = new Map<string, Early>();
  readonly #earliest = new OldestFirst(this.#early);
  #now = -Infinity;
  duplicates = 0;

  constructor(private readonly rules: RulesFile, private readonly allowlist: Allowlist, highRisk: PrefixList, readonly parts: EngineParts = ALL_PARTS) {
    this.#fraud = new TollFraudDetector(highRisk);
  }

  /** Latest event time seen: the clock of the windows. */
  get now(): number {
    return this.#now;
  }

  sip(e: SipEvent): Finding[] {
    const t = this.#time(e.ts, e.id);
    if (t === undefined) return [];
    const rules = rulesFor(this.rules, e.tenant);
    const out: Finding[] = [];
    const p = this.parts;
    const judged = !this.allowlist.has(clientIp(e));
    if (judged) {
      add(out, this.#flood.observe(e, t, rules, p));
      add(out, this.#brute.observe(e, t, rules, p));
      if (p.source) add(out, this.#scanner.observe(e, t, rules));
    }
    if (p.account) add(out, this.#fraud.observe(e, t, rules));
    if (e.call_id !== '') {
      if (e.status >= 200) this.#keepEarly(e, t);
      else if (e.status === 0) {
        // Responses to this request that were read before it (another partition was ahead): pair them now.
        const early = this.#early.get(e.call_id);
        for (let i = 0; early !== undefined && i < early.events.length; i++) {
          const r = early.events[i]!;
          const rt = early.times[i]!;
          if (r.cseq !== undefined && e.cseq !== undefined ? r.cseq < e.cseq : rt < t) continue;
          if (judged) add(out, this.#brute.observe(r, rt, rules, p));
          if (p.account) add(out, this.#fraud.observe(r, rt, rules));
        }
      }
    }
    return this.#finish(out);
  }

  #keepEarly(e: SipEvent, t: number): void {
    let list = this.#early.get(e.call_id);
    if (list === undefined) {
      if (this.#early.size >= EARLY_MAX) this.#early.delete(this.#earliest.take()!);
      this.#early.set(e.call_id, (list = { events: [], times: [] }));
    }
    if (list.events.length < 8) {
      list.events.push(e);
      list.times.push(t);
    }
  }

  quarantine(e: QuarantineEvent): Finding[] {
    const t = this.#time(e.ts, e.id);
    if (t === undefined || !this.parts.source || this.allowlist.has(e.src_ip)) return [];
    return this.#finish(this.#malformed.observe(e, t, this.rules.rules));
  }

  sweep(now = this.#now): void {
    this.#flood.sweep(now);
    this.#scanner.sweep(now);
    this.#brute.sweep(now);
    this.#fraud.sweep(now);
    this.#malformed.sweep(now);
    for (const [k, t] of this.#lastEmitted) if (t < now - 10 * THROTTLE_MS) this.#lastEmitted.delete(k);
    for (const [k, list] of this.#early) if (list.times[list.times.length - 1]! < now - EARLY_MS) this.#early.delete(k);
    this.#earliest.reset();
  }

  #time(ts: string, id: string): number | undefined {
    const t = eventTimeMs(ts);
    if (!Number.isFinite(t)) return undefined;
    if (id !== '') {
      // One probe of the table, not two: `add` of an id already there leaves the set as it is (order included).
      const before = this.#seen.size;
      if (this.#seen.add(id).size === before) {
        this.duplicates++;
        return undefined;
      }
      if (this.#seenOrder.length < SEEN_IDS) this.#seenOrder.push(id);
      else {
        // Added first, then the oldest leaves: the same set as leaving first, then adding.
        this.#seen.delete(this.#seenOrder[this.#seenHead]!);
        this.#seenOrder[this.#seenHead] = id;
        this.#seenHead = (this.#seenHead + 1) % SEEN_IDS;
      }
    }
    if (t > this.#now) this.#now = t;
    return t;
  }

  #finish(findings: Finding[]): Finding[] {
    if (findings.length === 0) return findings;
    const out: Finding[] = [];
    for (const f of findings) {
      const block = f.block.filter((ip) => !this.allowlist.has(ip));
      if (f.subject.kind === 'ip' && this.allowlist.has(f.subject.value)) continue;
      const key = `${f.detector}|${f.rule}|${f.subject.kind}|${f.subject.value}|${f.severity}|${block.join(',')}`;
      const last = this.#lastEmitted.get(key);
      if (last !== undefined && f.at - last < THROTTLE_MS && f.at >= last) continue;
      this.#lastEmitted.set(key, f.at);
      out.push(block.length === f.block.length ? f : { ...f, block });
    }
    return out;
  }
}

/** `out.push(...found)` without spreading: most calls find nothing. */
function add(out: Finding[], found: readonly Finding[]): void {
  for (let i = 0; i < found.length; i++) out.push(found[i]!);
}
