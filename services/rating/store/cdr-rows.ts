/** CdrRecord ⇄ a row of the `cdrs` table (sql/0006_rating.sql). */
import { isReqtype, type CallFacts } from '../core/call.ts';
import { billMs, disposition, type CdrRecord, type RatingStatus, type TimingSource } from '../core/cdr.ts';

export type CdrRow = Record<string, string | number | boolean | null>;

let lastVersion = 0;
/** Strictly growing revision numbers within a process (microseconds, bumped on ties). */
export function nextVersion(): number {
  const v = Math.max(Date.now() * 1000, lastVersion + 1);
  lastVersion = v;
  return v;
}

export function usText(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // 2026-01-01T10:00:00.123Z
  const micro = String(Math.trunc(us) % 1000).padStart(3, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${micro}`;
}

export function cdrRow(r: CdrRecord, version = nextVersion()): CdrRow {
  const f = r.facts;
  const t = r.timing;
  const bill = billMs(t);
  const pddEnd = t.progressMediaMs > 0 ? t.progressMediaMs : t.answeredUs > 0 ? Math.floor((t.answeredUs - t.createdUs) / 1000) : 0;
  return {
    unique_id: f.uniqueId, version, tenant: f.tenant, node: f.node, origin_host: f.originHost, sip_call_id: f.sipCallId,
    direction: f.direction, caller: f.caller, callee: f.callee, account: f.account, subject: f.subject,
    destination: f.destination, category: f.category, request_type: f.reqtype,
    created_at: usText(t.createdUs), answered_at: t.answeredUs > 0 ? usText(t.answeredUs) : null, ended_at: usText(t.endedUs),
    duration_ms: Math.max(0, Math.floor((t.endedUs - t.createdUs) / 1000)), billsec: Math.floor(bill / 1000), billmsec: bill,
    pdd_ms: Math.max(0, pddEnd), hangup_cause: t.hangupCause, hangup_cause_q850: t.q850, sip_hangup_disposition: t.sipDisposition,
    disposition: disposition(t, r.decision !== 'credit' && r.decision !== 'fail_open' && r.decision !== 'not_prepaid' && r.decision !== 'none' && r.decision !== 'reqtype_none' && r.decision !== 'outbound_leg'),
    timing_source: t.source, estimated: t.source === 'estimated', decision: r.decision, max_usage_ms: r.maxUsageMs,
    rating_status: r.ratingStatus, rating_error: r.ratingError, rating_attempts: r.ratingAttempts, cost: r.cost,
    cost_source: r.costSource, cgr_id: r.cgrId, rating_details: r.ratingDetails, session_terminated: r.sessionTerminated,
  };
}

/** Back from a stored row (re-rating after a restart). */
export function recordFromRow(row: Record<string, unknown>): CdrRecord {
  const s = (k: string): string => String(row[k] ?? '');
  const n = (k: string): number => Number(row[k] ?? 0);
  const us = (k: string): number => (row[k] === null || row[k] === undefined ? 0 : Math.round(Date.parse(`${s(k).replace(' ', 'T')}Z`) * 1000) + microTail(s(k)));
  const reqtype = s('request_type');
  const facts: CallFacts = {
    uniqueId: s('unique_id'), node: s('node'), originHost: s('origin_host'), tenant: s('tenant'), account: s('account'),
    subject: s('subject'), destination: s('destination'), category: s('category'), reqtype: isReqtype(reqtype) ? reqtype : '*rated',
    sipCallId: s('sip_call_id'), caller: s('caller'), callee: s('callee'), direction: s('direction'), dialplan: 'XML', context: 'default',
    createdUs: us('created_at'),
  };
  return {
    facts,
    timing: {
      createdUs: us('created_at'), answeredUs: us('answered_at'), endedUs: us('ended_at'), progressMediaMs: 0,
      hangupCause: s('hangup_cause'), q850: n('hangup_cause_q850'), sipDisposition: s('sip_hangup_disposition'), sipTermStatus: '',
      source: s('timing_source') as TimingSource,
    },
    decision: s('decision'), maxUsageMs: n('max_usage_ms'), sessionInitiated: s('decision') === 'credit',
    sessionTerminated: row['session_terminated'] === true || row['session_terminated'] === 1 || row['session_terminated'] === 'true',
    ratingStatus: s('rating_status') as RatingStatus, ratingError: s('rating_error'), ratingAttempts: n('rating_attempts'),
    cost: row['cost'] === null || row['cost'] === undefined ? null : Number(row['cost']), costSource: s('cost_source'),
    cgrId: s('cgr_id'), ratingDetails: s('rating_details'),
  };
}

/** `2026-01-01 10:00:00.123456` → the microseconds below the millisecond (456). */
function microTail(text: string): number {
  const m = /\.(\d{3})(\d{3})/.exec(text);
  return m ? Number(m[2]) : 0;
}
