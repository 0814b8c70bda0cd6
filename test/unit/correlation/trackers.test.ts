/** Timeouts, bounds, out-of-order arrival, leg correlation, registration details, snapshot/restore. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DialogTracker, RegistrationTracker } from '../../../services/analyzer/correlation/index.ts';
import type { CallRecord, ObservedSip, RegistrationRecord } from '../../../services/analyzer/correlation/index.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { leg, obs, registerText, sipText } from './build.ts';
import type { Leg } from './build.ts';
import { arrive, build, scenarioArb } from './scenarios.ts';

const T = 1_700_000_000_000_000;
const S = 1_000_000;

function feed(d: DialogTracker, msgs: ObservedSip[], end?: number): CallRecord[] {
  const out: CallRecord[] = [];
  for (const m of msgs) out.push(...d.observe(m));
  if (end !== undefined) out.push(...d.advanceTo(end));
  return out;
}

function invite(l: Leg, ts: number, extra: string[] = [], o: Partial<ObservedSip> = {}): ObservedSip {
  return obs(sipText(l, { method: 'INVITE', cseq: 1, branch: `${l.callId}i`, extra }), ts, o);
}
function resp(l: Leg, code: number, ts: number): ObservedSip {
  return obs(sipText(l, { method: 'INVITE', cseq: 1, code, toTag: code > 100, branch: `${l.callId}i` }), ts);
}

test('answered call without BYE closes after the idle timeout, or at the maximum duration', () => {
  const d = new DialogTracker({ answeredIdleTimeoutUs: 60 * S, maxCallDurationUs: 3600 * S });
  const l = leg(1);
  assert.deepEqual(feed(d, [invite(l, T), resp(l, 200, T + S)]), []);
  assert.deepEqual(d.advanceTo(T + 62 * S), [], 'idle + window not yet passed');
  const [r] = d.advanceTo(T + 63 * S + 1);
  assert.equal(r?.state, 'timeout_without_bye');
  assert.equal(r?.end_reason, 'timeout');
  assert.equal(r?.end_us, T + S);

  const m = new DialogTracker({ answeredIdleTimeoutUs: 3600 * S, maxCallDurationUs: 100 * S });
  const l2 = leg(2);
  const refresh = (ts: number): ObservedSip =>
    obs(sipText(l2, { method: 'UPDATE', cseq: Math.floor(ts / S), toTag: true, branch: `u${ts}` }), ts);
  feed(m, [invite(l2, T), resp(l2, 200, T + S), refresh(T + 50 * S), refresh(T + 90 * S)]);
  const [r2] = m.advanceTo(T + 200 * S);
  assert.equal(r2?.end_reason, 'max_duration');
  assert.equal(r2?.duration_ms, 89_000);
});

test('INVITE with no final response closes after the setup timeout', () => {
  const d = new DialogTracker({ setupTimeoutUs: 30 * S });
  const l = leg(3);
  feed(d, [invite(l, T), resp(l, 100, T + 1000), resp(l, 180, T + 2000)]);
  assert.deepEqual(d.advanceTo(T + 31 * S), []);
  const [r] = d.advanceTo(T + 33 * S);
  assert.equal(r?.state, 'no_final_response');
  assert.equal(r?.ring_us, T + 2000);
  assert.equal(r?.pdd_ms, 2);
});

test('open calls are bounded: the oldest is evicted and counted', () => {
  const d = new DialogTracker({ maxDialogs: 10 });
  const out = feed(d, Array.from({ length: 15 }, (_, i) => invite(leg(100 + i), T + i)));
  assert.equal(out.length, 5);
  assert.deepEqual(out.map((r) => r.call_id), [0, 1, 2, 3, 4].map((i) => leg(100 + i).callId));
  assert.ok(out.every((r) => r.end_reason === 'evicted' && r.state === 'no_final_response'));
  assert.equal(d.stats().evicted, 5);
  assert.equal(d.stats().open_calls, 10);
});

test('out of order: 200 before the INVITE, BYE before the ACK, one call', () => {
  const d = new DialogTracker();
  const l = leg(4);
  const inv = invite(l, T);
  const ok = resp(l, 200, T + 5 * S);
  const ack = obs(sipText(l, { method: 'ACK', cseq: 1, toTag: true, branch: 'ack' }), T + 5 * S + 100);
  const bye = obs(sipText(l, { method: 'BYE', cseq: 1, fromCallee: true, toTag: true, branch: 'bye' }), T + 5 * S + 50);
  const out = feed(d, [ok, inv, bye, ack], T + 60 * S);
  assert.equal(out.length, 1);
  assert.deepEqual([out[0]?.state, out[0]?.ack_seen, out[0]?.hangup_side, out[0]?.duration_ms], ['answered', true, 'callee', 0.05]);
  assert.equal(d.stats().orphans_adopted, 1);
});

test('orphans of a call never seen are dropped after two windows and counted', () => {
  const d = new DialogTracker();
  const l = leg(5);
  feed(d, [obs(sipText(l, { method: 'BYE', cseq: 2, toTag: true, branch: 'b' }), T)], T + 10 * S);
  assert.equal(d.stats().orphans_dropped, 1);
  assert.equal(d.stats().open_orphans, 0);
});

test('retransmitted final after emission is swallowed by the tombstone', () => {
  const d = new DialogTracker();
  const l = leg(6);
  const out = feed(d, [invite(l, T), resp(l, 486, T + S)], T + 10 * S);
  assert.equal(out.length, 1);
  assert.deepEqual(feed(d, [resp(l, 486, T + 11 * S)], T + 100 * S), []);
  assert.equal(d.stats().late, 1);
});

test('a redirect followed after the retry window is a second call', () => {
  const d = new DialogTracker({ retryWindowUs: 5 * S });
  const l = leg(7);
  const retry = obs(sipText(l, { method: 'INVITE', cseq: 2, branch: 'r2' }), T + 20 * S);
  const out = feed(d, [invite(l, T), resp(l, 302, T + S), retry], T + 400 * S);
  assert.deepEqual(out.map((r) => [r.state, r.attempts]), [['redirected', 1], ['no_final_response', 1]]);
});

/** INVITE → 407 → ACK, `gapS` seconds of a user typing a password, INVITE (CSeq 2, credentials) → 180 → 200 → ACK → BYE. */
function challengedCall(l: Leg, gapS: number, code = 407): ObservedSip[] {
  const r2 = T + S + gapS * S;
  const m = (spec: Parameters<typeof sipText>[1], ts: number) => obs(sipText(l, spec), ts);
  const auth = code === 407 ? 'Proxy-Authorization' : 'Authorization';
  return [
    invite(l, T),
    resp(l, code, T + 100_000),
    m({ method: 'ACK', cseq: 1, toTag: true, branch: `${l.callId}i` }, T + 110_000),
    m({ method: 'INVITE', cseq: 2, branch: 'r2', extra: [`${auth}: Digest username="alice", realm="example.com", nonce="n", uri="sip:x@example.net", response="00"`] }, r2),
    m({ method: 'INVITE', cseq: 2, code: 180, toTag: true, branch: 'r2' }, r2 + 200_000),
    m({ method: 'INVITE', cseq: 2, code: 200, toTag: true, branch: 'r2' }, r2 + 2 * S),
    m({ method: 'ACK', cseq: 2, toTag: true, branch: 'a2' }, r2 + 2 * S + 10_000),
    m({ method: 'BYE', cseq: 3, toTag: true, branch: 'b3' }, r2 + 12 * S),
  ];
}

