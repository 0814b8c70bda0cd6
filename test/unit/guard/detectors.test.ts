import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DetectorEngine } from '../../../services/guard/detect/engine.ts';
import { Allowlist } from '../../../services/guard/detect/allowlist.ts';
import { DEFAULT_RULES, loadRules } from '../../../services/guard/detect/rules.ts';
import { normaliseNumber, PrefixList } from '../../../services/guard/detect/numbers.ts';
import { longestSequentialRun } from '../../../services/guard/detect/scanner.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { GuardErrors } from '../../../services/guard/errors.ts';
import type { Finding } from '../../../services/guard/detect/types.ts';
import { junk, req, resp, T0 } from './events.ts';
import { readFileSync } from 'node:fs';

const HIGH_RISK = PrefixList.parse(readFileSync(new URL('../../../services/guard/high-risk-prefixes.txt', import.meta.url), 'utf8'));
const engine = (overrides?: unknown, allow: string[] = []) => new DetectorEngine(loadRules(overrides), new Allowlist(allow), HIGH_RISK);
const plan = { techPrefixes: ['*67', '#31#'], defaultCountryCode: '44' };

describe('flood', () => {
  it('blocks a source at the 30th request inside 2 s, not before', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let i = 0; i < 29; i++) out.push(...g.sip(req(T0 + i * 20, '198.51.100.7', 'OPTIONS')));
    assert.equal(out.length, 0);
    const f = g.sip(req(T0 + 29 * 20, '198.51.100.7', 'INVITE'));
    assert.equal(f.length, 1);
    assert.deepEqual([f[0]!.detector, f[0]!.rule, f[0]!.subject.value, f[0]!.block], ['flood', 'per_source', '198.51.100.7', ['198.51.100.7']]);
    assert.equal(f[0]!.evidence.count, 30);
  });

  it('ignores 10 requests/s for a minute (pike never fires at that rate either)', () => {
    const g = engine();
    let n = 0;
    for (let i = 0; i < 600; i++) n += g.sip(req(T0 + i * 100, '198.51.100.7', 'OPTIONS')).length;
    assert.equal(n, 0);
  });

  it('fires exactly when some 2 s window holds 30 requests (property, against a brute-force oracle)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 120 }), (gaps) => {
      const g = engine();
      let t = T0;
      const times: number[] = [];
      let fired = false;
      for (const gap of gaps) {
        t += gap;
        times.push(t);
        if (g.sip(req(t, '203.0.113.9', 'OPTIONS')).some((f) => f.rule === 'per_source')) fired = true;
      }
      const oracle = times.some((x, i) => times.filter((y, j) => j <= i && y > x - 2_000).length >= 30);
      assert.equal(fired, oracle);
    }), { numRuns: 200 });
  });

  it('alerts (without blocking) on a destination hit by many sources', () => {
    const g = engine({ flood: { perDestinationLimit: 50 } });
    const out: Finding[] = [];
    for (let i = 0; i < 50; i++) out.push(...g.sip(req(T0 + i * 10, `198.51.100.${i}`, 'OPTIONS')));
    assert.deepEqual(out.map((f) => [f.rule, f.subject.value, f.severity, f.block.length]), [['per_destination', '10.0.0.1', 'warning', 0]]);
  });
});

