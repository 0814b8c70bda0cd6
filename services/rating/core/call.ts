/**
 * The pure rating core: what a channel is (facts from its event or JSON CDR), what to decide at park, what a leg's
 * CDR says. No I/O here; the service feeds events in and carries decisions out.
 */
export type Reqtype = '*prepaid' | '*pseudoprepaid' | '*postpaid' | '*rated' | '*none';
const REQTYPES: readonly Reqtype[] = ['*prepaid', '*pseudoprepaid', '*postpaid', '*rated', '*none'];

export interface CallDefaults {
  readonly tenant: string;
  readonly reqtype: Reqtype;
  readonly tenantReqtypes: ReadonlyMap<string, string>;
}

/** Who pays, for what: the CGRateS view of one leg, taken from the channel variables CGRateS' agent reads. */
export interface CallFacts {
  readonly uniqueId: string;
  readonly node: string;
  readonly originHost: string;
  readonly tenant: string;
  readonly account: string;
  readonly subject: string;
  readonly destination: string;
  readonly category: string;
  readonly reqtype: Reqtype;
  readonly sipCallId: string;
  readonly caller: string;
  readonly callee: string;
  readonly direction: string;
  /** Dialplan and context to transfer the parked channel back to. */
  readonly dialplan: string;
  readonly context: string;
  readonly createdUs: number;
}

/** Header lookup over an ESL event (`variable_x`, `Caller-*`) or a JSON CDR mapped to the same names. */
export type Headers = Readonly<Record<string, string | undefined>>;

export function isReqtype(v: string | undefined): v is Reqtype {
  return v !== undefined && (REQTYPES as readonly string[]).includes(v);
}

export function callFacts(h: Headers, node: string, d: CallDefaults): CallFacts {
  const v = (name: string): string | undefined => nonEmpty(h[`variable_${name}`]);
  const tenant = v('cgr_tenant') ?? d.tenant;
  const caller = nonEmpty(h['Caller-Caller-ID-Number']) ?? v('sip_from_user') ?? '';
  const callee = nonEmpty(h['Caller-Destination-Number']) ?? v('sip_req_user') ?? '';
  const account = v('cgr_account') ?? nonEmpty(h['Caller-Username']) ?? v('user_name') ?? caller;
  const rawReqtype = v('cgr_reqtype');
  const tenantDefault = d.tenantReqtypes.get(tenant);
  const reqtype: Reqtype = isReqtype(rawReqtype) ? rawReqtype : isReqtype(tenantDefault) ? tenantDefault : d.reqtype;
  return {
    uniqueId: h['Unique-ID'] ?? v('uuid') ?? '',
    node,
    originHost: v('cgr_originhost') ?? node,
    tenant,
    account,
    subject: v('cgr_subject') ?? account,
    destination: v('cgr_destination') ?? callee,
    category: v('cgr_category') ?? 'call',
    reqtype,
    sipCallId: v('sip_call_id') ?? '',
    caller,
    callee,
    direction: nonEmpty(h['Call-Direction']) ?? v('direction') ?? '',
    dialplan: nonEmpty(h['Caller-Dialplan']) ?? 'XML',
    context: nonEmpty(h['Caller-Context']) ?? 'default',
    createdUs: num(h['Caller-Channel-Created-Time']) || num(v('start_uepoch')) || 0,
  };
}

/** Only these are credit-checked by CGRateS (cgrates.md §7); the others are rated after the call. */
export function needsAuthorization(r: Reqtype): boolean {
  return r === '*prepaid' || r === '*pseudoprepaid';
}

export interface OutagePolicy {
  readonly prepaidFailOpen: boolean;
  readonly failOpenMaxMs: number;
  readonly refuseCause: string;
}

/** What CGRateS said to an authorization, as the decision needs it. */
export type AuthOutcome =
  | { readonly kind: 'max-usage'; readonly maxUsageNs: number }
  | { readonly kind: 'rejected'; readonly error: string }
  | { readonly kind: 'unavailable'; readonly error: string };

export type ParkDecision =
  | { readonly action: 'ignore'; readonly reason: 'reqtype_none' | 'outbound_leg' }
  | { readonly action: 'release'; readonly reason: 'not_prepaid'; readonly notify: 'AUTH_OK' }
  | { readonly action: 'allow'; readonly reason: 'credit' | 'fail_open'; readonly maxUsageMs: number; readonly notify: 'AUTH_OK' }
  | { readonly action: 'refuse'; readonly reason: 'no_credit' | 'cgrates_rejected' | 'cgrates_unavailable'; readonly cause: string; readonly notify: string; readonly detail: string };