for (const [gapS, code] of [[1, 407], [30, 407], [120, 401], [120, 407]] as const) {
  test(`a ${code} challenge answered ${gapS} s later is one call with auth_challenges counted`, () => {
    const d = new DialogTracker();
    const l = leg(70 + gapS + code);
    const out = feed(d, challengedCall(l, gapS, code), T + 86_400 * S);
    assert.deepEqual(out.map((r) => ({ state: r.state, attempts: r.attempts, auth_challenges: r.auth_challenges, final_status: r.final_status,
      setup_us: r.setup_us, answer_us: r.answer_us, duration_ms: r.duration_ms })), [{
      state: 'answered', attempts: 2, auth_challenges: 1, final_status: 200, setup_us: T,
      answer_us: T + S + gapS * S + 2 * S, duration_ms: 10_000,
    }]);
  });
}

test('a challenge answered after the setup timeout: the challenged attempt is its own auth_failed record', () => {
  const d = new DialogTracker({ setupTimeoutUs: 180 * S });
  const out = feed(d, challengedCall(leg(79), 200), T + 86_400 * S);
  assert.deepEqual(out.map((r) => [r.state, r.attempts, r.auth_challenges]), [['auth_failed', 1, 1], ['answered', 1, 0]]);
});

test('B-leg correlation: configured header first, then X-CID, HEP correlation id, icid', () => {
  const one = (extra: string[], o: Partial<ObservedSip> = {}, linkHeaders?: string[]): [string | null, string | null] => {
    const d = new DialogTracker(linkHeaders === undefined ? {} : { linkHeaders });
    const l = leg(8);
    const [r] = feed(d, [invite(l, T, extra, o)], T + 1000 * S);
    return [r?.linked_call_id ?? null, r?.linked_source ?? null];
  };
  assert.deepEqual(one(['X-CID: aleg-1']), ['aleg-1', 'header:X-CID']);
  assert.deepEqual(one([], { correlationId: 'aleg-2' }), ['aleg-2', 'hep']);
  assert.deepEqual(one(['P-Charging-Vector: icid-value=abc123;orig-ioi=x']), ['abc123', 'icid']);
  assert.deepEqual(one(['X-CID: a', 'X-Leg: b'], {}, ['X-Leg', 'X-CID']), ['b', 'header:X-Leg']);
  assert.deepEqual(one([], { correlationId: leg(8).callId }), [null, null], 'own Call-ID is no link');
});

