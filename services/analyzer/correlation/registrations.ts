/**
 * RegistrationTracker: one RegistrationRecord per REGISTER transaction (Call-ID + CSeq number), with its final
 * response, or with outcome `timeout` when none came.
 *
 * Why a transaction and not a binding: brute-force and scan detection count attempts. The 401 that starts a
 * normal digest exchange is its own record (`challenge`), so that attempts stay countable per source IP and per
 * user, and it is told apart from a 401/403 to a REGISTER that carried credentials (`auth_failed`: a wrong
 * password, the brute-force signal). The REGISTER that answers a challenge (same Call-ID, higher CSeq, within
 * the retry window; the From-tag may change, RFC 3665 2.1 does) has `challenged = true`.
 *
 * Copies of one REGISTER captured at several proxies (RFC 3327) share Call-ID and CSeq: one record, `hops`
 * counts them. Source addresses, NAT hints and the final status come from the copy nearest the UA (fewest Vias).
 * Time, windows, snapshots and bounds work as in the dialog tracker: records are computed from
 * order-independent facts and emitted one reorder window after they close.
 */
import type { SipContact, SipMessage } from '../sip/index.ts';
import type { ObservedSip } from './observed.ts';
// When tsx loads these modules as CommonJS (it can, depending on the entry script), every use of an imported name is a getter call on the exporting
// module's exports object; the hot ones are bound once, at load.
import * as observed from './observed.ts';
import { DeadlineScheduler, type DeadlineSource } from './deadlines.ts';
import * as common from './common.ts';

const { toUs } = observed;
const { addDistinct, addrUserDomain, badSnapshot, CallIdIndex, checkUs, EntryJson, isIpLiteral, isPrivateAddress, minOrNull, RecordOutbox, uriKey } = common;

export type RegistrationOutcome =
  /** 2xx to a REGISTER with bindings. */
  | 'registered'
  /** 2xx to `Contact: *` or bindings that all ask expires 0. */
  | 'deregistered'
  /** 2xx to a REGISTER without Contact (RFC 3665 2.3: fetch the bindings). */
  | 'query'
  /** 401/407 to a REGISTER without credentials: the normal first half of digest authentication. */
  | 'challenge'
  /** 401/407/403 to a REGISTER that carried credentials: wrong password or user. */
  | 'auth_failed'
  /** Any other final ≥ 300. */
  | 'failed'
  /** No final response within the timeout (or evicted before one). */
  | 'timeout';

export interface RegistrationRecord {
  /** Earliest copy of the REGISTER; the first response's time when the request was not captured. */
  ts_us: number;
  response_us: number | null;
  call_id: string;
  cseq: number;
  /** Address of record, from To. */
  aor_user: string | null;
  aor_domain: string | null;
  /** Bindings asked for, `scheme:user@host:port`; `['*']` for a wildcard. */
  contacts: string[];
  /** First Contact's expires parameter, else the Expires header. */
  expires_requested: number | null;
  /** For 2xx: the expires the registrar granted to the first requested binding (its Contact in the 2xx, else the
   * Expires header, else the only Contact of the 2xx); 0 for de-registrations; null otherwise. */
  expires_granted: number | null;
  status: number | null;
  reason: string | null;
  outcome: RegistrationOutcome;
  challenged: boolean;
  deregistration: boolean;
  /** Digest `username` as written, from Authorization or Proxy-Authorization. */
  auth_user: string | null;
  user_agent: string | null;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  transport: string;
  capture_id: number;
  node: string;
  contact_host: string | null;
  /** The first binding's host is a private/CGNAT/link-local address. */
  nat_private_contact: boolean;
  /** The first binding's host is an IP literal other than the packet's source address. */
  nat_contact_mismatch: boolean;
  /** `received` / numeric `rport` a proxy wrote into the UA's Via. */
  via_received: string | null;
  via_rport: number | null;
  behind_nat: boolean;
  hops: number;
  retransmissions: number;
  messages: number;
}

export interface RegistrationTrackerOptions {
  /** Default 2 s, as for dialogs. */
  readonly reorderWindowUs?: number;
  /** A challenge older than this does not mark the next REGISTER `challenged`. Default 10 s. */
  readonly retryWindowUs?: number;
  /** A REGISTER without final response is closed this long after its first copy. Default 32 s (Timer F). */
  readonly transactionTimeoutUs?: number;
  /** Open transactions kept at most; more evicts the oldest as `timeout`. Default 100 000. */
  readonly maxTransactions?: number;
}

