/**
 * Every RFC call flow of the shared corpus through both trackers, messages in order, one millisecond apart.
 * Expected records are written out per flow. A flow captured at several proxies is one call (or one
 * registration) seen at several hops: `hops` counts the capture points, `messages` every copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DialogTracker, RegistrationTracker } from '../../../services/analyzer/correlation/index.ts';
import type { CallRecord, RegistrationRecord } from '../../../services/analyzer/correlation/index.ts';
import { at, flowMessages, flowNames, observe, T0 } from './flows.ts';

const END = T0 + 86_400_000_000;

function run(name: string): { calls: CallRecord[]; regs: RegistrationRecord[]; dialogs: DialogTracker } {
  const dialogs = new DialogTracker();
  const registrations = new RegistrationTracker();
  const calls: CallRecord[] = [];
  const regs: RegistrationRecord[] = [];
  for (const o of observe(flowMessages(name))) {
    calls.push(...dialogs.observe(o));
    regs.push(...registrations.observe(o));
  }
  calls.push(...dialogs.advanceTo(END));
  regs.push(...registrations.advanceTo(END));
  return { calls, regs, dialogs };
}

type CallView = Pick<CallRecord, 'state' | 'end_reason' | 'final_status' | 'setup_us' | 'first_provisional_us' |
  'ring_us' | 'pdd_ms' | 'answer_us' | 'end_us' | 'duration_ms' | 'hangup_side' | 'attempts' | 'auth_challenges' |
  'redirects' | 'reinvites' | 'ack_seen' | 'hops' | 'retransmissions' | 'messages'>;

function callView(r: CallRecord): CallView {
  return {
    state: r.state, end_reason: r.end_reason, final_status: r.final_status, setup_us: r.setup_us,
    first_provisional_us: r.first_provisional_us, ring_us: r.ring_us, pdd_ms: r.pdd_ms, answer_us: r.answer_us,
    end_us: r.end_us, duration_ms: r.duration_ms, hangup_side: r.hangup_side, attempts: r.attempts,
    auth_challenges: r.auth_challenges, redirects: r.redirects, reinvites: r.reinvites, ack_seen: r.ack_seen,
    hops: r.hops, retransmissions: r.retransmissions, messages: r.messages,
  };
}

const base: Omit<CallView, 'state' | 'end_reason' | 'final_status' | 'end_us' | 'hops' | 'messages'> = {
  setup_us: at(1), first_provisional_us: null, ring_us: null, pdd_ms: null, answer_us: null, duration_ms: null,
  hangup_side: 'unknown', attempts: 1, auth_challenges: 0, redirects: 0, reinvites: 0, ack_seen: false,
  retransmissions: 0,
};

const CALLS: Record<string, CallView[]> = {
  'rfc3327/5.5.2_example-of-mechanism-in-invite-transaction': [
    { ...base, state: 'no_final_response', end_reason: 'timeout', final_status: null, end_us: at(4), hops: 4, messages: 4 },
  ],
  'rfc3665/3.01_successful-session-establishment': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, first_provisional_us: at(2), ring_us: at(2),
      pdd_ms: 1, answer_us: at(3), ack_seen: true, end_us: at(5), duration_ms: 2, hangup_side: 'callee', hops: 1, messages: 6 },
  ],
  'rfc3665/3.02_session-establishment-through-two-proxies': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, first_provisional_us: at(6), ring_us: at(9),
      pdd_ms: 8, answer_us: at(12), ack_seen: true, end_us: at(18), duration_ms: 6, hangup_side: 'callee',
      attempts: 2, auth_challenges: 1, hops: 3, messages: 23 },
  ],
  // The RFC flow stops after the ACK: answered, never hung up.
  'rfc3665/3.03_session-with-multiple-proxy-authentication': [
    { ...base, state: 'timeout_without_bye', end_reason: 'timeout', final_status: 200, first_provisional_us: at(5),
      pdd_ms: 15, answer_us: at(16), ack_seen: true, end_us: at(21), duration_ms: 5, attempts: 3, auth_challenges: 2,
      hops: 3, messages: 21 },
  ],
  // Two Call-IDs: the retry via the second proxy is answered first; the abandoned INVITE times out later.
  'rfc3665/3.04_successful-session-with-proxy-failure': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, setup_us: at(8), first_provisional_us: at(13),
      ring_us: at(14), pdd_ms: 6, answer_us: at(16), ack_seen: true, end_us: at(20), duration_ms: 4,
      hangup_side: 'callee', attempts: 2, auth_challenges: 1, hops: 2, messages: 16 },
    { ...base, state: 'no_final_response', end_reason: 'timeout', final_status: null, end_us: at(7), hops: 1,
      retransmissions: 6, messages: 7 },
  ],
  'rfc3665/3.05_session-through-a-sip-alg': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, first_provisional_us: at(3), ring_us: at(6),
      pdd_ms: 5, answer_us: at(9), ack_seen: true, end_us: at(14), duration_ms: 5, hangup_side: 'caller', hops: 3, messages: 17 },
  ],
  'rfc3665/3.06_session-via-redirect-and-proxy-servers-with-sdp-in-ack': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, first_provisional_us: at(6), ring_us: at(7),
      pdd_ms: 6, answer_us: at(9), ack_seen: true, end_us: at(13), duration_ms: 4, hangup_side: 'callee',
      attempts: 2, redirects: 1, hops: 2, messages: 16 },
  ],
  'rfc3665/3.07_session-with-re-invite-ip-address-change': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, first_provisional_us: at(3), ring_us: at(4),
      pdd_ms: 3, answer_us: at(6), ack_seen: true, end_us: at(12), duration_ms: 6, hangup_side: 'caller',
      reinvites: 1, hops: 2, messages: 13 },
  ],
  'rfc3665/3.08_unsuccessful-no-answer': [
    { ...base, state: 'cancelled', end_reason: 'cancel', final_status: 487, first_provisional_us: at(3), ring_us: at(6),
      pdd_ms: 5, end_us: at(9), hangup_side: 'caller', hops: 3, messages: 20 },
  ],
  'rfc3665/3.09_unsuccessful-busy': [
    { ...base, state: 'busy', end_reason: 'final_response', final_status: 486, first_provisional_us: at(3),
      pdd_ms: 9, end_us: at(10), hops: 3, messages: 11 },
  ],
  'rfc3665/3.10_unsuccessful-no-response-from-user-agent': [
    { ...base, state: 'no_answer', end_reason: 'final_response', final_status: 480, first_provisional_us: at(3),
      pdd_ms: 13, end_us: at(14), hops: 3, retransmissions: 6, messages: 15 },
  ],
  'rfc3665/3.11_unsuccessful-temporarily-unavailable': [
    { ...base, state: 'no_answer', end_reason: 'final_response', final_status: 480, first_provisional_us: at(3),
      ring_us: at(6), pdd_ms: 5, end_us: at(13), hops: 3, messages: 14 },
  ],
  // Neither RFC 4916 flow hangs up; the UPDATE and re-INVITE keep the call active until the last message.
  'rfc4916/5.1_sending-connected-identity-after-answering-a-call': [
    { ...base, state: 'timeout_without_bye', end_reason: 'timeout', final_status: 200, pdd_ms: 2, answer_us: at(3),
      ack_seen: true, end_us: at(10), duration_ms: 7, hops: 2, messages: 10 },
  ],
  'rfc4916/5.2_sending-revised-connected-identity-during-a-call': [
    { ...base, state: 'timeout_without_bye', end_reason: 'timeout', final_status: 200, pdd_ms: 1, answer_us: at(2),
      ack_seen: true, end_us: at(8), duration_ms: 6, reinvites: 1, hops: 1, messages: 8 },
  ],
  // The RFC 5626 examples strip Vias, so copies are told apart by addresses and Request-URI only: the two
  // forwarded copies to EP2 and Bob share both in this synthetic capture and count as one hop.
  'rfc5626/9.3_incoming_call_and_proxy_crash': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: 200, pdd_ms: 5, answer_us: at(6), ack_seen: true,
      end_us: at(8), duration_ms: 2, hangup_side: 'caller', hops: 2, retransmissions: 2, messages: 8 },
  ],
  // Only INVITE and BYE are listed: the BYE proves a confirmed dialog whose 2xx was not captured.
  'rfc5626/9.5_outgoing_call': [
    { ...base, state: 'answered', end_reason: 'bye', final_status: null, end_us: at(2), hangup_side: 'caller',
      hops: 1, messages: 2 },
  ],
};

type RegView = Pick<RegistrationRecord, 'cseq' | 'outcome' | 'status' | 'challenged' | 'ts_us' | 'response_us' |
  'aor_user' | 'contacts' | 'expires_requested' | 'expires_granted' | 'deregistration' | 'auth_user' | 'hops' |
  'messages' | 'behind_nat'>;

function regView(r: RegistrationRecord): RegView {
  return {
    cseq: r.cseq, outcome: r.outcome, status: r.status, challenged: r.challenged, ts_us: r.ts_us,
    response_us: r.response_us, aor_user: r.aor_user, contacts: r.contacts, expires_requested: r.expires_requested,
    expires_granted: r.expires_granted, deregistration: r.deregistration, auth_user: r.auth_user, hops: r.hops,
    messages: r.messages, behind_nat: r.behind_nat,
  };
}

const bob = 'sips:bob@client.biloxi.example.com';
const reg = (v: Partial<RegView>): RegView => ({
  cseq: 1, outcome: 'registered', status: 200, challenged: false, ts_us: at(1), response_us: at(2), aor_user: 'bob',
  contacts: [bob], expires_requested: null, expires_granted: null, deregistration: false, auth_user: null, hops: 1,
  messages: 2, behind_nat: false, ...v,
});

const REGS: Record<string, RegView[]> = {
  // Four proxies, four copies of each message: one registration.
  'rfc3327/5.5.1_example-of-mechanism-in-register-transaction': [
    reg({ cseq: 1826, aor_user: 'UA1', contacts: ['sip:UA1@192.0.2.4'], response_us: at(8), hops: 4, messages: 8 }),
  ],
  'rfc3665/2.01_sip-client-new-registration': [
    reg({ outcome: 'challenge', status: 401 }),
    reg({ cseq: 2, challenged: true, ts_us: at(3), response_us: at(4), expires_granted: 3600, auth_user: 'bob' }),
  ],
  'rfc3665/2.02_update-of-contact-list': [
    reg({ contacts: ['mailto:bob@biloxi.example.com'], expires_granted: 4294967295, auth_user: 'bob' }),
  ],
  'rfc3665/2.03_request-for-current-contact-list': [reg({ outcome: 'query', contacts: [], auth_user: 'bob' })],
  'rfc3665/2.04_cancellation-of-registration': [
    reg({ outcome: 'deregistered', contacts: ['*'], expires_requested: 0, expires_granted: 0, deregistration: true, auth_user: 'bob' }),
  ],
  'rfc3665/2.05_unsuccessful-registration': [
    reg({ outcome: 'challenge', status: 401 }),
    reg({ cseq: 2, outcome: 'auth_failed', status: 401, challenged: true, ts_us: at(3), response_us: at(4), auth_user: 'bob' }),
  ],
  'rfc5626/3.2_single-registrar-and-ua': [
    reg({ outcome: 'timeout', status: null, response_us: null, contacts: ['sip:line1@192.0.2.2'], messages: 1 }),
  ],
  // The first 200 is listed as the registrar sent it to the edge proxy (two Vias): not the copy that reached the
  // UA, so that transaction closes on its timeout, after the second one, still with its 200.
  'rfc5626/9.2_registration': [
    reg({ contacts: ['sip:bob@192.0.2.2'], expires_granted: 3600, ts_us: at(3), response_us: at(4) }),
    reg({ contacts: ['sip:bob@192.0.2.2'], expires_granted: 3600 }),
  ],
  // Via-less example: the synthetic source address is not the Contact's, which reads as NAT.
  'rfc5626/9.4_re-registration': [
    reg({ cseq: 2, outcome: 'timeout', status: null, response_us: null, contacts: ['sip:bob@192.0.2.2'], messages: 1, behind_nat: true }),
  ],
};

test('every corpus flow has expectations', () => {
  const names = flowNames();
  assert.ok(names.length >= 28, `found ${names.length} flows`);
  // The REFER and SUBSCRIBE flows make neither calls nor registrations; they are listed to be run all the same.
  const neither = ['rfc3515/4.1_prototypical-refer-callflow', 'rfc3515/4.2_multiple-refers-in-a-dialog',
    'rfc5626/9.1_subscription-to-configuration-package'];
  for (const n of names) assert.ok(n in CALLS || n in REGS || neither.includes(n), `no expectation for ${n}`);
});

for (const name of flowNames()) {
  test(`call flow ${name}`, () => {
    const { calls, regs, dialogs } = run(name);
    assert.deepEqual(calls.map(callView), CALLS[name] ?? [], 'call records');
    assert.deepEqual(regs.map(regView), REGS[name] ?? [], 'registration records');
    const s = dialogs.stats();
    assert.equal(s.open_calls, 0);
    assert.equal(s.orphans_dropped, 0, 'no message of a known call was lost');
  });
}

test('3.01 identity fields come from the first-hop INVITE', () => {
  const [r] = run('rfc3665/3.01_successful-session-establishment').calls;
  assert.ok(r);
  assert.equal(r.call_id, '3848276298220188511@atlanta.example.com');
  assert.equal(r.from_tag, '9fxced76sl');
  assert.equal(r.to_tag, '8321234356');
  assert.deepEqual([r.from_user, r.from_domain, r.from_display], ['alice', 'atlanta.example.com', 'Alice']);
  assert.deepEqual([r.to_user, r.to_domain, r.ruri_user, r.ruri_domain], ['bob', 'biloxi.example.com', 'bob', 'biloxi.example.com']);
  assert.equal(r.transport, 'TCP');
  assert.equal(r.final_reason, 'OK');
  assert.deepEqual(r.capture_ids, [1]);
});

test('3.02 through two proxies: first-hop addresses, every capture point listed', () => {
  const [r] = run('rfc3665/3.02_session-establishment-through-two-proxies').calls;
  assert.ok(r);
  assert.equal(r.src_ip, '198.51.100.1');
  assert.deepEqual(r.capture_ids, [1, 2, 3]);
  assert.deepEqual(r.nodes, ['hop1', 'hop2', 'hop3']);
});

test('3.06 redirect: Request-URI is the one dialled, not the redirect target', () => {
  const [r] = run('rfc3665/3.06_session-via-redirect-and-proxy-servers-with-sdp-in-ack').calls;
  assert.equal(r?.ruri_domain, 'biloxi.example.com');
});

test('2.01: both attempts carry source, received address and AoR domain', () => {
  const { regs } = run('rfc3665/2.01_sip-client-new-registration');
  assert.deepEqual(regs.map((r) => [r.src_ip, r.via_received, r.aor_domain, r.user_agent]), [
    ['198.51.100.1', '192.0.2.201', 'biloxi.example.com', null],
    ['198.51.100.1', '192.0.2.201', 'biloxi.example.com', null],
  ]);
});