test('bad options and bad snapshots fail with typed errors', () => {
  assert.throws(() => new DialogTracker({ reorderWindowUs: Number.NaN }), (e) => isTollgateError(e) && e.code === 'TG_CORRELATION_BAD_CONFIG');
  assert.throws(() => new DialogTracker().restore({ v: 2 }), (e) => isTollgateError(e) && e.code === 'TG_CORRELATION_BAD_SNAPSHOT');
  assert.throws(() => new RegistrationTracker().restore(null), (e) => isTollgateError(e) && e.code === 'TG_CORRELATION_BAD_SNAPSHOT');
});

test('snapshot/restore mid-stream gives the same records as an uninterrupted run', () => {
  fc.assert(
    fc.property(
      fc.array(scenarioArb, { minLength: 1, maxLength: 15 }),
      fc.array(fc.integer({ min: 0, max: 1_999_999 }), { minLength: 1, maxLength: 16 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (scenarios, delays, cutAt) => {
        const stream = arrive(scenarios.flatMap((s, i) => build(i, s).msgs), delays);
        const end = T + 10 * 86_400 * S;
        const whole = feed(new DialogTracker(), stream, end);
        const cut = Math.floor(cutAt * stream.length);
        const first = new DialogTracker();
        const before = feed(first, stream.slice(0, cut));
        const second = new DialogTracker();
        second.restore(JSON.parse(JSON.stringify(first.snapshot())));
        const after = feed(second, stream.slice(cut), end);
        assert.deepEqual([...before, ...after], whole);
        assert.deepEqual(second.stats(), (() => {
          const t = new DialogTracker();
          feed(t, stream, end);
          return t.stats();
        })());
      },
    ),
    { numRuns: 60 },
  );
});

// Registrations

function regFeed(r: RegistrationTracker, msgs: ObservedSip[], end: number): RegistrationRecord[] {
  const out: RegistrationRecord[] = [];
  for (const m of msgs) out.push(...r.observe(m));
  out.push(...r.advanceTo(end));
  return out;
}

test('brute force stays countable: wrong passwords are auth_failed per source and user', () => {
  const r = new RegistrationTracker();
  const msgs: ObservedSip[] = [];
  for (let i = 0; i < 5; i++) {
    const base = { callId: `bf-${i}`, user: '100', contactHost: '192.0.2.66' };
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `a${i}` }), T + i * S, { srcIp: '192.0.2.66' }));
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `a${i}`, code: 401 }), T + i * S + 100));
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `b${i}`, auth: '100' }), T + i * S + 200, { srcIp: '192.0.2.66' }));
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `b${i}`, code: 403 }), T + i * S + 300));
  }
  const out = regFeed(r, msgs, T + 100 * S);
  assert.equal(out.length, 10);
  const failed = out.filter((x) => x.outcome === 'auth_failed');
  assert.equal(failed.length, 5);
  assert.ok(failed.every((x) => x.src_ip === '192.0.2.66' && x.auth_user === '100' && x.aor_user === '100' && x.challenged));
  assert.equal(out.filter((x) => x.outcome === 'challenge').length, 5);
});

