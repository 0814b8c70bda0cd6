/**
 * The per-call state of the dialog tracker and the pure functions over it.
 *
 * A call's state is a bag of order-independent facts (minimums, arg-minimums with total tie-breaks, distinct
 * sets, counts). The record and the closing deadline are computed from the facts, never from the order in
 * which messages arrived; that is what makes capture reordering within the window harmless and a snapshot
 * restore equivalent to an uninterrupted run. Everything here is plain JSON.
 */
import type { SipMessage } from '../sip/index.ts';
import type { ObservedSip } from './observed.ts';
// When tsx loads these modules as CommonJS (it can, depending on the entry script), every use of an imported name is a getter call on the exporting
// module's exports object; the hot ones are bound once, at load.
import * as common from './common.ts';

const { addDistinct, addrUserDomain, minOrNull, uriUserDomain } = common;

/** How the call ended, as seen on the wire. */
export type CallState =
  /** 2xx to the INVITE, then BYE. `answer_us` is null when the 2xx was not captured but a BYE was. */
  | 'answered'
  /** 2xx, no BYE before the inactivity timeout, the maximum duration or eviction. */
  | 'timeout_without_bye'
  /** 486 Busy Here, 600 Busy Everywhere. */
  | 'busy'
  /** The caller sent CANCEL (or a 487 arrived without a captured CANCEL). */
  | 'cancelled'
  /** 408 Request Timeout, 480 Temporarily Unavailable: nobody picked up / reachable. */
  | 'no_answer'
  /** 403 Forbidden, 603 Decline. */
  | 'rejected'
  /** The last attempt was challenged (401/407) and not retried within the setup timeout. */
  | 'auth_failed'
  /** The last attempt got a 3xx that was not followed within the retry window. */
  | 'redirected'
  /** Any other final response ≥ 400. */
  | 'failed'
  /** No final response at all before the setup timeout or eviction. */
  | 'no_final_response';

export type CallEndReason = 'bye' | 'cancel' | 'final_response' | 'timeout' | 'max_duration' | 'evicted';
export type HangupSide = 'caller' | 'callee' | 'unknown';

/** One row per call attempt (INVITE dialog keyed by Call-ID + caller From-tag). Column names are the
 * ClickHouse ones. Times are µs since the epoch, durations ms (µs precision, so fractional). */
export interface CallRecord {
  call_id: string;
  from_tag: string;
  /** To-tag of the answering leg (earliest 2xx); else of the deciding final response; null if none. */
  to_tag: string | null;
  from_user: string | null;
  from_domain: string | null;
  from_display: string | null;
  to_user: string | null;
  to_domain: string | null;
  ruri_user: string | null;
  ruri_domain: string | null;
  /** Addresses of the first-hop copy of the first INVITE (fewest Vias, then earliest). */
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  transport: string;
  user_agent: string | null;
  /** Earliest copy of the first INVITE. */
  setup_us: number;
  /** Earliest 1xx (100 Trying included) to any INVITE of the attempt. */
  first_provisional_us: number | null;
  /** Earliest 180/183 (any 18x). */
  ring_us: number | null;
  /** setup → first 18x; without 18x: → answer; without answer: → final response; null when none came. */
  pdd_ms: number | null;
  answer_us: number | null;
  /** An ACK for the answered INVITE transaction was captured. */
  ack_seen: boolean;
  /** BYE, CANCEL, final response, or the last message seen for timeouts and evictions. */
  end_us: number;
  /** answer → end; null when not answered or when the 2xx was not captured. */
  duration_ms: number | null;
  final_status: number | null;
  final_reason: string | null;
  state: CallState;
  end_reason: CallEndReason;
  hangup_side: HangupSide;
  /** INVITE transactions without To-tag (CSeqs): 1 + auth retries + followed redirects. */
  attempts: number;
  /** Attempts answered 401/407. */
  auth_challenges: number;
  /** Attempts answered 3xx. */
  redirects: number;
  /** In-dialog INVITEs from either side, each CSeq once. */
  reinvites: number;
  /** A-leg Call-ID (configured header, X-CID, HEP correlation id) or P-Charging-Vector icid. */
  linked_call_id: string | null;
  /** `header:<name>`, `hep` or `icid`. */
  linked_source: string | null;
  capture_ids: number[];
  nodes: string[];
  /** Distinct capture points (top-Via branches) of the deciding INVITE: a capture at three proxies is one
   * call seen at three hops. */
  hops: number;
  /** Copies of INVITEs beyond one per hop and attempt. */
  retransmissions: number;
  /** Every SIP message attributed to the call, all hops and retransmissions included. */
  messages: number;
}