export interface RegistrationTrackerStats {
  messages: number;
  /** Not REGISTER or a response to one. */
  ignored: number;
  transactions_opened: number;
  records: number;
  /** Copies of a transaction already emitted (a retransmitted 200, a late hop). */
  late: number;
  evicted: number;
  open_transactions: number;
}

interface Binding {
  key: string;
  host: string | null;
  expires: number | null;
}

interface Addresses {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  transport: string;
  captureId: number;
  node: string;
}

interface ReqInfo extends Addresses {
  aorUser: string | null;
  aorDomain: string | null;
  contacts: Binding[];
  wildcard: boolean;
  expiresHeader: number | null;
  authUser: string | null;
  credentials: boolean;
  userAgent: string | null;
}

interface FinalInfo extends Addresses {
  ts: number;
  via: number;
  code: number;
  reason: string;
  aorUser: string | null;
  aorDomain: string | null;
  contacts: Binding[];
  expiresHeader: number | null;
}

interface RegFacts {
  key: string;
  callId: string;
  cseq: number;
  firstTs: number;
  req: { via: number; ts: number; info: ReqInfo } | null;
  reqTs: number | null;
  minReqVia: number | null;
  hops: string[];
  copies: number;
  final: FinalInfo | null;
  received: string | null;
  rport: number | null;
  messages: number;
}

interface Challenge {
  cseq: number;
  ts: number;
}

export interface RegistrationSnapshot {
  readonly v: 1;
  readonly kind: 'registrations';
  readonly now: number;
  readonly nextSweep: number;
  readonly txns: RegFacts[];
  readonly challenges: [string, Challenge[]][];
  readonly tombs: [string, number][];
  readonly stats: RegistrationTrackerStats;
}

const NEVER = Number.MIN_SAFE_INTEGER;

function emptyStats(): RegistrationTrackerStats {
  return { messages: 0, ignored: 0, transactions_opened: 0, records: 0, late: 0, evicted: 0, open_transactions: 0 };
}

function bindings(list: readonly SipContact[]): { contacts: Binding[]; wildcard: boolean } {
  const contacts: Binding[] = [];
  let wildcard = false;
  for (const c of list) {
    if (c.wildcard) {
      wildcard = true;
      continue;
    }
    const host = c.uri.kind === 'sip' && c.uri.host !== '' ? c.uri.host.toLowerCase() : null;
    contacts.push({ key: uriKey(c.uri), host, expires: c.expires ?? null });
  }
  return { contacts, wildcard };
}

function hopKey(o: ObservedSip, m: SipMessage): string {
  const b = m.topVia?.branch;
  return b !== undefined ? `b:${b}` : `a:${o.srcIp}:${o.srcPort}>${o.dstIp}:${o.dstPort}`;
}

function better(via: number, ts: number, code: number, cur: { via: number; ts: number; code?: number } | null): boolean {
  if (cur === null) return true;
  if (via !== cur.via) return via < cur.via;
  if (ts !== cur.ts) return ts < cur.ts;
  return code < (cur.code ?? 0);
}

export class RegistrationTracker implements DeadlineSource {
  private readonly windowUs: number;
  private readonly retryWindowUs: number;
  private readonly timeoutUs: number;
  private readonly maxTxns: number;

  private now = NEVER;
  private nextSweep = NEVER;
  private txns = new Map<string, RegFacts>();
  /** The open transactions of each Call-ID: finds a message's transaction without building its key string. */
  private readonly byCallId = new CallIdIndex<RegFacts>();
  /** Records emitted by the current call, allocated only when there is one. */
  private readonly outbox = new RecordOutbox<RegistrationRecord>();
  /** 401/407 seen per Call-ID: what marks the next REGISTER `challenged`. */
  private challenges = new Map<string, Challenge[]>();
  private tombs = new Map<string, number>();
  private deadlines = new DeadlineScheduler();
  private counters = emptyStats();
  /** Snapshot text of open transactions not changed since the last snapshot (`snapshotJson`). */
  private readonly txnJson = new EntryJson<RegFacts>();

