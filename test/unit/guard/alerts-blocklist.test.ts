import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AlertBook } from '../../../services/guard/alerts.ts';
import { Blocklist, type BlockPolicy } from '../../../services/guard/blocklist.ts';
import { BlocklistService, type AuditRow } from '../../../services/guard/blocklist-service.ts';
import { Allowlist } from '../../../services/guard/detect/allowlist.ts';
import type { Finding } from '../../../services/guard/detect/types.ts';
import { parseEvent } from '../../../services/guard/service.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { GuardErrors } from '../../../services/guard/errors.ts';

const finding = (at: number, severity: 'warning' | 'critical' = 'critical', value = '192.0.2.1'): Finding => ({
  detector: 'flood', rule: 'per_source', severity, subject: { kind: 'ip', value }, tenant: '', at, block: [value],
  evidence: { count: 30, threshold: 30, windowMs: 2000, detail: 'x', callIds: ['a'] },
});

describe('alert book', () => {
  it('one alert per subject while ongoing: opened, escalated, resolved', () => {
    const book = new AlertBook({ resolveAfterMs: 60_000, updateEveryMs: 10_000 });
    const a = book.apply(finding(1000, 'warning'), 1000);
    assert.equal(a?.kind, 'opened');
    assert.equal(book.apply(finding(2000, 'warning'), 2000), undefined);
    const e = book.apply(finding(3000, 'critical'), 3000);
    assert.equal(e?.kind, 'escalated');
    assert.equal(e?.alert.id, a?.alert.id);
    assert.equal(e?.alert.findings, 3);
    assert.deepEqual(book.tick(50_000), []);
    const r = book.tick(63_001);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.kind, 'resolved');
    assert.equal(r[0]!.alert.id, a?.alert.id);
    assert.ok(r[0]!.alert.version > e!.alert.version);
    // After resolution the same subject opens a new alert.
    const again = book.apply(finding(70_000), 70_000);
    assert.equal(again?.kind, 'opened');
    assert.notEqual(again?.alert.id, a?.alert.id);
  });

  it('a restored firing alert continues instead of opening a second one', () => {
    const book = new AlertBook({ resolveAfterMs: 60_000, updateEveryMs: 10_000 });
    const opened = book.apply(finding(1000), 1000)!.alert;
    const after = new AlertBook({ resolveAfterMs: 60_000, updateEveryMs: 0 });
    after.restore([opened], 5000);
    const c = after.apply(finding(6000), 6000);
    assert.equal(c?.kind, 'updated');
    assert.equal(c?.alert.id, opened.id);
  });

  it('any finding sequence: at most one firing alert per subject, versions grow (property)', () => {
    fc.assert(fc.property(fc.array(fc.record({ dt: fc.integer({ min: 0, max: 90_000 }), sev: fc.constantFrom('warning', 'critical') as fc.Arbitrary<'warning' | 'critical'>, s: fc.integer({ min: 1, max: 3 }) })), (steps) => {
      const book = new AlertBook({ resolveAfterMs: 60_000, updateEveryMs: 5_000 });
      let t = 0;
      const versions = new Map<string, number>();
      for (const st of steps) {
        t += st.dt;
        for (const c of [...book.tick(t), book.apply(finding(t, st.sev, `192.0.2.${st.s}`), t)]) {
          if (c === undefined) continue;
          assert.ok((versions.get(c.alert.id) ?? 0) < c.alert.version);
          versions.set(c.alert.id, c.alert.version);
        }
        const subjects = book.firing.map((a) => a.subject.value);
        assert.equal(new Set(subjects).size, subjects.length);
      }
    }));
  });
});

const policy: BlockPolicy = { baseTtlMs: 600_000, escalationFactor: 4, maxTtlMs: 86_400_000, offenceMemoryMs: 30 * 86_400_000, manualTtlMs: 3_600_000, unblockGraceMs: 3_600_000 };