export interface InviteInfo {
  fromUser: string | null;
  fromDomain: string | null;
  fromDisplay: string | null;
  toUser: string | null;
  toDomain: string | null;
  ruriUser: string | null;
  ruriDomain: string | null;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  transport: string;
  userAgent: string | null;
}

export interface LinkCandidate {
  value: string;
  source: string;
  /** Lower wins: configured headers in order, then HEP, then icid. */
  rank: number;
}

/** The part of a message the dialog tracker keeps. Plain JSON so that buffered orphans survive a snapshot. */
export interface CallEvent {
  ts: number;
  callId: string;
  fromTag: string;
  toTag: string;
  isRequest: boolean;
  /** Request method, or the CSeq method of a response. */
  method: string;
  cseq: number;
  code: number;
  reason: string;
  viaCount: number;
  /** Identifies the capture point: top-Via branch, or addresses + Request-URI when Vias were stripped. */
  hopKey: string;
  captureId: number;
  node: string;
  link: LinkCandidate | null;
  /** Only on INVITE requests without To-tag. */
  invite: InviteInfo | null;
}

const CALL_METHODS = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'PRACK', 'UPDATE', 'INFO', 'REFER', 'NOTIFY']);
/** Methods worth holding while their INVITE may still arrive out of order. */
export const ORPHAN_METHODS = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE']);

export function isCallMethod(method: string): boolean {
  return CALL_METHODS.has(method);
}

function linkCandidate(o: ObservedSip, m: SipMessage, linkHeaders: readonly string[]): LinkCandidate | null {
  for (let i = 0; i < linkHeaders.length; i++) {
    const name = linkHeaders[i]!;
    const v = m.header(name);
    if (v !== undefined && v !== '' && v !== m.callId) return { value: v, source: `header:${name}`, rank: i };
  }
  const hep = o.correlationId;
  if (hep !== undefined && hep !== '' && hep !== m.callId) return { value: hep, source: 'hep', rank: linkHeaders.length };
  const icid = m.icid;
  if (icid !== undefined && icid !== '') return { value: icid, source: 'icid', rank: linkHeaders.length + 1 };
  return null;
}

/** Marks `viaCount` / `hopKey` not computed yet (see `needsHops`, `completeEvent`). */
export const LATER = -1;
const LATER_HOP = '';

/** Whether `applyEvent` reads the Via count and hop key of an event: INVITEs and responses to them. Other events
 * only need them when they are held as orphans (which a snapshot writes out whole): `completeEvent`. */
function needsVias(isRequest: boolean, method: string): boolean {
  return method === 'INVITE' || !isRequest;
}

function hopKeyOf(o: ObservedSip, m: SipMessage): string {
  const top = m.topVia;
  return top?.branch !== undefined
    ? `b:${top.branch}`
    : `a:${o.srcIp}:${o.srcPort}>${o.dstIp}:${o.dstPort}>${m.requestUriRaw ?? ''}`;
}

/** Fills in what `toCallEvent` left for later, before the event is kept (orphans): it must be whole then. */
export function completeEvent(e: CallEvent, o: ObservedSip): void {
  if (e.viaCount === LATER) e.viaCount = o.message.via.length;
  if (e.hopKey === LATER_HOP) e.hopKey = hopKeyOf(o, o.message);
}