describe('scanner', () => {
  it('blocks on the first request of a tool User-Agent or a From tell', () => {
    const g = engine();
    const a = g.sip(req(T0, '192.0.2.1', 'OPTIONS', { user_agent: 'friendly-scanner' }));
    assert.deepEqual(a.map((f) => [f.rule, f.block[0]]), [['tool_ua', '192.0.2.1']]);
    const b = g.sip(req(T0, '192.0.2.2', 'INVITE', { user_agent: 'Zoiper', from_user: '100', from_domain: '1.1.1.1' }));
    assert.deepEqual(b.map((f) => f.rule), ['from_tell']);
  });

  it('catches an ordinary UA enumerating extensions by behaviour', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let ext = 100; ext < 120 && out.length === 0; ext++) {
      const e = String(ext);
      out.push(...g.sip(req(T0 + ext * 50, '192.0.2.50', 'REGISTER', { user_agent: 'Linphone/5.2', to_user: e, from_user: e })));
      out.push(...g.sip(resp(T0 + ext * 50 + 5, '192.0.2.50', 'REGISTER', 403)));
    }
    assert.equal(out.length, 1);
    assert.equal(out[0]!.rule, 'sequential');
    assert.equal(out[0]!.block[0], '192.0.2.50');
    assert.equal(out[0]!.evidence.count, 6);
  });

  it('never flags a phone that registers, is challenged and succeeds (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 120_000 }), { maxLength: 60 }), fc.constantFrom('REGISTER', 'INVITE', 'OPTIONS'), (gaps, method) => {
      const g = engine();
      let t = T0;
      for (const gap of gaps) {
        t += gap;
        const findings = [
          ...g.sip(req(t, '192.0.2.77', method, { ruri_user: '200' })),
          ...g.sip(resp(t + 2, '192.0.2.77', method, 401)),
          ...g.sip(req(t + 4, '192.0.2.77', method, { auth_user: 'alice', ruri_user: '200' })),
          ...g.sip(resp(t + 6, '192.0.2.77', method, 200)),
        ];
        assert.deepEqual(findings, []);
      }
    }), { numRuns: 100 });
  });

  it('longest sequential run', () => {
    assert.equal(longestSequentialRun(['100', '102', '101', 'bob', '105', '103']), 4);
    assert.equal(longestSequentialRun([]), 0);
  });
});