describe('blocklist', () => {
  const setup = () => {
    let now = 1_000_000;
    const state = new Blocklist(policy, new Allowlist(['10.0.0.0/8']));
    const audit: AuditRow[] = [];
    const written: string[] = [];
    const svc = new BlocklistService(state, { write: async (r) => { state.apply(r); written.push(`${r.ip}:${r.state}`); } }, (a) => audit.push(a), () => now);
    return { state, audit, written, svc, advance: (ms: number) => { now += ms; }, now: () => now };
  };

  it('escalates repeat offenders: 10 min, 40 min, 160 min, capped', async () => {
    const { svc, advance, now } = setup();
    const ttls: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await svc.block({ ip: '192.0.2.1', reason: 'flood', detector: 'flood', actor: 'guard' });
      assert.equal(d.kind, 'block');
      if (d.kind === 'block') ttls.push((d.record.expiresAt - now()) / 60_000);
      advance(d.kind === 'block' ? d.record.expiresAt - now() + 1 : 0);
    }
    assert.deepEqual(ttls, [10, 40, 160, 640, 1440]);
  });

  it('while active a detector does not re-write it; the allowlist wins, also over manual blocks', async () => {
    const { svc, audit, written } = setup();
    await svc.block({ ip: '192.0.2.2', reason: 'scan', detector: 'scanner', actor: 'guard' });
    assert.equal((await svc.block({ ip: '192.0.2.2', reason: 'scan', detector: 'scanner', actor: 'guard' })).kind, 'already');
    assert.equal((await svc.block({ ip: '10.1.2.3', reason: 'flood', detector: 'flood', actor: 'guard' })).kind, 'allowlisted');
    await assert.rejects(svc.block({ ip: '10.1.2.3', reason: 'x', detector: 'manual', actor: 'noc' }), (e) => isTollgateError(e, GuardErrors.allowlisted));
    await assert.rejects(svc.block({ ip: 'not-an-ip', reason: 'x', detector: 'manual', actor: 'noc' }), (e) => isTollgateError(e, GuardErrors.badAddress));
    assert.deepEqual(written, ['192.0.2.2:active']);
    assert.deepEqual(audit.map((a) => a.action), ['block', 'refuse', 'refuse']);
  });

  it('manual unblock lifts it with reason and actor, and gives a grace period against detectors', async () => {
    const { svc, state, audit, advance, now } = setup();
    await svc.block({ ip: '192.0.2.3', reason: 'bf', detector: 'bruteforce', actor: 'guard' });
    const r = await svc.unblock('192.0.2.3', 'customer PBX, false positive', 'noc-key');
    assert.equal(r?.state, 'lifted');
    assert.equal(state.isActive('192.0.2.3', now()), false);
    assert.equal((await svc.block({ ip: '192.0.2.3', reason: 'bf', detector: 'bruteforce', actor: 'guard' })).kind, 'grace');
    assert.equal((await svc.block({ ip: '192.0.2.3', reason: 'really', detector: 'manual', actor: 'noc' })).kind, 'block');
    assert.equal(await svc.unblock('192.0.2.99', 'x', 'noc'), undefined);
    advance(1);
    assert.deepEqual(audit.map((a) => [a.action, a.actor]), [['block', 'guard'], ['unblock', 'noc-key'], ['block', 'noc']]);
  });

  it('records apply by updatedAt: replays and reordering converge (property)', () => {
    fc.assert(fc.property(fc.array(fc.record({ u: fc.integer({ min: 0, max: 50 }), s: fc.constantFrom('active', 'lifted') as fc.Arbitrary<'active' | 'lifted'> }), { minLength: 1 }), fc.integer(), (recs, seed) => {
      const mk = (x: { u: number; s: 'active' | 'lifted' }) => ({ ip: '192.0.2.9', state: x.s, reason: '', detector: 'flood', actor: '', alertId: '', createdAt: 0, expiresAt: 10_000, offences: 1, updatedAt: x.u, graceUntil: 0 });
      const a = new Blocklist(policy, new Allowlist([]));
      const b = new Blocklist(policy, new Allowlist([]));
      for (const r of recs) a.apply(mk(r));
      const shuffled = [...recs, ...recs].sort((x, y) => ((x.u * 31 + seed) % 7) - ((y.u * 31 + seed) % 7));
      for (const r of shuffled) b.apply(mk(r));
      const maxU = Math.max(...recs.map((r) => r.u));
      assert.equal(a.get('192.0.2.9')!.updatedAt, maxU);
      assert.equal(b.get('192.0.2.9')!.updatedAt, maxU);
    }));
  });
});

describe('event parsing', () => {
  it('refuses junk without throwing', () => {
    for (const v of ['', 'null', '{}', '{"v":2}', '[1]', '{"v":1,"kind":"register","status":"x"}', '\u0000\u00ff']) {
      assert.equal(parseEvent(Buffer.from(v), false), undefined, v);
      assert.equal(parseEvent(Buffer.from(v), true), undefined, v);
    }
    assert.equal(parseEvent(null, false), undefined);
  });

  it('a valid event cut at every offset is refused, never half-read; the whole one is read', async () => {
    const { req, junk } = await import('./events.ts');
    for (const [value, quarantine] of [[JSON.stringify(req(Date.now(), '192.0.2.1', 'INVITE', { cseq: 2 })), false], [JSON.stringify(junk(Date.now(), '192.0.2.1')), true]] as const) {
      const buf = Buffer.from(value);
      for (let cut = 0; cut < buf.length; cut++) assert.equal(parseEvent(buf.subarray(0, cut), quarantine), undefined, `cut at ${cut}`);
      assert.ok(parseEvent(buf, quarantine));
    }
  });

  it('random bytes and random JSON never throw (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.jsonValue(), fc.boolean(), (bytes, json, q) => {
      parseEvent(Buffer.from(bytes), q);
      const e = parseEvent(Buffer.from(JSON.stringify(json) ?? ''), q);
      if (e !== undefined) assert.equal(e.v, 1);
    }));
  });
});
