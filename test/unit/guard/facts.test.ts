/**
 * Re-keying for scale-out: engines on three partitions of each facts topic, each fed only the events routed to it by key, find exactly what one
 * engine fed everything finds — for any mix of brute force, distributed guessing, toll fraud calls and floods.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ALL_PARTS, DetectorEngine, type EngineParts } from '../../../services/guard/detect/engine.ts';
import { Allowlist } from '../../../services/guard/detect/allowlist.ts';
import { loadRules } from '../../../services/guard/detect/rules.ts';
import { PrefixList } from '../../../services/guard/detect/numbers.ts';
import type { Finding, SipEvent } from '../../../services/guard/detect/types.ts';
import { factsOf, type FactKind } from '../../../services/guard/facts.ts';
import { req, resp, T0 } from './events.ts';

const HIGH_RISK = PrefixList.parse(readFileSync(new URL('../../../services/guard/high-risk-prefixes.txt', import.meta.url), 'utf8'));
const engine = (parts: EngineParts) => new DetectorEngine(loadRules(undefined), new Allowlist([]), HIGH_RISK, parts);
const key = (f: Finding) => `${f.detector}|${f.rule}|${f.subject.kind}|${f.subject.value}|${f.severity}|${[...f.block].sort().join(',')}`;

/** A stand-in for Kafka's key partitioner: any stable function of the key shows whether the right events meet. */
function partitionOf(key: string): number {
  let h = 0;
  for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % 3;
}

type Action = { kind: 'fail' | 'ok' | 'call' | 'cancel' | 'options'; src: number; account: number; gap: number };

function events(actions: readonly Action[]): SipEvent[] {
  const out: SipEvent[] = [];
  let t = T0;
  let n = 0;
  for (const a of actions) {
    t += a.gap;
    const src = `198.51.100.${a.src + 1}`;
    const user = `acct${a.account}`;
    const call_id = `f${n++}`;
    const who = { call_id, cseq: 1, from_user: user, to_user: user, auth_user: user };
    if (a.kind === 'fail' || a.kind === 'ok') {
      out.push(req(t, src, 'REGISTER', who), resp(t + 5, src, 'REGISTER', a.kind === 'ok' ? 200 : 401, who));
    } else if (a.kind === 'call' || a.kind === 'cancel') {
      const call = { ...who, ruri_user: `+88216${a.src}00${a.account}`, to_user: `+88216${a.src}00${a.account}` };
      out.push(req(t, src, 'INVITE', call));
      if (a.kind === 'cancel') out.push(req(t + 1_000, src, 'CANCEL', call), resp(t + 1_010, src, 'INVITE', 487, call));
    } else {
      for (let i = 0; i < 12; i++) out.push(req(t + i, src, 'OPTIONS', { call_id: `${call_id}-${i}` }));
    }
  }
  return out;
}

describe('facts routing (scale-out)', () => {
  let nonEmpty = 0;
  it('the three part engines on their routed streams find what one engine finds on everything (property)', () => {
    const action = fc.record({
      kind: fc.constantFrom<Action['kind']>('fail', 'fail', 'fail', 'ok', 'call', 'cancel', 'options'),
      src: fc.integer({ min: 0, max: 5 }), account: fc.integer({ min: 0, max: 2 }), gap: fc.integer({ min: 0, max: 1_000 }),
    });
    fc.assert(fc.property(fc.array(action, { minLength: 40, maxLength: 150, size: 'max' }), (actions) => {
      const stream = events(actions);
      const whole = engine(ALL_PARTS);
      const expected = stream.flatMap((e) => whole.sip(e)).map(key).sort();
      // Three partitions per facts topic, each with its own engine, as three guards would hold them.
      const partitions = (p: EngineParts) => [engine(p), engine(p), engine(p)];
      const parts: Record<FactKind, DetectorEngine[]> = {
        source: partitions({ source: true, account: false, destination: false }),
        account: partitions({ source: false, account: true, destination: false }),
        destination: partitions({ source: false, account: false, destination: true }),
      };
      const got = stream.flatMap((e) => factsOf(e).flatMap((f) => parts[f.kind][partitionOf(f.key)]!.sip(e))).map(key).sort();
      assert.deepEqual(got, expected);
      if (expected.length > 0) nonEmpty++;
    }), { numRuns: 300 });
    assert.ok(nonEmpty > 100, `streams with findings: ${nonEmpty} of 300`);
  });

  it('routes a request and its answer to the same account and source keys', () => {
    const r = req(T0, '198.51.100.1', 'REGISTER', { call_id: 'x', from_user: 'alice', auth_user: 'alice' });
    const a = resp(T0 + 5, '198.51.100.1', 'REGISTER', 401, { call_id: 'x', from_user: 'alice' });
    assert.deepEqual(factsOf(r), [{ kind: 'source', key: '198.51.100.1' }, { kind: 'account', key: 'alice' }, { kind: 'destination', key: '10.0.0.1' }]);
    assert.deepEqual(factsOf(a), [{ kind: 'source', key: '198.51.100.1' }, { kind: 'account', key: 'alice' }]);
    assert.deepEqual(factsOf(req(T0, '198.51.100.1', 'OPTIONS')).map((f) => f.kind), ['source', 'destination']);
  });
});