export function toCallEvent(o: ObservedSip, ts: number, linkHeaders: readonly string[]): CallEvent {
  const m = o.message;
  const isRequest = m.kind === 'request';
  const method = isRequest ? m.method : m.cseq.method;
  const toTag = m.to.tag ?? '';
  const full = needsVias(isRequest, method);
  let invite: InviteInfo | null = null;
  if (isRequest && m.method === 'INVITE' && toTag === '') {
    const from = addrUserDomain(m.from);
    const to = addrUserDomain(m.to);
    const ruri = uriUserDomain(m.requestUri);
    invite = {
      fromUser: from.user,
      fromDomain: from.domain,
      fromDisplay: m.from.displayName ?? null,
      toUser: to.user,
      toDomain: to.domain,
      ruriUser: ruri.user,
      ruriDomain: ruri.domain,
      srcIp: o.srcIp,
      srcPort: o.srcPort,
      dstIp: o.dstIp,
      dstPort: o.dstPort,
      transport: o.transport,
      userAgent: m.userAgent ?? null,
    };
  }
  return {
    ts,
    callId: m.callId,
    fromTag: m.from.tag ?? '',
    toTag,
    isRequest,
    method,
    cseq: m.cseq.seq,
    code: isRequest ? 0 : m.statusCode,
    reason: isRequest ? '' : m.reasonPhrase,
    viaCount: full ? m.via.length : LATER,
    hopKey: full && isRequest ? hopKeyOf(o, m) : LATER_HOP,
    captureId: o.captureId,
    node: o.node,
    link: linkCandidate(o, m, linkHeaders),
    invite,
  };
}

interface Final {
  ts: number;
  code: number;
  reason: string;
  via: number;
  toTag: string;
}

/** One caller-side INVITE transaction (a CSeq number). */
interface Txn {
  cseq: number;
  /** A copy without To-tag was seen: an initial INVITE (first try, auth retry, redirect follow-up). */
  initial: boolean;
  /** A copy with To-tag was seen: a re-INVITE. */
  reinvite: boolean;
  inviteTs: number | null;
  minReqVia: number | null;
  hops: string[];
  copies: number;
  t1xx: number | null;
  t18x: number | null;
  ok: Final | null;
  /** Best non-2xx final: fewest Vias (closest to the caller), then earliest, then lowest code. */
  final: Final | null;
  cancelTs: number | null;
}

export interface CallFacts {
  key: string;
  callId: string;
  callerTag: string;
  /** First-hop copy of the first INVITE. */
  first: { cseq: number; via: number; ts: number; info: InviteInfo };
  txns: Txn[];
  calleeInvites: number[];
  acks: number[];
  bye: { ts: number; byCaller: boolean } | null;
  lastTs: number;
  messages: number;
  captureIds: number[];
  nodes: string[];
  link: { value: string; source: string; rank: number; ts: number } | null;
}

const MAX_TXNS = 16;
const MAX_SET = 16;

export function callKey(callId: string, callerTag: string): string {
  return `${callId}\n${callerTag}`;
}

export function newCall(e: CallEvent): CallFacts {
  if (e.invite === null) throw new Error('a call starts with an INVITE without To-tag');
  return {
    key: callKey(e.callId, e.fromTag),
    callId: e.callId,
    callerTag: e.fromTag,
    first: { cseq: e.cseq, via: e.viaCount, ts: e.ts, info: e.invite },
    txns: [],
    calleeInvites: [],
    acks: [],
    bye: null,
    lastTs: e.ts,
    messages: 0,
    captureIds: [],
    nodes: [],
    link: null,
  };
}

function txnFor(c: CallFacts, cseq: number): Txn | undefined {
  for (const t of c.txns) if (t.cseq === cseq) return t;
  if (c.txns.length >= MAX_TXNS) return undefined;
  const t: Txn = {
    cseq, initial: false, reinvite: false, inviteTs: null, minReqVia: null, hops: [], copies: 0,
    t1xx: null, t18x: null, ok: null, final: null, cancelTs: null,
  };
  c.txns.push(t);
  c.txns.sort((a, b) => a.cseq - b.cseq);
  return t;
}