  constructor(options: RegistrationTrackerOptions = {}) {
    this.windowUs = checkUs('reorderWindowUs', options.reorderWindowUs ?? 2_000_000);
    this.retryWindowUs = checkUs('retryWindowUs', options.retryWindowUs ?? 10_000_000);
    this.timeoutUs = checkUs('transactionTimeoutUs', options.transactionTimeoutUs ?? 32_000_000);
    this.maxTxns = checkUs('maxTransactions', options.maxTransactions ?? 100_000, 1);
  }

  /** Feeds one message; returns the transactions that became final (possibly none: then a shared frozen array). */
  observe(o: ObservedSip): readonly RegistrationRecord[] {
    const ts = toUs(o.tsUs);
    if (ts > this.now) this.advance(ts);
    this.counters.messages++;
    const m = o.message;
    if (m.cseq.method !== 'REGISTER' || (m.kind === 'request' && m.method !== 'REGISTER')) {
      this.counters.ignored++;
      return this.outbox.take();
    }
    let f = this.find(m.callId, m.cseq.seq);
    // As for dialogs: a copy captured after the transaction closed is a straggler in every arrival order.
    if (f !== undefined && ts > this.closeAt(f)) {
      this.counters.late++;
      return this.outbox.take();
    }
    if (f === undefined) {
      const key = `${m.callId}\n${m.cseq.seq}`;
      if (this.tombs.has(key)) {
        this.counters.late++;
        return this.outbox.take();
      }
      if (this.txns.size >= this.maxTxns) {
        const oldest = this.txns.values().next().value;
        if (oldest !== undefined) {
          this.counters.evicted++;
          this.outbox.push(this.emit(oldest));
        }
      }
      f = {
        key, callId: m.callId, cseq: m.cseq.seq, firstTs: ts, req: null, reqTs: null, minReqVia: null, hops: [],
        copies: 0, final: null, received: null, rport: null, messages: 0,
      };
      this.txns.set(key, f);
      this.byCallId.add(f);
      this.counters.transactions_opened++;
    }
    this.apply(f, o, m, ts);
    this.txnJson.changed(f);
    this.schedule(f);
    return this.outbox.take();
  }

  advanceTo(tsUs: bigint | number): readonly RegistrationRecord[] {
    const ts = toUs(tsUs);
    if (ts > this.now) this.advance(ts);
    return this.outbox.take();
  }

  /** DeadlineSource: a transaction's real deadline, undefined once emitted. */
  realDue(key: string): number | undefined {
    const f = this.txns.get(key);
    return f === undefined ? undefined : this.closeAt(f) + this.windowUs;
  }

  private find(callId: string, cseq: number): RegFacts | undefined {
    const list = this.byCallId.get(callId);
    if (list !== undefined) for (const f of list) if (f.cseq === cseq) return f;
    return undefined;
  }

  clockUs(): number {
    return this.now;
  }

  /** A lower bound of the earliest moment (µs) at which advancing would emit a record; undefined when none is open. */
  nextDueUs(): number | undefined {
    return this.deadlines.next();
  }

  stats(): RegistrationTrackerStats {
    return { ...this.counters, open_transactions: this.txns.size };
  }

  snapshot(): RegistrationSnapshot {
    return structuredClone({
      v: 1 as const,
      kind: 'registrations' as const,
      now: this.now,
      nextSweep: this.nextSweep,
      txns: [...this.txns.values()],
      challenges: [...this.challenges.entries()],
      tombs: [...this.tombs.entries()],
      stats: this.stats(),
    });
  }

  /**
   * `JSON.stringify(this.snapshot())`, character for character, without the copy: open transactions are serialized
   * only when they changed since the previous snapshot (`EntryJson`). Challenges and tombstones are small and
   * written whole.
   */
  snapshotJson(): string {
    const txns: string[] = [];
    for (const f of this.txns.values()) txns.push(this.txnJson.get(f) ?? this.txnJson.keep(f, JSON.stringify(f)));
    return `{"v":1,"kind":"registrations","now":${JSON.stringify(this.now)},"nextSweep":${JSON.stringify(this.nextSweep)},` +
      `"txns":[${txns.join(',')}],"challenges":${JSON.stringify([...this.challenges.entries()])},` +
      `"tombs":${JSON.stringify([...this.tombs.entries()])},"stats":${JSON.stringify(this.stats())}}`;
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Partial<RegistrationSnapshot> | null;
    if (s === null || typeof s !== 'object' || s.v !== 1 || s.kind !== 'registrations' || typeof s.now !== 'number' ||
      typeof s.nextSweep !== 'number' || !Array.isArray(s.txns) || !Array.isArray(s.challenges) ||
      !Array.isArray(s.tombs) || s.stats === undefined) {
      throw badSnapshot('not a version 1 registration tracker snapshot');
    }
    const copy = structuredClone(s as RegistrationSnapshot);
    this.now = copy.now;
    this.nextSweep = copy.nextSweep;
    this.txns = new Map(copy.txns.map((t) => [t.key, t]));
    this.byCallId.clear();
    for (const t of this.txns.values()) this.byCallId.add(t);
    this.challenges = new Map(copy.challenges);
    this.tombs = new Map(copy.tombs);
    this.counters = { ...emptyStats(), ...copy.stats };
    this.txnJson.clear();
    this.deadlines.clear();
    for (const t of this.txns.values()) this.schedule(t);
  }

