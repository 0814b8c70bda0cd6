/**
 * The SQL behind the call routes. Every value travels as a typed query parameter; the tenant restriction is a
 * condition in the statement itself, never a filter applied to rows afterwards.
 */
import type { QueryParams, SqlStore } from '../../shared/clickhouse/client.ts';
import { limitClause, type Statement } from '../list.ts';
import { chTime, chToUs, type TimeRange } from '../paging.ts';

export const CALL_STATES = ['answered', 'timeout_without_bye', 'busy', 'cancelled', 'no_answer', 'rejected', 'auth_failed', 'redirected', 'failed', 'timeout'] as const;

export interface CallFilters {
  readonly tenant?: string | undefined;
  readonly callId?: string | undefined;
  readonly caller?: string | undefined;
  readonly callerPrefix?: string | undefined;
  readonly callee?: string | undefined;
  readonly calleePrefix?: string | undefined;
  readonly srcIp?: string | undefined;
  readonly dstIp?: string | undefined;
  readonly status?: number | undefined;
  readonly state?: string | undefined;
  readonly node?: string | undefined;
}

export interface CallRowOut {
  setup_ts: string;
  tenant: string;
  domain: string;
  call_id: string;
  from_tag: string;
  to_tag: string;
  from_user: string;
  from_domain: string;
  from_display: string;
  to_user: string;
  to_domain: string;
  ruri_user: string;
  ruri_domain: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  transport: string;
  user_agent: string;
  first_provisional_ts: string | null;
  ring_ts: string | null;
  pdd_ms: number | null;
  answer_ts: string | null;
  ack_seen: boolean;
  end_ts: string;
  duration_ms: number | null;
  final_status: number | null;
  final_reason: string;
  state: string;
  end_reason: string;
  hangup_side: string;
  attempts: number;
  auth_challenges: number;
  redirects: number;
  reinvites: number;
  linked_call_id: string;
  linked_source: string;
  capture_ids: number[];
  nodes: string[];
  hops: number;
  retransmissions: number;
  messages: number;
}

const CALL_COLUMNS = `setup_ts, tenant, domain, call_id, from_tag, to_tag, from_user, from_domain, from_display,
  to_user, to_domain, ruri_user, ruri_domain, src_ip, src_port, dst_ip, dst_port, transport, user_agent,
  first_provisional_ts, ring_ts, pdd_ms, answer_ts,
  ack_seen, end_ts, duration_ms, final_status, final_reason, state, end_reason, hangup_side, attempts,
  auth_challenges, redirects, reinvites, linked_call_id, linked_source, capture_ids, nodes, hops, retransmissions, messages`;

/** `AND`-joined conditions and their parameters for a call search. */
export function callConditions(f: CallFilters, range: TimeRange | undefined): { where: string; params: QueryParams } {
  const c: string[] = [];
  const p: QueryParams = {};
  if (range !== undefined) {
    c.push('setup_ts >= {from:DateTime64(6)} AND setup_ts < {to:DateTime64(6)}');
    p['from'] = chTime(range.fromUs);
    p['to'] = chTime(range.toUs);
  }
  if (f.tenant !== undefined) { c.push('tenant = {tenant:String}'); p['tenant'] = f.tenant; }
  if (f.callId !== undefined) { c.push('call_id = {call_id:String}'); p['call_id'] = f.callId; }
  if (f.caller !== undefined) { c.push('from_user = {caller:String}'); p['caller'] = f.caller; }
  if (f.callerPrefix !== undefined) { c.push('startsWith(from_user, {caller_prefix:String})'); p['caller_prefix'] = f.callerPrefix; }
  if (f.callee !== undefined) { c.push('(ruri_user = {callee:String} OR to_user = {callee:String})'); p['callee'] = f.callee; }
  if (f.calleePrefix !== undefined) {
    c.push('(startsWith(ruri_user, {callee_prefix:String}) OR startsWith(to_user, {callee_prefix:String}))');
    p['callee_prefix'] = f.calleePrefix;
  }
  if (f.srcIp !== undefined) { c.push('src_ip = {src_ip:String}'); p['src_ip'] = f.srcIp; }
  if (f.dstIp !== undefined) { c.push('dst_ip = {dst_ip:String}'); p['dst_ip'] = f.dstIp; }
  if (f.status !== undefined) { c.push('final_status = {status:UInt16}'); p['status'] = f.status; }
  if (f.state !== undefined) { c.push('state = {state:String}'); p['state'] = f.state; }
  if (f.node !== undefined) { c.push('has(nodes, {node:String})'); p['node'] = f.node; }
  return { where: c.length > 0 ? c.join(' AND ') : '1', params: p };
}

export type CallKey = [string, string, string];
export const callKey = (r: CallRowOut): CallKey => [r.setup_ts, r.call_id, r.from_tag];