function better(a: Final, b: Final | null): boolean {
  if (b === null) return true;
  if (a.via !== b.via) return a.via < b.via;
  if (a.ts !== b.ts) return a.ts < b.ts;
  if (a.code !== b.code) return a.code < b.code;
  return a.toTag < b.toTag;
}

/** Folds one event into the call. Commutative on purpose: see the file comment. */
export function applyEvent(c: CallFacts, e: CallEvent): void {
  c.messages++;
  if (e.ts > c.lastTs) c.lastTs = e.ts;
  addDistinct(c.captureIds, e.captureId, MAX_SET);
  if (e.node !== '') addDistinct(c.nodes, e.node, MAX_SET);
  if (e.link !== null) {
    const l = c.link;
    if (l === null || e.link.rank < l.rank || (e.link.rank === l.rank && (e.ts < l.ts || (e.ts === l.ts && e.link.value < l.value)))) {
      c.link = { ...e.link, ts: e.ts };
    }
  }
  const fromCaller = e.fromTag === c.callerTag;
  if (e.isRequest) {
    switch (e.method) {
      case 'INVITE': {
        if (!fromCaller) {
          addDistinct(c.calleeInvites, e.cseq, MAX_TXNS);
          return;
        }
        const t = txnFor(c, e.cseq);
        if (t === undefined) return;
        t.copies++;
        addDistinct(t.hops, e.hopKey, MAX_SET);
        if (e.toTag === '') {
          t.initial = true;
          t.inviteTs = minOrNull(t.inviteTs, e.ts);
          t.minReqVia = t.minReqVia === null ? e.viaCount : Math.min(t.minReqVia, e.viaCount);
          if (e.invite !== null) {
            const f = c.first;
            if (e.cseq < f.cseq || (e.cseq === f.cseq && (e.viaCount < f.via || (e.viaCount === f.via && e.ts < f.ts)))) {
              c.first = { cseq: e.cseq, via: e.viaCount, ts: e.ts, info: e.invite };
            }
          }
        } else {
          t.reinvite = true;
        }
        return;
      }
      case 'ACK':
        if (fromCaller) addDistinct(c.acks, e.cseq, MAX_TXNS);
        return;
      case 'CANCEL': {
        if (!fromCaller) return;
        const t = txnFor(c, e.cseq);
        if (t !== undefined) t.cancelTs = minOrNull(t.cancelTs, e.ts);
        return;
      }
      case 'BYE': {
        const b = c.bye;
        if (b === null || e.ts < b.ts || (e.ts === b.ts && fromCaller && !b.byCaller)) c.bye = { ts: e.ts, byCaller: fromCaller };
        return;
      }
      default:
        return;
    }
  }
  if (e.method !== 'INVITE' || !fromCaller) return;
  const t = txnFor(c, e.cseq);
  if (t === undefined) return;
  if (e.code < 200) {
    t.t1xx = minOrNull(t.t1xx, e.ts);
    if (e.code >= 180 && e.code <= 189) t.t18x = minOrNull(t.t18x, e.ts);
    return;
  }
  const f: Final = { ts: e.ts, code: e.code, reason: e.reason, via: e.viaCount, toTag: e.toTag };
  if (e.code < 300) {
    const ok = t.ok;
    if (ok === null || e.ts < ok.ts || (e.ts === ok.ts && better(f, ok))) t.ok = f;
  } else if (better(f, t.final)) {
    t.final = f;
  }
}

export interface TrackerTimes {
  /** Hold after a closing event so that stragglers (ACK after BYE, late hop copies) still attach. */
  settleUs: number;
  retryWindowUs: number;
  setupTimeoutUs: number;
  answeredIdleUs: number;
  maxDurationUs: number;
}