test('NAT hints: private Contact, received and rport from the registrar', () => {
  const r = new RegistrationTracker();
  const base = { callId: 'nat-1', user: '200', contactHost: '10.0.0.5', cseq: 1, branch: 'n1', expires: 600 };
  const [rec] = regFeed(r, [
    obs(registerText(base), T, { srcIp: '198.51.100.9' }),
    obs(registerText({ ...base, code: 200 }), T + 1000),
  ], T + 100 * S);
  assert.ok(rec);
  assert.deepEqual(
    [rec.outcome, rec.expires_requested, rec.expires_granted, rec.nat_private_contact, rec.nat_contact_mismatch, rec.via_received, rec.via_rport, rec.behind_nat],
    ['registered', 600, 600, true, true, '203.0.113.7', 40000, true],
  );
});

test('unanswered REGISTER closes as timeout; bound evicts the oldest', () => {
  const r = new RegistrationTracker({ transactionTimeoutUs: 5 * S, maxTransactions: 3 });
  const msgs = Array.from({ length: 4 }, (_, i) =>
    obs(registerText({ callId: `t-${i}`, user: 'x', cseq: 1, branch: `t${i}` }), T + i));
  const out = regFeed(r, msgs, T + 100 * S);
  assert.deepEqual(out.map((x) => x.outcome), ['timeout', 'timeout', 'timeout', 'timeout']);
  assert.equal(r.stats().evicted, 1);
  assert.equal(out[0]?.call_id, 't-0');
});

test('registration snapshot/restore mid-stream is equivalent', () => {
  const msgs: ObservedSip[] = [];
  for (let i = 0; i < 20; i++) {
    const base = { callId: `s-${i}`, user: `u${i}` };
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `a${i}` }), T + i * 700_000));
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `a${i}`, code: 401 }), T + i * 700_000 + 1000));
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `b${i}`, auth: `u${i}` }), T + i * 700_000 + 2000));
    if (i % 3 !== 0) msgs.push(obs(registerText({ ...base, cseq: 2, branch: `b${i}`, code: 200 }), T + i * 700_000 + 3000));
  }
  const end = T + 1000 * S;
  const whole = regFeed(new RegistrationTracker(), msgs, end);
  for (const cut of [1, 17, 40, msgs.length - 1]) {
    const a = new RegistrationTracker();
    const before: RegistrationRecord[] = [];
    for (const m of msgs.slice(0, cut)) before.push(...a.observe(m));
    const b = new RegistrationTracker();
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    assert.deepEqual([...before, ...regFeed(b, msgs.slice(cut), end)], whole, `cut at ${cut}`);
  }
  assert.equal(whole.filter((x) => x.challenged && x.outcome === 'registered').length, 13);
});