describe('brute force', () => {
  const attempt = (g: DetectorEngine, t: number, src: string, account: string, status: number, callId: string) => [
    ...g.sip(req(t, src, 'REGISTER', { auth_user: account, call_id: callId, from_user: account, to_user: account })),
    ...g.sip(resp(t + 1, src, 'REGISTER', status, { call_id: callId })),
  ];

  it('blocks one source after 8 rejected credentials in a minute', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let i = 0; i < 8; i++) out.push(...attempt(g, T0 + i * 500, '192.0.2.9', '1000', 401, `bf${i}`));
    assert.deepEqual(out.map((f) => [f.rule, f.evidence.count]), [['per_source', 8]]);
  });

  it('distributed: five sources on one account → alert on the account, the failing sources blocked', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let s = 1; s <= 5; s++) for (let k = 0; k < 2; k++) out.push(...attempt(g, T0 + s * 10_000 + k * 1000, `203.0.113.${s}`, 'sales', 403, `d${s}.${k}`));
    // The real user logs in from a sixth address: never blocked.
    out.push(...attempt(g, T0 + 70_000, '198.51.100.200', 'sales', 200, 'ok1'));
    const d = out.filter((f) => f.rule === 'distributed');
    // The fifth source's first failure completes the picture (it is not blocked yet), its second adds it.
    assert.deepEqual(d.map((f) => f.block.length), [4, 5]);
    assert.deepEqual(d[1]!.subject, { kind: 'account', value: 'sales' });
    assert.deepEqual([...d[1]!.block].sort(), ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5']);
  });

  it('pairs a response read before its request (they travel on different partitions)', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let i = 0; i < 8; i++) {
      const t = T0 + i * 500;
      out.push(...g.sip(resp(t + 1, '192.0.2.19', 'REGISTER', 401, { call_id: `early${i}` })));
      out.push(...g.sip(req(t, '192.0.2.19', 'REGISTER', { auth_user: '1000', call_id: `early${i}` })));
    }
    assert.deepEqual(out.map((f) => [f.rule, f.evidence.count]), [['per_source', 8]]);
  });

  it('a late challenge of the first REGISTER is not a failure of the second (legit phone, responses read late)', () => {
    const g = engine();
    let n = 0;
    for (let i = 0; i < 30; i++) {
      const t = T0 + i * 2_000;
      n += g.sip(req(t, '192.0.2.31', 'REGISTER', { call_id: `l${i}` })).length;
      n += g.sip(req(t + 10, '192.0.2.31', 'REGISTER', { call_id: `l${i}`, auth_user: 'alice' })).length;
      n += g.sip(resp(t + 5, '192.0.2.31', 'REGISTER', 401, { call_id: `l${i}` })).length;
      n += g.sip(resp(t + 15, '192.0.2.31', 'REGISTER', 200, { call_id: `l${i}` })).length;
    }
    assert.equal(n, 0);
  });

  it('a legit phone is never flagged, however its two partitions interleave (property)', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: 240, maxLength: 240 }), fc.constantFrom('REGISTER', 'INVITE'), (picks, method) => {
      const g = engine();
      const reqs: ReturnType<typeof req>[] = [];
      const resps: ReturnType<typeof resp>[] = [];
      for (let i = 0; i < 60; i++) {
        const t = T0 + i * 1_500;
        const over = { call_id: `p${i}`, ruri_user: `+44161700000${i % 10}`, to_user: `+44161700000${i % 10}` };
        reqs.push(req(t, '192.0.2.33', method, over), req(t + 10, '192.0.2.33', method, { ...over, auth_user: 'alice' }));
        resps.push(resp(t + 5, '192.0.2.33', method, method === 'INVITE' ? 407 : 401, over), resp(t + 15, '192.0.2.33', method, 200, over));
        if (method === 'INVITE') reqs.push(req(t + 500, '192.0.2.33', 'BYE', over));
      }
      let i = 0;
      let j = 0;
      const out: Finding[] = [];
      for (const fromRequests of picks) {
        if ((fromRequests && i < reqs.length) || j >= resps.length) out.push(...g.sip(reqs[i++]!));
        else out.push(...g.sip(resps[j++]!));
      }
      while (i < reqs.length) out.push(...g.sip(reqs[i++]!));
      while (j < resps.length) out.push(...g.sip(resps[j++]!));
      assert.deepEqual(out.map((f) => `${f.detector}/${f.rule}`), []);
    }), { numRuns: 150 });
  });

  it('pairs by CSeq: a challenge traced after the next request is still the challenge (as Kamailio stamps it)', () => {
    const g = engine();
    let n = 0;
    for (let i = 0; i < 30; i++) {
      const t = T0 + i * 2_000;
      n += g.sip(req(t, '192.0.2.32', 'REGISTER', { call_id: `k${i}`, cseq: 1 })).length;
      n += g.sip(req(t + 10, '192.0.2.32', 'REGISTER', { call_id: `k${i}`, cseq: 2, auth_user: 'alice' })).length;
      n += g.sip(resp(t + 12, '192.0.2.32', 'REGISTER', 200, { call_id: `k${i}`, cseq: 2 })).length;
      n += g.sip(resp(t + 14, '192.0.2.32', 'REGISTER', 401, { call_id: `k${i}`, cseq: 1 })).length;
    }
    assert.equal(n, 0);
  });

  it('a wrong password now and then is not brute force', () => {
    const g = engine();
    let n = 0;
    for (let i = 0; i < 100; i++) n += attempt(g, T0 + i * 30_000, '192.0.2.10', '1001', i % 10 === 0 ? 401 : 200, `w${i}`).length;
    assert.equal(n, 0);
  });
});