const RETRIABLE = (code: number): boolean => code === 401 || code === 407 || (code >= 300 && code < 400) ||
  code === 422 || code === 491;

interface Outcome {
  initial: Txn[];
  answered: Final | null;
  answerTxn: Txn | null;
  last: Txn | undefined;
  /** The last attempt's final, if it is the copy that reached the caller (Via count no higher than the
   * caller's INVITE): a final on an inner branch of a forking proxy does not end the call. */
  callerFinal: Final | null;
}

function outcome(c: CallFacts): Outcome {
  // A transaction only seen through its responses is assumed initial unless a re-INVITE copy proves otherwise.
  const initial = c.txns.filter((t) => t.initial || !t.reinvite);
  let answered: Final | null = null;
  let answerTxn: Txn | null = null;
  for (const t of initial) {
    if (t.ok !== null && (answered === null || t.ok.ts < answered.ts)) {
      answered = t.ok;
      answerTxn = t;
    }
  }
  const last = initial[initial.length - 1];
  let callerFinal: Final | null = null;
  if (last?.final != null && (last.minReqVia === null || last.final.via <= last.minReqVia)) callerFinal = last.final;
  return { initial, answered, answerTxn, last, callerFinal };
}

/** Why `closeAtUs` chose its time; read right after it (`lastCloseReason`), so the deadline needs no result object. */
let closeReason: CallEndReason = 'timeout';

/** When the call may be emitted, given what is known now; the tracker adds the reorder window on top. The same
 * reading of the transactions as `outcome()`, in one pass without arrays. Sets `closeReason`. */
export function closeAtUs(c: CallFacts, t: TrackerTimes): number {
  let answered: Final | null = null;
  let last: Txn | undefined;
  for (const x of c.txns) {
    if (!(x.initial || !x.reinvite)) continue;
    if (x.ok !== null && (answered === null || x.ok.ts < answered.ts)) answered = x.ok;
    last = x;
  }
  let callerFinal: Final | null = null;
  if (last?.final != null && (last.minReqVia === null || last.final.via <= last.minReqVia)) callerFinal = last.final;
  if (answered !== null || (c.bye !== null && callerFinal === null)) {
    if (c.bye !== null) {
      closeReason = 'bye';
      return c.bye.ts + t.settleUs;
    }
    const idle = c.lastTs + t.answeredIdleUs;
    const max = (answered?.ts ?? c.first.ts) + t.maxDurationUs;
    closeReason = idle <= max ? 'timeout' : 'max_duration';
    return idle <= max ? idle : max;
  }
  const f = callerFinal;
  if (f !== null) {
    // A challenged caller may take as long as a person needs to type a password (17-51 s in real captures): the
    // authenticated retry (same Call-ID and From-tag, higher CSeq) stays the same call up to the setup timeout.
    const retry = f.code === 401 || f.code === 407 ? t.setupTimeoutUs : t.retryWindowUs;
    const hold = RETRIABLE(f.code) && last?.cancelTs === null ? Math.max(retry, t.settleUs) : t.settleUs;
    closeReason = last?.cancelTs != null || f.code === 487 ? 'cancel' : 'final_response';
    return f.ts + hold;
  }
  closeReason = 'timeout';
  return c.lastTs + t.setupTimeoutUs;
}

/** The reason of the last `closeAtUs`. */
export function lastCloseReason(): CallEndReason {
  return closeReason;
}

function stateOf(final: Final, cancelled: boolean): CallState {
  const code = final.code;
  if (cancelled || code === 487) return 'cancelled';
  if (code === 486 || code === 600) return 'busy';
  if (code === 408 || code === 480) return 'no_answer';
  if (code === 403 || code === 603) return 'rejected';
  if (code === 401 || code === 407) return 'auth_failed';
  if (code >= 300 && code < 400) return 'redirected';
  return 'failed';
}

const ms = (us: number): number => us / 1000;

