/**
 * Random call scenarios as wire messages, each with the record it must produce: answered (either side hangs
 * up), busy, cancelled, unanswered 480, answered after a 407 challenge, with random retransmissions.
 */
import fc from 'fast-check';
import type { CallRecord, ObservedSip } from '../../../services/analyzer/correlation/index.ts';
import { leg, obs, sipText } from './build.ts';
import type { MsgSpec } from './build.ts';

export const WINDOW = 2_000_000;
export const T0 = 1_700_000_000_000_000;

export type Kind = 'answered' | 'busy' | 'cancel' | 'unanswered' | 'auth';

export interface Scenario {
  kind: Kind;
  start: number;
  gaps: number[];
  calleeHangs: boolean;
  trying: boolean;
  retransmit: boolean[];
  retransmitDelay: number;
}

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  kind: fc.constantFrom<Kind>('answered', 'busy', 'cancel', 'unanswered', 'auth'),
  start: fc.integer({ min: 0, max: 120_000_000 }),
  // µs between consecutive steps: from a few µs (same-host races) to tens of seconds (talk time)
  gaps: fc.array(fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 5_000, max: 30_000_000 })), { minLength: 8, maxLength: 8 }),
  calleeHangs: fc.boolean(),
  trying: fc.boolean(),
  retransmit: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
  retransmitDelay: fc.integer({ min: 1, max: 1_500_000 }),
});

export interface Expected {
  state: CallRecord['state'];
  setup_us: number;
  first_provisional_us: number | null;
  ring_us: number | null;
  answer_us: number | null;
  end_us: number;
  duration_ms: number | null;
  pdd_ms: number | null;
  final_status: number | null;
  hangup_side: CallRecord['hangup_side'];
  attempts: number;
  auth_challenges: number;
  ack_seen: boolean;
}

export function build(i: number, s: Scenario): { msgs: ObservedSip[]; expected: Expected } {
  const l = leg(i);
  let t = T0 + s.start;
  let g = 0;
  const next = (): number => (t += s.gaps[g++ % s.gaps.length]!);
  // A UA answers a challenge at once; a retry beyond the retry window is a new call by definition.
  const soon = (): number => (t += Math.min(s.gaps[g++ % s.gaps.length]!, 4_000_000));
  const steps: { spec: MsgSpec; ts: number }[] = [];
  const add = (spec: MsgSpec, ts: number): number => {
    steps.push({ spec, ts });
    return ts;
  };
  const setup = add({ method: 'INVITE', cseq: 1, branch: `${i}a` }, t);
  let cseq = 1;
  let branch = `${i}a`;
  let attempts = 1;
  let challenges = 0;
  if (s.kind === 'auth') {
    add({ method: 'INVITE', cseq: 1, code: 407, toTag: true, branch }, soon());
    add({ method: 'ACK', cseq: 1, toTag: true, branch }, soon());
    cseq = 2;
    branch = `${i}b`;
    add({ method: 'INVITE', cseq, branch, extra: ['Proxy-Authorization: Digest username="u", realm="r", nonce="n", uri="sip:x", response="y"'] }, soon());
    attempts = 2;
    challenges = 1;
  }
  const trying = s.trying ? add({ method: 'INVITE', cseq, code: 100, branch }, next()) : null;
  let ring: number | null = null;
  if (s.kind !== 'busy') ring = add({ method: 'INVITE', cseq, code: 180, toTag: true, branch }, next());
  const firstProv = trying ?? ring;
  const e = (v: Omit<Expected, 'setup_us' | 'first_provisional_us' | 'ring_us' | 'attempts' | 'auth_challenges'>): Expected => ({
    setup_us: setup, first_provisional_us: firstProv, ring_us: ring, attempts, auth_challenges: challenges, ...v,
  });
  let expected: Expected;
  switch (s.kind) {
    case 'answered':
    case 'auth': {
      const answer = add({ method: 'INVITE', cseq, code: 200, toTag: true, branch }, next());
      add({ method: 'ACK', cseq, toTag: true, branch: `${i}ack` }, next());
      const bye = add(s.calleeHangs
        ? { method: 'BYE', cseq: 1, fromCallee: true, toTag: true, branch: `${i}bye` }
        : { method: 'BYE', cseq: cseq + 1, toTag: true, branch: `${i}bye` }, next());
      add(s.calleeHangs
        ? { method: 'BYE', cseq: 1, code: 200, fromCallee: true, toTag: true, branch: `${i}bye` }
        : { method: 'BYE', cseq: cseq + 1, code: 200, toTag: true, branch: `${i}bye` }, next());
      expected = e({
        state: 'answered', answer_us: answer, end_us: bye, duration_ms: (bye - answer) / 1000,
        pdd_ms: ((ring ?? answer) - setup) / 1000, final_status: 200, hangup_side: s.calleeHangs ? 'callee' : 'caller', ack_seen: true,
      });
      break;
    }
    case 'busy':
    case 'unanswered': {
      const code = s.kind === 'busy' ? 486 : 480;
      const fin = add({ method: 'INVITE', cseq, code, toTag: true, branch }, next());
      add({ method: 'ACK', cseq, toTag: true, branch }, next());
      expected = e({
        state: s.kind === 'busy' ? 'busy' : 'no_answer', answer_us: null, end_us: fin, duration_ms: null,
        pdd_ms: ((ring ?? fin) - setup) / 1000, final_status: code, hangup_side: 'unknown', ack_seen: false,
      });
      break;
    }
    case 'cancel': {
      const cancel = add({ method: 'CANCEL', cseq, branch }, next());
      add({ method: 'CANCEL', cseq, code: 200, branch }, next());
      add({ method: 'INVITE', cseq, code: 487, toTag: true, branch }, next());
      add({ method: 'ACK', cseq, toTag: true, branch }, next());
      expected = e({
        state: 'cancelled', answer_us: null, end_us: cancel, duration_ms: null, pdd_ms: (ring! - setup) / 1000,
        final_status: 487, hangup_side: 'caller', ack_seen: false,
      });
      break;
    }
  }
  const msgs: ObservedSip[] = [];
  steps.forEach((st, k) => {
    const text = sipText(l, st.spec);
    msgs.push(obs(text, st.ts));
    // A retransmission repeats the same bytes later (same branch, same CSeq).
    if (s.retransmit[k] === true) msgs.push(obs(text, st.ts + s.retransmitDelay));
  });
  return { msgs, expected };
}

/** Arrival order: capture time plus a random delay below the window, so every message arrives before any
 * message captured more than one window after it. */
export function arrive(msgs: ObservedSip[], delays: number[]): ObservedSip[] {
  return msgs
    .map((m, k) => ({ m, key: Number(m.tsUs) + (delays[k % delays.length] ?? 0) }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.m);
}