describe('toll fraud', () => {
  const call = (g: DetectorEngine, t: number, number: string, callId: string, src = '198.51.100.20', account = 'pbx1', over = {}) =>
    g.sip(req(t, src, 'INVITE', { ruri_user: number, to_user: number, auth_user: account, from_user: account, call_id: callId, ...over }));

  it('20 calls/min to +882 raise cpm warning then critical', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let i = 0; i < 20; i++) out.push(...call(g, T0 + i * 3_000, `00882${1000 + i}`, `tf${i}`));
    // The detector reports every call over a threshold; the alert book turns that into one alert.
    const cpm = out.filter((f) => f.rule.startsWith('cpm:'));
    assert.equal(cpm.length, 16);
    const first = (sev: string) => cpm.find((f) => f.severity === sev)!;
    assert.deepEqual([first('warning').evidence.count, first('critical').evidence.count], [5, 10]);
    assert.equal(cpm.at(-1)!.evidence.count, 20);
    assert.equal(first('critical').rule, 'cpm:high_risk:+882');
    assert.deepEqual(first('critical').subject, { kind: 'account', value: 'pbx1' });
    assert.deepEqual(first('critical').block, []);
    assert.ok(out.some((f) => f.rule.startsWith('concurrent:') && f.severity === 'critical'));
  });

  it('ordinary national calls at the same rate raise nothing', () => {
    const g = engine();
    let n = 0;
    for (let i = 0; i < 20; i++) {
      n += call(g, T0 + i * 3_000, `4420794${String(i).padStart(5, '0')}`, `n${i}`).length;
      n += g.sip(req(T0 + i * 3_000 + 1_000, '198.51.100.20', 'BYE', { call_id: `n${i}` })).length;
    }
    assert.equal(n, 0);
  });

  it('blocks the sources when the operator asks for it, per tenant', () => {
    const g = engine({ tenants: { acme: { tollfraud: { blockSources: true } } } });
    const out: Finding[] = [];
    for (let i = 0; i < 10; i++) out.push(...call(g, T0 + i * 1_000, `+8821${i}`, `a${i}`, '198.51.100.21', 'x', { tenant: 'acme' }));
    assert.ok(out.some((f) => f.severity === 'critical' && f.block[0] === '198.51.100.21' && f.subject.value === 'acme/x'));
  });

  it('Wangiri: short cancelled calls to many numbers', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let i = 0; i < 10; i++) {
      out.push(...call(g, T0 + i * 10_000, `0044161${i}00000`, `w${i}`, '198.51.100.30', 'pbx9'));
      out.push(...g.sip(req(T0 + i * 10_000 + 2_000, '198.51.100.30', 'CANCEL', { call_id: `w${i}` })));
    }
    const w = out.filter((f) => f.rule.startsWith('wangiri'));
    assert.equal(w.length, 1);
    assert.equal(w[0]!.severity, 'warning');
  });

  it('new network after the account is known', () => {
    const g = engine({ tollfraud: { learnCalls: 3 } });
    let out: Finding[] = [];
    for (let i = 0; i < 4; i++) out.push(...call(g, T0 + i * 60_000, '+441617000000', `k${i}`, '198.51.100.40', 'desk'));
    assert.equal(out.length, 0);
    out = call(g, T0 + 300_000, '+441617000000', 'k9', '203.0.113.40', 'desk');
    assert.deepEqual(out.map((f) => [f.rule, f.evidence.extra?.['network']]), [['new_network', '203.0.113.0/24']]);
  });

  it('normalises 00, 011, +, tech prefixes and separators', () => {
    assert.equal(normaliseNumber('00882123', plan), '+882123');
    assert.equal(normaliseNumber('01188212345678', plan), '+88212345678');
    assert.equal(normaliseNumber('*6700 882 (12) 3-4', plan), '+882123' + '4');
    assert.equal(normaliseNumber('+882123;npdi', plan), '+882123');
    assert.equal(normaliseNumber('02071234567', plan), '+442071234567');
    assert.equal(normaliseNumber('1001', plan), '1001');
    assert.equal(normaliseNumber('alice', plan), '');
    assert.equal(HIGH_RISK.match('+88212345'), '+882');
    assert.equal(HIGH_RISK.match('+18095551234'), '+1809');
    assert.equal(HIGH_RISK.match('+12125551234'), undefined);
  });

  it('00X and +X normalise alike, and the normal form is a fixed point (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^[1-9]\d{3,14}$/), (digits) => {
      const a = normaliseNumber(`00${digits}`, plan);
      assert.equal(a, `+${digits}`);
      assert.equal(normaliseNumber(a, plan), a);
    }));
  });

  it('the prefix list names a bad line', () => {
    assert.throws(() => PrefixList.parse('+882\n+88x # oops\n'), (e) => isTollgateError(e, GuardErrors.badPrefixList) && /line 2/.test(e.message));
  });
});