  private apply(f: RegFacts, o: ObservedSip, m: SipMessage, ts: number): void {
    f.messages++;
    if (ts < f.firstTs) f.firstTs = ts;
    const ua = m.via[m.via.length - 1];
    if (ua?.received !== undefined && (f.received === null || ua.received < f.received)) f.received = ua.received;
    if (typeof ua?.rport === 'number' && (f.rport === null || ua.rport < f.rport)) f.rport = ua.rport;
    const via = m.via.length;
    if (m.kind === 'request') {
      f.copies++;
      addDistinct(f.hops, hopKey(o, m), 16);
      f.reqTs = minOrNull(f.reqTs, ts);
      f.minReqVia = f.minReqVia === null ? via : Math.min(f.minReqVia, via);
      if (better(via, ts, 0, f.req)) {
        const to = addrUserDomain(m.to);
        const b = bindings(m.contact);
        const auth = m.authorization ?? m.proxyAuthorization;
        // Key order as the snapshot has always written it (addresses first).
        f.req = {
          via,
          ts,
          info: {
            srcIp: o.srcIp, srcPort: o.srcPort, dstIp: o.dstIp, dstPort: o.dstPort, transport: o.transport,
            captureId: o.captureId, node: o.node,
            aorUser: to.user,
            aorDomain: to.domain,
            contacts: b.contacts,
            wildcard: b.wildcard,
            expiresHeader: m.expires ?? null,
            authUser: auth?.username ?? null,
            credentials: auth !== undefined,
            userAgent: m.userAgent ?? null,
          },
        };
      }
      return;
    }
    if (m.statusCode < 200) return;
    if (m.statusCode === 401 || m.statusCode === 407) {
      const list = this.challenges.get(f.callId);
      const seen = list?.find((c) => c.cseq === f.cseq);
      if (seen !== undefined) seen.ts = Math.min(seen.ts, ts);
      else if (list !== undefined) list.push({ cseq: f.cseq, ts });
      else this.challenges.set(f.callId, [{ cseq: f.cseq, ts }]);
    }
    if (better(via, ts, m.statusCode, f.final)) {
      const to = addrUserDomain(m.to);
      f.final = {
        srcIp: o.dstIp, srcPort: o.dstPort, dstIp: o.srcIp, dstPort: o.srcPort, transport: o.transport,
        captureId: o.captureId, node: o.node,
        ts,
        via,
        code: m.statusCode,
        reason: m.reasonPhrase,
        aorUser: to.user,
        aorDomain: to.domain,
        contacts: bindings(m.contact).contacts,
        expiresHeader: m.expires ?? null,
      };
    }
  }

  private closeAt(f: RegFacts): number {
    const fin = f.final;
    if (fin !== null && (f.minReqVia === null || fin.via <= f.minReqVia)) return fin.ts + this.windowUs;
    return (f.reqTs ?? f.firstTs) + this.timeoutUs;
  }

  private schedule(f: RegFacts): void {
    this.deadlines.schedule(f.key, this.closeAt(f) + this.windowUs);
  }

  private advance(ts: number): void {
    this.now = ts;
    const due = this.deadlines.takeDue(ts, this);
    for (let i = 0; i < due.length; i++) this.outbox.push(this.emit(this.txns.get(due[i]!)!));
    if (ts >= this.nextSweep) this.sweep(ts);
  }

