/** Synthetic analyzer events for the guard's detector tests. */
import type { QuarantineEvent, SipEvent } from '../../../services/analyzer/events.ts';

export const T0 = Date.parse('2026-01-05T10:00:00Z');
let seq = 0;

export function ts(ms: number): string {
  const d = new Date(ms).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 23)}000`;
}

export function req(at: number, src: string, method: string, over: Partial<SipEvent> = {}): SipEvent {
  const kind = method === 'REGISTER' ? 'register' : method === 'INVITE' ? 'invite' : 'request';
  return {
    v: 1, id: `t/0/${seq++}`, kind, ts: ts(at), src_ip: src, src_port: 5060, dst_ip: '10.0.0.1', dst_port: 5060, transport: 'UDP',
    method, status: 0, call_id: `c${seq}`, from_user: 'alice', from_domain: 'example.test', to_user: 'alice', to_domain: 'example.test',
    ruri_user: '', ruri_domain: 'example.test', user_agent: 'Zoiper rv2.10', auth_user: '', tenant: '', domain: '', ...over,
  };
}

/** A response to `to` (the client that sent the request), from the proxy. */
export function resp(at: number, to: string, method: string, status: number, over: Partial<SipEvent> = {}): SipEvent {
  const kind = status < 200 ? 'provisional' : method === 'REGISTER' ? (status < 300 ? 'register_ok' : status === 401 || status === 407 ? 'register_challenge' : 'register_failed')
    : method === 'INVITE' ? (status < 300 ? 'invite_answered' : 'invite_failed') : status < 300 ? 'response_ok' : 'response_failed';
  return {
    v: 1, id: `t/0/${seq++}`, kind, ts: ts(at), src_ip: '10.0.0.1', src_port: 5060, dst_ip: to, dst_port: 5060, transport: 'UDP',
    method, status, call_id: `c${seq}`, from_user: 'alice', from_domain: 'example.test', to_user: 'alice', to_domain: 'example.test',
    ruri_user: '', ruri_domain: '', user_agent: 'kamailio', auth_user: '', tenant: '', domain: '', ...over,
  };
}

export function junk(at: number, src: string, reason = 'sip:bad_start_line'): QuarantineEvent {
  return { v: 1, id: `q/0/${seq++}`, kind: 'quarantine', ts: ts(at), reason, detail: 'x', call_id: '', src_ip: src, src_port: 5060, dst_ip: '10.0.0.1', dst_port: 5060, payload_type: 1 };
}