describe('malformed', () => {
  it('warns at 10 and blocks at 30 quarantined messages a minute', () => {
    const g = engine();
    const out: Finding[] = [];
    for (let i = 0; i < 30; i++) out.push(...g.quarantine(junk(T0 + i * 1_100, '192.0.2.66')));
    assert.equal(out[0]!.severity, 'warning');
    assert.equal(out[0]!.evidence.count, 10);
    const crit = out.filter((f) => f.severity === 'critical');
    assert.equal(crit.length, 1);
    assert.deepEqual(crit[0]!.block, ['192.0.2.66']);
  });
});

describe('engine', () => {
  it('never judges or blocks an allowlisted source', () => {
    const g = engine(undefined, ['192.0.2.0/24', '2001:db8::/32']);
    let n = 0;
    for (let i = 0; i < 100; i++) n += g.sip(req(T0 + i, '192.0.2.5', 'OPTIONS', { user_agent: 'friendly-scanner' })).length;
    for (let i = 0; i < 100; i++) n += g.sip(req(T0 + i, '2001:db8::5', 'OPTIONS', { user_agent: 'friendly-scanner' })).length;
    assert.equal(n, 0);
  });

  it('drops replayed events by id', () => {
    const g = engine();
    const e = req(T0, '192.0.2.1', 'OPTIONS', { user_agent: 'sipvicious' });
    assert.equal(g.sip(e).length, 1);
    assert.equal(g.sip(e).length, 0);
    assert.equal(g.duplicates, 1);
  });

  it('survives junk events (property): no throw, no finding from an unreadable time', () => {
    fc.assert(fc.property(fc.record({ ts: fc.string(), src_ip: fc.string(), method: fc.string(), status: fc.integer(), ruri_user: fc.string(), auth_user: fc.string(), user_agent: fc.string() }), (over) => {
      const g = engine();
      g.sip(req(T0, '192.0.2.1', 'INVITE', over));
      g.sip(resp(T0, '192.0.2.1', 'INVITE', 200, over));
    }));
  });

  it('tenant overrides apply to that tenant only', () => {
    const g = engine({ tenants: { big: { flood: { perSourceLimit: 100 } } } });
    let big = 0;
    let other = 0;
    for (let i = 0; i < 50; i++) big += g.sip(req(T0 + i * 10, '192.0.2.30', 'OPTIONS', { tenant: 'big' })).length;
    for (let i = 0; i < 50; i++) other += g.sip(req(T0 + i * 10, '192.0.2.31', 'OPTIONS', { tenant: 'small' })).length;
    assert.equal(big, 0);
    assert.ok(other >= 1);
  });

  it('rules: unknown keys and wrong types are refused by name', () => {
    assert.throws(() => loadRules({ flood: { perSourceLimt: 3 } }), /flood\.perSourceLimt: unknown setting/);
    assert.throws(() => loadRules({ scanner: { distinctUsers: 'ten' } }), /scanner\.distinctUsers: expected a number/);
    assert.equal(loadRules({ flood: { perSourceLimit: 5 } }).rules.flood.perSourceLimit, 5);
    assert.equal(loadRules(undefined).rules, DEFAULT_RULES);
  });
});
