/**
 * A fixed, seeded stream of calls (every scenario kind, retransmissions, reordering within the window) and
 * REGISTER exchanges (401 challenge, then 200 or 403, OPTIONS keep-alives between them), and what the trackers make
 * of it: every record, and both trackers' snapshots at three cut points. `make-golden.ts` writes this from a
 * known-good build into `test/fixtures/correlation-golden.json`; `golden.test.ts` checks the current build
 * against it, so a change in how the trackers keep state cannot change a record or the snapshot format unnoticed.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DialogTracker, RegistrationTracker } from '../../../services/analyzer/correlation/index.ts';
import type { ObservedSip } from '../../../services/analyzer/correlation/index.ts';
import { arrive, build, scenarioArb, T0 } from './scenarios.ts';
import { obs, registerText } from './build.ts';

const CALLS = 150;
const REGISTERS = 60;
const SPAN_US = 90_000_000;
export const CUTS = [0.25, 0.5, 0.75];
export const END = T0 + 30 * 86_400_000_000;

export function goldenStream(): ObservedSip[] {
  const scenarios = fc.sample(scenarioArb, { numRuns: CALLS, seed: 4242 });
  const msgs: ObservedSip[] = [];
  scenarios.forEach((s, i) => msgs.push(...build(i, { ...s, start: Math.floor((i / CALLS) * SPAN_US) }).msgs));
  for (let i = 0; i < REGISTERS; i++) {
    const t = T0 + Math.floor((i / REGISTERS) * SPAN_US);
    const base = { callId: `golden-reg-${i}`, user: `${1000 + (i % 7)}`, contactHost: i % 3 === 0 ? '10.1.2.3' : '198.51.100.20' };
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `ra${i}` }), t));
    msgs.push(obs(registerText({ ...base, cseq: 1, branch: `ra${i}`, code: 401 }), t + 800));
    msgs.push(obs(registerText({ ...base, cseq: 2, branch: `rb${i}`, auth: base.user }), t + 1500));
    if (i % 5 !== 4) msgs.push(obs(registerText({ ...base, cseq: 2, branch: `rb${i}`, code: i % 4 === 0 ? 403 : 200, expires: 300 }), t + 2300));
    msgs.push(obs(registerText({ ...base, cseq: 3, branch: `o${i}` }).replace(/REGISTER/g, 'OPTIONS'), t + 5_000_000));
  }
  const delays = fc.sample(fc.integer({ min: 0, max: 1_999_999 }), { numRuns: 512, seed: 99 });
  return arrive(msgs, delays);
}

export interface Golden {
  messages: number;
  calls: number;
  registrations: number;
  /** sha256 of the JSON of every record of the uninterrupted run, in emission order. */
  callsSha256: string;
  registrationsSha256: string;
  /** Snapshots taken after `CUTS[i]` of the stream, as JSON text. */
  snapshots: Array<{ cut: number; dialogs: unknown; registrations: unknown }>;
}

export const sha256 = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex');

export function runGolden(stream: readonly ObservedSip[]): Golden {
  const d = new DialogTracker();
  const r = new RegistrationTracker();
  const calls: unknown[] = [];
  const regs: unknown[] = [];
  const snapshots: Golden['snapshots'] = [];
  const cutAt = CUTS.map((c) => Math.floor(c * stream.length));
  stream.forEach((o, i) => {
    const k = cutAt.indexOf(i);
    if (k !== -1) snapshots.push({ cut: CUTS[k]!, dialogs: JSON.parse(JSON.stringify(d.snapshot())), registrations: JSON.parse(JSON.stringify(r.snapshot())) });
    calls.push(...d.observe(o));
    regs.push(...r.observe(o));
  });
  calls.push(...d.advanceTo(END));
  regs.push(...r.advanceTo(END));
  return {
    messages: stream.length, calls: calls.length, registrations: regs.length, callsSha256: sha256(calls),
    registrationsSha256: sha256(regs), snapshots,
  };
}