/** Newest first; ties broken by Call-ID and From-tag so the order is total and pages never overlap. */
export function searchCallsStatement(f: CallFilters, range: TimeRange, after: Array<string | number> | undefined, limit: number | undefined): Statement {
  const { where, params } = callConditions(f, range);
  let keyset = '';
  if (after !== undefined) {
    keyset = ' AND (setup_ts, call_id, from_tag) < ({k_ts:DateTime64(6)}, {k_cid:String}, {k_ft:String})';
    params['k_ts'] = String(after[0]);
    params['k_cid'] = String(after[1]);
    params['k_ft'] = String(after[2]);
  }
  return {
    sql: `SELECT ${CALL_COLUMNS} FROM calls WHERE ${where}${keyset} ORDER BY setup_ts DESC, call_id DESC, from_tag DESC${limitClause(params, limit)}`,
    params,
  };
}

export function searchCalls(store: SqlStore, f: CallFilters, range: TimeRange, after: Array<string | number> | undefined, limit: number): Promise<CallRowOut[]> {
  const st = searchCallsStatement(f, range, after, limit);
  return store.query<CallRowOut>(st.sql, st.params);
}

/**
 * The call's own dialogs and every correlated leg: rows naming it as their A-leg, the A-leg it names, and sibling
 * legs sharing that link (a common X-CID or P-Charging-Vector icid). Two statements: the call by Call-ID (bloom
 * filter), then its legs only within a day around it, so the lookup does not scan every stored call.
 */
export async function callWithLegs(store: SqlStore, callId: string, tenant: string | undefined): Promise<CallRowOut[]> {
  const t = tenant !== undefined ? ' AND tenant = {tenant:String}' : '';
  const tp = tenant !== undefined ? { tenant } : {};
  const own = await store.query<CallRowOut>(
    `SELECT ${CALL_COLUMNS} FROM calls WHERE call_id = {id:String}${t} ORDER BY setup_ts, from_tag LIMIT 1000`, { id: callId, ...tp });
  if (own.length === 0) return own;
  const links = [...new Set(own.map((r) => r.linked_call_id).filter((l) => l !== ''))];
  const lo = Math.min(...own.map((r) => chToUs(r.setup_ts))) - LEG_WINDOW_US;
  const hi = Math.max(...own.map((r) => chToUs(r.end_ts))) + LEG_WINDOW_US;
  const legs = await store.query<CallRowOut>(
    `SELECT ${CALL_COLUMNS} FROM calls
     WHERE setup_ts >= {lo:DateTime64(6)} AND setup_ts < {hi:DateTime64(6)} AND call_id != {id:String}${t}
       AND (linked_call_id = {id:String} OR has({links:Array(String)}, call_id) OR (linked_call_id != '' AND has({links:Array(String)}, linked_call_id)))
     ORDER BY setup_ts, call_id, from_tag LIMIT 1000`,
    { id: callId, links, lo: chTime(lo), hi: chTime(hi), ...tp });
  return [...own, ...legs];
}

/** Legs are set up within this much of each other (a B-leg follows its A-leg by seconds; a transfer by minutes). */
const LEG_WINDOW_US = 3_600_000_000;

export interface MessageRowOut {
  ts: string;
  call_id: string;
  tenant: string;
  kind: 'request' | 'response';
  method: string;
  status: number;
  reason: string;
  cseq_num: number;
  cseq_method: string;
  from_user: string;
  to_user: string;
  ruri_user: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  transport: string;
  user_agent: string;
  capture_id: number;
  node: string;
  correlation_id: string;
  warnings: string[];
  raw: string;
  kafka_partition: number;
  kafka_offset: string;
}

export const MAX_CALL_MESSAGES = 5000;

/** Every captured message of the given Call-IDs (or carrying one as HEP correlation id), in capture order. */
export async function callMessages(store: SqlStore, callIds: readonly string[], tenant: string | undefined, range: TimeRange, withRaw = true): Promise<MessageRowOut[]> {
  const t = tenant !== undefined ? ' AND tenant = {tenant:String}' : '';
  return store.query<MessageRowOut>(
    `SELECT ts, call_id, tenant, kind, method, status, reason, cseq_num, cseq_method, from_user, to_user, ruri_user,
       src_ip, src_port, dst_ip, dst_port, transport, user_agent, capture_id, node, correlation_id, warnings,
       ${withRaw ? 'raw' : "'' AS raw"}, kafka_partition, kafka_offset
     FROM sip_messages
     WHERE ts >= {from:DateTime64(6)} AND ts < {to:DateTime64(6)} AND (call_id IN {ids:Array(String)} OR correlation_id IN {ids:Array(String)})${t}
     ORDER BY ts, kafka_partition, kafka_offset LIMIT {limit:UInt32}`,
    { ids: [...callIds], from: chTime(range.fromUs), to: chTime(range.toUs), limit: MAX_CALL_MESSAGES + 1, ...(tenant !== undefined ? { tenant } : {}) });
}