  private sweep(now: number): void {
    this.nextSweep = now + Math.max(this.windowUs, 1);
    // Kept until no REGISTER they could mark can still close: retry window + its settle + reorder slack.
    const limit = now - this.retryWindowUs - this.timeoutUs - 3 * this.windowUs;
    for (const [callId, list] of this.challenges) {
      let old = 0;
      for (const c of list) if (c.ts < limit) old++;
      if (old === 0) continue;
      const keep = list.filter((c) => c.ts >= limit);
      if (keep.length === 0) this.challenges.delete(callId);
      else if (keep.length !== list.length) this.challenges.set(callId, keep);
    }
    for (const [key, until] of this.tombs) {
      if (until >= now) break;
      this.tombs.delete(key);
    }
  }

  private emit(f: RegFacts): RegistrationRecord {
    this.txns.delete(f.key);
    this.byCallId.remove(f);
    this.deadlines.remove(f.key);
    this.tombs.delete(f.key);
    this.tombs.set(f.key, this.now + this.timeoutUs + this.windowUs);
    this.counters.records++;
    return this.record(f);
  }

  private record(f: RegFacts): RegistrationRecord {
    const req = f.req?.info ?? null;
    const fin = f.final;
    const addr: Addresses = req ?? fin ?? {
      srcIp: '', srcPort: 0, dstIp: '', dstPort: 0, transport: '', captureId: 0, node: '',
    };
    const contacts = req?.contacts ?? [];
    const firstBinding = contacts[0];
    const expiresRequested = req === null ? null : firstBinding?.expires ?? req.expiresHeader;
    const dereg = req !== null &&
      (req.wildcard || (contacts.length > 0 && contacts.every((c) => (c.expires ?? req.expiresHeader) === 0)));
    let outcome: RegistrationOutcome;
    let granted: number | null = null;
    if (fin === null) {
      outcome = 'timeout';
    } else if (fin.code < 300) {
      if (dereg) {
        outcome = 'deregistered';
        granted = 0;
      } else if (req !== null && contacts.length === 0) {
        outcome = 'query';
      } else {
        outcome = 'registered';
        const match = firstBinding === undefined ? undefined : fin.contacts.find((c) => c.key === firstBinding.key);
        granted = match?.expires ?? fin.expiresHeader ?? (fin.contacts.length === 1 ? fin.contacts[0]!.expires : null);
      }
    } else if (fin.code === 401 || fin.code === 407) {
      outcome = req?.credentials === true ? 'auth_failed' : 'challenge';
    } else if (fin.code === 403 && req?.credentials === true) {
      outcome = 'auth_failed';
    } else {
      outcome = 'failed';
    }
    const start = f.reqTs ?? f.firstTs;
    const challenged = (this.challenges.get(f.callId) ?? []).some((c) =>
      c.cseq < f.cseq && c.ts >= start - this.retryWindowUs && c.ts <= start);
    const contactHost = firstBinding?.host ?? null;
    const privateContact = contactHost !== null && isPrivateAddress(contactHost);
    const mismatch = contactHost !== null && req !== null && isIpLiteral(contactHost) && contactHost !== req.srcIp.toLowerCase();
    return {
      ts_us: start,
      response_us: fin?.ts ?? null,
      call_id: f.callId,
      cseq: f.cseq,
      aor_user: req?.aorUser ?? fin?.aorUser ?? null,
      aor_domain: req?.aorDomain ?? fin?.aorDomain ?? null,
      contacts: req?.wildcard === true ? ['*'] : contacts.map((c) => c.key),
      expires_requested: expiresRequested,
      expires_granted: granted,
      status: fin?.code ?? null,
      reason: fin?.reason ?? null,
      outcome,
      challenged,
      deregistration: dereg,
      auth_user: req?.authUser ?? null,
      user_agent: req?.userAgent ?? null,
      src_ip: addr.srcIp,
      src_port: addr.srcPort,
      dst_ip: addr.dstIp,
      dst_port: addr.dstPort,
      transport: addr.transport,
      capture_id: addr.captureId,
      node: addr.node,
      contact_host: contactHost,
      nat_private_contact: privateContact,
      nat_contact_mismatch: mismatch,
      via_received: f.received,
      via_rport: f.rport,
      behind_nat: privateContact || mismatch,
      hops: f.hops.length,
      retransmissions: Math.max(0, f.copies - f.hops.length),
      messages: f.messages,
    };
  }
}