/**
 * Only the inbound (A) leg of a call is billed: the legs FreeSWITCH originates for it (B legs) inherit the cgr_*
 * variables, and rating them too would charge the call twice (CGRateS' agent filters on Call-Direction inbound).
 */
export function isBilledLeg(f: Pick<CallFacts, 'direction'>): boolean {
  return f.direction !== 'outbound';
}

/** Decides a parked channel. Postpaid/rated: no gate. Prepaid: the credit, or the outage policy when CGRateS is away. */
export function decidePark(reqtype: Reqtype, auth: AuthOutcome | undefined, policy: OutagePolicy, billedLeg = true): ParkDecision {
  if (!billedLeg) return { action: 'ignore', reason: 'outbound_leg' };
  if (reqtype === '*none') return { action: 'ignore', reason: 'reqtype_none' };
  if (!needsAuthorization(reqtype)) return { action: 'release', reason: 'not_prepaid', notify: 'AUTH_OK' };
  if (auth === undefined) throw new Error(`decidePark: a ${reqtype} call needs an authorization outcome`);
  switch (auth.kind) {
    case 'max-usage': {
      // FreeSWITCH schedules in whole seconds; less than one second of credit is no credit.
      const ms = Math.floor(auth.maxUsageNs / 1e9) * 1000;
      if (ms <= 0) return { action: 'refuse', reason: 'no_credit', cause: policy.refuseCause, notify: 'INSUFFICIENT_CREDIT', detail: `MaxUsage ${auth.maxUsageNs} ns` };
      return { action: 'allow', reason: 'credit', maxUsageMs: ms, notify: 'AUTH_OK' };
    }
    case 'rejected':
      return { action: 'refuse', reason: 'cgrates_rejected', cause: policy.refuseCause, notify: notifyText(auth.error), detail: auth.error };
    case 'unavailable':
      if (policy.prepaidFailOpen) return { action: 'allow', reason: 'fail_open', maxUsageMs: policy.failOpenMaxMs, notify: 'AUTH_OK' };
      return { action: 'refuse', reason: 'cgrates_unavailable', cause: policy.refuseCause, notify: 'RATING_UNAVAILABLE', detail: auth.error };
  }
}

/** A channel-variable-safe rendering of a CGRateS error (`RALS_ERROR:ACCOUNT_NOT_FOUND` → ACCOUNT_NOT_FOUND). */
function notifyText(error: string): string {
  const m = /([A-Z_]{4,})\s*$/.exec(error);
  return m?.[1] ?? 'RATING_ERROR';
}

/** The ESL commands that carry a decision out, in the order they must run (pipelined on one socket). */
export function parkCommands(uuid: string, facts: Pick<CallFacts, 'callee' | 'dialplan' | 'context'>, d: ParkDecision): string[] {
  switch (d.action) {
    case 'ignore':
      return [];
    case 'release':
      return [`uuid_setvar ${uuid} cgr_notify ${d.notify}`, transfer(uuid, facts)];
    case 'allow':
      return [
        `uuid_setvar ${uuid} cgr_max_usage ${d.maxUsageMs / 1000}`,
        // Armed on answer, so ringing time is not counted against the credit. FreeSWITCH runs every variable whose
        // name starts with execute_on_answer, so a suffixed one leaves the dialplan's own execute_on_answer alone.
        `uuid_setvar ${uuid} execute_on_answer_tollgate sched_hangup +${d.maxUsageMs / 1000} ALLOTTED_TIMEOUT`,
        `uuid_setvar ${uuid} cgr_notify ${d.notify}`,
        transfer(uuid, facts),
      ];
    case 'refuse':
      // Never transferred, so never answered: the parked channel is killed with a cause the caller's phone shows.
      return [`uuid_setvar ${uuid} cgr_notify ${d.notify}`, `uuid_kill ${uuid} ${d.cause}`];
  }
}

function transfer(uuid: string, f: Pick<CallFacts, 'callee' | 'dialplan' | 'context'>): string {
  return `uuid_transfer ${uuid} ${f.callee} ${f.dialplan} ${f.context}`;
}

/** Seconds left of an authorized usage `maxUsageMs` for a call answered at `answeredMs`, at `nowMs` (at least 1). */
export function remainingSeconds(maxUsageMs: number, answeredMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((maxUsageMs - (nowMs - answeredMs)) / 1000));
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function num(v: string | undefined): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}