export function buildRecord(c: CallFacts, reason: CallEndReason): CallRecord {
  const o = outcome(c);
  const info = c.first.info;
  let setup = c.first.ts;
  let t1xx: number | null = null;
  let t18x: number | null = null;
  let challenges = 0;
  let redirects = 0;
  let retrans = 0;
  for (const t of c.txns) {
    if (t.initial || !t.reinvite) {
      if (t.inviteTs !== null && t.inviteTs < setup) setup = t.inviteTs;
      if (t.t1xx !== null) t1xx = minOrNull(t1xx, t.t1xx);
      if (t.t18x !== null) t18x = minOrNull(t18x, t.t18x);
      const code = t.final?.code ?? 0;
      if (t.ok === null && (code === 401 || code === 407)) challenges++;
      if (t.ok === null && code >= 300 && code < 400) redirects++;
    }
    retrans += Math.max(0, t.copies - t.hops.length);
  }
  const reinvites = c.txns.filter((t) => t.reinvite && !t.initial).length + c.calleeInvites.length;
  const deciding = o.answerTxn ?? o.last;
  const inferredAnswer = o.answered === null && c.bye !== null && o.callerFinal === null;
  const answered = o.answered !== null || inferredAnswer;
  const anyFinal = o.callerFinal ?? o.last?.final ?? null;
  const cancelTs = o.last?.cancelTs ?? null;

  let state: CallState;
  let end: number;
  let finalRef: Final | null;
  let hangup: HangupSide = 'unknown';
  if (answered) {
    finalRef = o.answered;
    if (c.bye !== null) {
      state = 'answered';
      end = c.bye.ts;
      hangup = c.bye.byCaller ? 'caller' : 'callee';
    } else {
      state = 'timeout_without_bye';
      end = c.lastTs;
    }
  } else if (anyFinal !== null) {
    finalRef = anyFinal;
    state = stateOf(anyFinal, cancelTs !== null);
    end = state === 'cancelled' && cancelTs !== null ? Math.min(cancelTs, anyFinal.ts) : anyFinal.ts;
    if (cancelTs !== null) hangup = 'caller';
  } else {
    finalRef = null;
    state = cancelTs !== null ? 'cancelled' : 'no_final_response';
    end = cancelTs ?? c.lastTs;
    if (cancelTs !== null) hangup = 'caller';
  }
  const answerUs = o.answered?.ts ?? null;
  const pddEnd = t18x ?? answerUs ?? anyFinal?.ts ?? null;
  return {
    call_id: c.callId,
    from_tag: c.callerTag,
    to_tag: finalRef?.toTag || null,
    from_user: info.fromUser,
    from_domain: info.fromDomain,
    from_display: info.fromDisplay,
    to_user: info.toUser,
    to_domain: info.toDomain,
    ruri_user: info.ruriUser,
    ruri_domain: info.ruriDomain,
    src_ip: info.srcIp,
    src_port: info.srcPort,
    dst_ip: info.dstIp,
    dst_port: info.dstPort,
    transport: info.transport,
    user_agent: info.userAgent,
    setup_us: setup,
    first_provisional_us: t1xx,
    ring_us: t18x,
    pdd_ms: pddEnd === null ? null : ms(pddEnd - setup),
    answer_us: answerUs,
    ack_seen: o.answerTxn !== null && c.acks.includes(o.answerTxn.cseq),
    end_us: end,
    duration_ms: answerUs === null || !answered ? null : ms(end - answerUs),
    final_status: finalRef?.code ?? null,
    final_reason: finalRef?.reason ?? null,
    state,
    end_reason: reason,
    hangup_side: hangup,
    attempts: o.initial.filter((t) => t.initial).length,
    auth_challenges: challenges,
    redirects,
    reinvites,
    linked_call_id: c.link?.value ?? null,
    linked_source: c.link?.source ?? null,
    capture_ids: [...c.captureIds],
    nodes: [...c.nodes],
    hops: deciding?.hops.length ?? 0,
    retransmissions: retrans,
    messages: c.messages,
  };
}
