/**
 * The guard's hot path was made cheaper (bench/PROFILE.md, "Guard: where an event's CPU goes") without changing one
 * decision. These tests hold that: a generated stream (the load generator's SIP mix decoded by the analyzer's own
 * decode, plus scanners, password guessing from one and from many sources, toll fraud, Wangiri, malformed traffic,
 * per-tenant rules, replayed ids, responses read before their requests, unreadable times) goes through the detector
 * engines, the alert book and the blocklist as the guard wires them, and the transcript of every finding, alert change
 * and block decision, with its timing, must hash to what the code before the change produced for the same stream (the
 * constants below were printed by this file run against that code). Fast-check holds the two rewritten readers (event
 * time, allowlist) equal to the readings they replace.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRecord } from '../../../services/analyzer/consumer/decode.ts';
import type { QuarantineEvent, SipEvent } from '../../../services/analyzer/events.ts';
import { TenantMap } from '../../../services/analyzer/tenants.ts';
import { AlertBook } from '../../../services/guard/alerts.ts';
import { Blocklist } from '../../../services/guard/blocklist.ts';
import { Allowlist } from '../../../services/guard/detect/allowlist.ts';
import { ALL_PARTS, DetectorEngine, type EngineParts } from '../../../services/guard/detect/engine.ts';
import { PrefixList } from '../../../services/guard/detect/numbers.ts';
import { loadRules, type RulesFile } from '../../../services/guard/detect/rules.ts';
import { eventTimeMs, type Finding } from '../../../services/guard/detect/types.ts';
import { parseEvent } from '../../../services/guard/event-records.ts';
import { rng, sipMix } from '../../support/hep-sender.ts';
import { envelopeOf } from '../../support/sip-scenarios.ts';

const HIGH_RISK = PrefixList.parse(readFileSync(new URL('../../../services/guard/high-risk-prefixes.txt', import.meta.url), 'utf8'));
const T0US = Date.UTC(2026, 10, 30, 9, 59, 0) * 1000;
const PROXY = '203.0.113.20';

function tsOf(us: number): string {
  const d = new Date(Math.floor(us / 1000)).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)}.${String(us % 1_000_000).padStart(6, '0')}`;
}

type Ev = { readonly q: false; readonly e: SipEvent } | { readonly q: true; readonly e: QuarantineEvent };

/** The load generator's packets as the analyzer's events (send order). */
function loadPool(): SipEvent[] {
  const tenants = TenantMap.parse('', 'default');
  const out: SipEvent[] = [];
  sipMix(600, 42).forEach((m, i) => {
    const d = decodeRecord(envelopeOf(m.bytes, 0), { topic: 'hep.sip', topicKind: 'sip', partition: 0, offset: i, kafkaTimestampMs: 0 }, tenants);
    if (d.kind === 'sip' && d.event !== undefined) out.push(d.event);
  });
  return out;
}

/** The whole stream, deterministic: `n` load events at `ratePerS`, attacks woven in, then disorder and replays (`farReplays`: from 200,000 back too). */
function stream(n: number, ratePerS: number, seed: number, farReplays = false): Ev[] {
  const r = rng(seed);
  const pool = loadPool();
  const step = 1e6 / ratePerS;
  let id = 0;
  const timed: { us: number; ev: Ev }[] = [];
  const base = (us: number, over: Partial<SipEvent>): SipEvent => ({
    v: 1, id: `gen/${id % 3}/${id++}`, kind: 'request', ts: tsOf(us), src_ip: '192.0.2.1', src_port: 5060, dst_ip: PROXY, dst_port: 5060, transport: 'UDP',
    method: 'OPTIONS', status: 0, call_id: `c${id}`, cseq: 1, from_user: 'alice', from_domain: 'example.test', to_user: 'alice', to_domain: 'example.test',
    ruri_user: '', ruri_domain: 'example.test', user_agent: 'Yealink SIP-T46S', auth_user: '', tenant: 'default', domain: 'example.test', ...over,
  });
  const push = (us: number, e: SipEvent) => timed.push({ us, ev: { q: false, e } });
  const answer = (us: number, rq: SipEvent, status: number, over: Partial<SipEvent> = {}): SipEvent => base(us, {
    src_ip: rq.dst_ip, dst_ip: rq.src_ip, method: rq.method, status, call_id: rq.call_id, cseq: rq.cseq, from_user: rq.from_user, to_user: rq.to_user,
    ruri_user: '', user_agent: 'kamailio', tenant: rq.tenant,
    kind: status < 200 ? 'provisional' : rq.method === 'INVITE' ? (status < 300 ? 'invite_answered' : 'invite_failed') : status < 300 ? 'response_ok' : 'response_failed', ...over,
  });
  for (let i = 0; i < n; i++) {
    const us = T0US + Math.floor(i * step);
    const e = pool[i % pool.length]!;
    push(us, { ...e, id: `hep.sip/${i % 3}/${i}`, ts: tsOf(us) });
    const k = r();
    if (k < 0.004) {
      // A scanner tool, by User-Agent or From.
      const src = `198.18.${Math.floor(r() * 4)}.${1 + Math.floor(r() * 50)}`;
      push(us + 7, base(us + 7, { src_ip: src, user_agent: r() < 0.5 ? 'friendly-scanner' : 'Mozilla', from_user: '100', from_domain: '1.1.1.1', method: 'OPTIONS' }));
    } else if (k < 0.02) {
      // An extension sweep from an ordinary UA: INVITEs to consecutive numbers answered 404 / 401.
      const src = `198.19.0.${1 + Math.floor(r() * 8)}`;
      const rq = base(us + 3, { src_ip: src, method: r() < 0.5 ? 'INVITE' : 'REGISTER', kind: 'invite', ruri_user: String(100 + Math.floor(r() * 30)), to_user: String(100 + Math.floor(r() * 30)) });
      push(us + 3, rq);
      push(us + 900, answer(us + 900, rq, r() < 0.8 ? 404 : 200));
    } else if (k < 0.035) {
      // Password guessing: credentialed REGISTERs answered 401/403 (a few from many sources on one account too).
      const many = r() < 0.4;
      const src = many ? `100.64.${Math.floor(r() * 3)}.${1 + Math.floor(r() * 12)}` : `198.51.100.${200 + Math.floor(r() * 5)}`;
      const account = many ? 'reception' : `u${Math.floor(r() * 40)}`;
      const rq = base(us + 5, { src_ip: src, method: r() < 0.8 ? 'REGISTER' : 'INVITE', kind: 'register', auth_user: account, from_user: account, to_user: account, cseq: 2, tenant: r() < 0.3 ? 'acme' : 'default' });
      const st = [401, 403, 407, 200, 500][Math.floor(r() * 5)]!;
      if (r() < 0.2) push(us + 4, answer(us + 4, rq, st)); // read before its request (another partition ahead)
      push(us + 5, rq);
      push(us + 40, answer(us + 40, rq, st));
    } else if (k < 0.05) {
      // Calls from PBX accounts: high-risk, national, cancelled while ringing (Wangiri), answered with BYE later.
      const account = `pbx${Math.floor(r() * 6)}`;
      const src = `10.${Math.floor(r() * 3)}.${Math.floor(r() * 4)}.9`;
      const dialled = ['+8821234', '0088216000', '+4930123456', '02079460000', '*67+8821999', `+3531${Math.floor(r() * 10)}`][Math.floor(r() * 6)]!;
      const rq = base(us + 2, { src_ip: src, method: 'INVITE', kind: 'invite', auth_user: r() < 0.5 ? account : '', from_user: account, ruri_user: dialled, to_user: dialled, tenant: r() < 0.5 ? 'acme' : 'default' });
      push(us + 2, rq);
      push(us + 50, answer(us + 50, rq, 180));
      const end = r();
      if (end < 0.4) {
        const cancelAt = us + 1000 + Math.floor(r() * 6_000_000);
        push(cancelAt, base(cancelAt, { src_ip: src, method: 'CANCEL', call_id: rq.call_id, cseq: 1, from_user: account, tenant: rq.tenant }));
        push(cancelAt + 10, answer(cancelAt + 10, rq, 487));
      } else if (end < 0.8) {
        push(us + 3000, answer(us + 3000, rq, 200));
        const byeAt = us + 3000 + Math.floor(r() * 4_000_000_000);
        push(byeAt, base(byeAt, { src_ip: src, method: 'BYE', kind: 'request', call_id: rq.call_id, cseq: 2, from_user: account, tenant: rq.tenant }));
      } else {
        push(us + 3000, answer(us + 3000, rq, [486, 401, 503][Math.floor(r() * 3)]!));
      }
    } else if (k < 0.06) {
      const src = `192.0.2.${1 + Math.floor(r() * 20)}`;
      timed.push({ us: us + 1, ev: { q: true, e: { v: 1, id: `q/0/${id++}`, kind: 'quarantine', ts: tsOf(us + 1), reason: ['sip:bad_start_line', 'hep:truncated', `r${Math.floor(r() * 12)}`][Math.floor(r() * 3)]!, detail: 'x', call_id: r() < 0.5 ? '' : `m${id}`, src_ip: r() < 0.05 ? '' : src, src_port: 5060, dst_ip: PROXY, dst_port: 5060, payload_type: 1 } } });
    } else if (k < 0.062) {
      // Times the engine cannot read, or reads the slow way: each must be judged as before.
      const bad = ['2026-11-30 10:00:00', '2026-11-30T10:00:00.5', 'garbage-in-the-time-field', '2026-02-31 10:00:00.000000', '2026-11-29 24:00:00.000000', '0999-01-01 00:00:00.000000', ''][Math.floor(r() * 7)]!;
      push(us + 1, { ...base(us + 1, { src_ip: '192.0.2.99' }), ts: bad });
    }
  }
  timed.sort((x, y) => x.us - y.us);
  const out = timed.map((t) => t.ev);
  // Partitions run ahead of each other: swap neighbours now and then, and replay a slice now and then (at least once).
  for (let i = 1; i < out.length; i++) if (r() < 0.03) [out[i - 1], out[i]] = [out[i]!, out[i - 1]!];
  const replayed: Ev[] = [];
  for (let i = 0; i < out.length; i++) {
    replayed.push(out[i]!);
    if (r() < 0.0005 && !farReplays) for (let j = Math.max(0, i - 1 - Math.floor(r() * 400)); j <= i; j++) replayed.push(out[j]!);
    // Replays reaching back to where the engine's memory of ids (200,000) ends: some are forgotten, some not (only
    // these replays then, so the ids in between are about as many as the events). Newest first: replaying the oldest
    // first would push each next one out as it comes back.
    if (farReplays && i > 205_000 && i % 20_000 === 0) for (let j = i - 199_000; j > i - 201_000; j--) replayed.push(out[j]!);
  }
  return replayed;
}

const RULES = loadRules({ tenants: { acme: { flood: { perSourceLimit: 45 }, tollfraud: { blockSources: true, learnCalls: 5 }, bruteforce: { perSourceFailures: 4 } } } });
const POLICY = { baseTtlMs: 600_000, escalationFactor: 4, maxTtlMs: 7 * 86_400_000, offenceMemoryMs: 30 * 86_400_000, manualTtlMs: 7 * 86_400_000, unblockGraceMs: 3_600_000 };

/**
 * The stream through engines, alert book and blocklist as GuardCore wires them (service.ts), on event time: the hash of
 * every finding, alert change and block decision in order, and counts that show the stream reaches every detector.
 */
function transcript(events: readonly Ev[], rules: RulesFile, allow: readonly string[], split: boolean): { hash: string; counts: Record<string, number> } {
  const allowlist = new Allowlist(allow);
  const parts: EngineParts[] = split
    ? [{ source: true, account: false, destination: false }, { source: false, account: true, destination: false }, { source: false, account: false, destination: true }]
    : [ALL_PARTS];
  const engines = parts.map((p) => new DetectorEngine(rules, allowlist, HIGH_RISK, p));
  const book = new AlertBook({ resolveAfterMs: 300_000, updateEveryMs: 10_000 });
  const state = new Blocklist(POLICY, allowlist);
  const h = createHash('sha256');
  const counts: Record<string, number> = {};
  const count = (k: string) => { counts[k] = (counts[k] ?? 0) + 1; };
  let now = -Infinity;
  events.forEach((ev, i) => {
    const findings: Finding[] = [];
    for (const g of engines) {
      findings.push(...(ev.q ? g.quarantine(ev.e) : g.sip(ev.e)));
      now = Math.max(now, g.now);
    }
    for (const f of findings) {
      count(`${f.detector}/${f.rule.split(':')[0]}/${f.severity}`);
      h.update(`F${i} ${JSON.stringify(f)}\n`);
      const change = book.apply(f, now);
      if (change !== undefined) h.update(`A ${change.kind} ${JSON.stringify(change.alert)}\n`);
      for (const ip of f.block) {
        if (state.isActive(ip, now)) continue;
        const d = state.decideBlock({ ip, reason: `${f.detector}/${f.rule}: ${f.evidence.detail}`, detector: f.detector, actor: 'guard:test', alertId: change?.alert.id ?? '' }, now);
        if (d.kind === 'block') state.apply(d.record);
        count(`block:${d.kind}`);
        h.update(`B ${d.kind} ${JSON.stringify('record' in d ? d.record : null)}\n`);
      }
    }
    if (i % 1000 === 999) {
      for (const c of book.tick(now)) h.update(`T ${c.kind} ${JSON.stringify(c.alert)}\n`);
      h.update(`S ${state.active(now).map((x) => x.ip).join(',')}\n`);
    }
    if (i % 30_000 === 29_999) for (const g of engines) g.sweep();
  });
  const dups = engines.reduce((n, g) => n + g.duplicates, 0);
  h.update(`D ${dups}\n`);
  counts['duplicates'] = dups;
  return { hash: h.digest('hex').slice(0, 32), counts };
}

/** What the code before the change gave for these streams (this file's PRINT_GOLDEN=1 output against that tree). */
const GOLDEN: Record<string, string> = {
  'load-40k':
    '2dc34e57b917991f2f746949ff5a4b8f {"scanner/from_tell/critical":217,"block:block":265,"flood/per_source/critical":235,"tollfraud/sequential/warning":2,"scanner/tool_ua/critical":183,"tollfraud/sequential/critical":5,"tollfraud/cpm/warning":15,"tollfraud/cpm/critical":196,"bruteforce/distributed/critical":180,"bruteforce/per_source/critical":141,"tollfraud/concurrent/warning":36,"scanner/enumeration/critical":56,"flood/per_destination/warning":355,"tollfraud/new_network/warning":20,"tollfraud/concurrent/critical":209,"malformed/per_source/warning":56,"tollfraud/total/warning":42,"malformed/per_source/critical":55,"tollfraud/wangiri/warning":51,"tollfraud/total/critical":11,"tollfraud/wangiri/critical":79,"tollfraud/duration/warning":113,"tollfraud/duration/critical":29,"duplicates":12713}',
  'load-40k-allowlist':
    '3e4f689b39df57f178c484b6a4febd10 {"scanner/from_tell/critical":165,"block:block":212,"flood/per_source/critical":207,"tollfraud/sequential/warning":2,"scanner/tool_ua/critical":141,"tollfraud/sequential/critical":5,"tollfraud/cpm/warning":15,"tollfraud/cpm/critical":174,"bruteforce/distributed/critical":174,"bruteforce/per_source/critical":134,"tollfraud/concurrent/warning":36,"scanner/enumeration/critical":56,"flood/per_destination/warning":349,"tollfraud/new_network/warning":20,"tollfraud/concurrent/critical":186,"malformed/per_source/warning":56,"tollfraud/total/warning":42,"malformed/per_source/critical":55,"tollfraud/wangiri/warning":51,"tollfraud/total/critical":11,"tollfraud/wangiri/critical":75,"tollfraud/duration/warning":113,"tollfraud/duration/critical":29,"duplicates":12713}',
  'load-2k-rekeyed':
    'fd70d0e283aa84c72847f8fe7febee86 {"scanner/from_tell/critical":119,"block:block":192,"flood/per_source/critical":99,"tollfraud/sequential/warning":1,"scanner/tool_ua/critical":82,"tollfraud/sequential/critical":32,"tollfraud/cpm/warning":35,"tollfraud/cpm/critical":169,"bruteforce/distributed/critical":92,"bruteforce/per_source/critical":148,"tollfraud/concurrent/warning":41,"scanner/enumeration/critical":221,"flood/per_destination/warning":155,"tollfraud/new_network/warning":38,"tollfraud/concurrent/critical":150,"malformed/per_source/warning":172,"tollfraud/wangiri/warning":84,"tollfraud/total/warning":40,"malformed/per_source/critical":21,"tollfraud/duration/warning":58,"tollfraud/duration/critical":12,"duplicates":21438}',
  'ids-wrap':
    '67f8cfcbe88287b9be6e77159e0af539 {"scanner/from_tell/critical":427,"block:block":288,"flood/per_source/critical":1097,"tollfraud/sequential/warning":3,"scanner/tool_ua/critical":378,"tollfraud/sequential/critical":216,"tollfraud/cpm/warning":94,"tollfraud/cpm/critical":650,"bruteforce/distributed/critical":484,"bruteforce/per_source/critical":436,"tollfraud/concurrent/warning":163,"scanner/enumeration/critical":337,"flood/per_destination/warning":1080,"tollfraud/new_network/warning":18,"tollfraud/concurrent/critical":550,"malformed/per_source/warning":62,"tollfraud/total/warning":62,"malformed/per_source/critical":269,"tollfraud/wangiri/warning":71,"tollfraud/total/critical":233,"tollfraud/wangiri/critical":286,"tollfraud/duration/warning":222,"tollfraud/duration/critical":49,"duplicates":1304}',
};

describe('guard hot path: same decisions as before', () => {
  const cases: { name: string; n: number; rate: number; allow: string[]; split: boolean; far?: boolean }[] = [
    { name: 'load-40k', n: 120_000, rate: 40_000, allow: [], split: false },
    { name: 'load-40k-allowlist', n: 120_000, rate: 40_000, allow: ['2001:db8::/32', '198.18.1.0/24', '10.1.0.0/16', '100.64.1.7'], split: false },
    { name: 'load-2k-rekeyed', n: 60_000, rate: 2_000, allow: ['198.19.0.4'], split: true },
    { name: 'ids-wrap', n: 230_000, rate: 20_000, allow: [], split: false, far: true },
  ];
  for (const c of cases) {
    it(`${c.name}: every finding, alert change and block decision as before`, () => {
      const { hash, counts } = transcript(stream(c.n, c.rate, 7, c.far), RULES, c.allow, c.split);
      if (process.env['PRINT_GOLDEN'] === '1') process.stdout.write(`GOLDEN ${c.name} ${hash} ${JSON.stringify(counts)}\n`);
      // The stream must reach what it is meant to test, or equal hashes prove little.
      for (const k of ['flood/per_source/critical', 'flood/per_destination/warning', 'scanner/tool_ua/critical', 'bruteforce/per_source/critical', 'tollfraud/cpm/warning', 'malformed/per_source/critical', 'block:block']) {
        assert.ok((counts[k] ?? 0) > 0, `${c.name}: no ${k} in ${JSON.stringify(counts)}`);
      }
      assert.ok(counts['duplicates']! > 0);
      assert.equal(`${hash} ${JSON.stringify(counts)}`, GOLDEN[c.name], `${c.name}: counts ${JSON.stringify(counts)}`);
    });
  }
});

/** `Date.parse` of the ISO form: how `eventTimeMs` read every time before its fast path. */
const isoParse = (ts: string): number => (ts.length < 19 ? NaN : Date.parse(`${ts.slice(0, 10)}T${ts.slice(11, 23)}Z`));

describe('eventTimeMs', () => {
  const two = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => String(n).padStart(2, '0'));
  const nearValid = fc.tuple(fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')), two(0, 13), two(0, 32), fc.constantFrom(' ', 'T', 'x'),
    two(0, 25), two(0, 61), two(0, 61), fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, '0')), fc.string({ maxLength: 3 }))
    .map(([y, mo, d, sep, h, mi, s, f, tail]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}.${f}${tail}`);
  /** A valid time with one character replaced (a sign, a letter, a second separator, a space...). */
  const mutated = fc.tuple(nearValid, fc.nat(30), fc.constantFrom('+', '-', ':', '.', ' ', 'a', '0', '9', 'Z', '/', '\u0660'))
    .map(([s, i, ch]) => (i < s.length ? s.slice(0, i) + ch + s.slice(i + 1) : s));

  it('reads every string as Date.parse of its ISO form does (property)', () => {
    fc.assert(fc.property(fc.oneof(nearValid, mutated, fc.string({ maxLength: 30 })), (ts) => {
      assert.ok(Object.is(eventTimeMs(ts), isoParse(ts)), `${JSON.stringify(ts)}: ${eventTimeMs(ts)} vs ${isoParse(ts)}`);
    }), { numRuns: 20_000 });
  });

  it('agrees on every day of years around now, at every cut of the string', () => {
    for (let day = Date.UTC(2023, 0, 1); day < Date.UTC(2029, 0, 1); day += 86_400_000 + 3_723_456) {
      const ts = tsOf(day * 1000 + 789);
      assert.equal(eventTimeMs(ts), day);
      for (let cut = 0; cut <= ts.length; cut++) assert.ok(Object.is(eventTimeMs(ts.slice(0, cut)), isoParse(ts.slice(0, cut))), ts.slice(0, cut));
    }
  });
});

describe('Allowlist', () => {
  const reference = (cidrs: readonly string[]) => {
    const list = new BlockList();
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      const family = isIP(addr!);
      list.addSubnet(addr!, bits === undefined ? (family === 4 ? 32 : 128) : Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
    return (ip: string) => isIP(ip) !== 0 && list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
  };
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const v6 = fc.ipV6();
  const cidr = fc.oneof(fc.tuple(v4, fc.nat(32)).map(([a, b]) => `${a}/${b}`), fc.tuple(v6, fc.nat(128)).map(([a, b]) => `${a}/${b}`), v4);

  it('answers as node\'s BlockList does, asked once or many times (property)', () => {
    fc.assert(fc.property(fc.array(cidr, { maxLength: 5 }), fc.array(fc.oneof(v4, v6, fc.constantFrom('', 'x', '1.2.3', '::ffff:1.2.3.4', ' 10.0.0.1')), { minLength: 1, maxLength: 40 }), (cidrs, ips) => {
      const list = new Allowlist(cidrs);
      const ref = reference(cidrs);
      for (const ip of [...ips, ...ips]) assert.equal(list.has(ip), ref(ip), `${ip} in ${cidrs.join(',')}`);
    }), { numRuns: 300 });
  });

  it('stays right past the size its memory of answers is cleared at', () => {
    const cidrs = ['10.0.0.0/9', '2001:db8::/33'];
    const list = new Allowlist(cidrs);
    const ref = reference(cidrs);
    for (let i = 0; i < 140_000; i++) {
      const ip = i % 2 === 0 ? `10.${(i >> 8) & 255}.${i & 255}.${(i >> 16) & 255}` : `2001:db8:${(i % 0xffff).toString(16)}::${(i >> 4).toString(16)}`;
      assert.equal(list.has(ip), ref(ip), ip);
    }
  });
});

describe('parseEvent', () => {
  const FIELDS = ['id', 'ts', 'src_ip', 'dst_ip', 'method', 'call_id', 'from_user', 'from_domain', 'to_user', 'ruri_user', 'user_agent', 'auth_user', 'tenant'] as const;
  /** The field checks as they were: a loop over the names. */
  const reference = (value: Buffer): unknown => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (e === null || typeof e !== 'object' || e['v'] !== 1) return undefined;
    if (typeof e['kind'] !== 'string' || typeof e['status'] !== 'number' || (e['cseq'] !== undefined && typeof e['cseq'] !== 'number')) return undefined;
    for (const f of FIELDS) if (typeof e[f] !== 'string') return undefined;
    return e;
  };
  const value = fc.oneof({ weight: 60, arbitrary: fc.string({ maxLength: 6 }) }, fc.integer(), fc.constant(null), fc.boolean(), fc.constant(undefined), fc.array(fc.nat(), { maxLength: 2 }));
  const event = fc.record({
    v: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, fc.constant(2), fc.constant('1')), kind: value, status: fc.oneof({ weight: 4, arbitrary: fc.integer() }, value),
    cseq: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 5, arbitrary: fc.integer() }, value), ...Object.fromEntries(FIELDS.map((f) => [f, value])), extra: value,
  }); // an undefined value leaves its key out of the JSON

  it('accepts and refuses exactly what the loop over the field names did (property)', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.oneof({ weight: 4, arbitrary: event.map((e) => JSON.stringify(e)) }, fc.string(), fc.jsonValue().map((j) => JSON.stringify(j) ?? '')), (text) => {
      const buf = Buffer.from(text);
      const got = parseEvent(buf, false);
      assert.deepEqual(got, reference(buf));
      accepted += got === undefined ? 0 : 1;
    }), { numRuns: 5_000 });
    assert.ok(accepted > 500, `only ${accepted} of 5000 inputs were events`);
  });
});

describe('scanner tool User-Agents', () => {
  it('the remembered answer is the answer, asked once or again, per rule list (property)', () => {
    const needle = fc.constantFrom('sipvicious', 'friendly-scanner', 'SIPcli', 'ı', 'i̇', 'x');
    const ua = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('SIPVicious 0.3', 'friendly-SCANNER', 'İstanbul phone', 'Yealink', ''),
      fc.tuple(fc.string({ maxLength: 4 }), needle, fc.string({ maxLength: 4 })).map(([a, n, b]) => `${a}${n.toUpperCase()}${b}`),
      fc.tuple(fc.string({ minLength: 55, maxLength: 70 }), needle).map(([a, n]) => `${a}${n.toUpperCase()}`)); // both sides of 64
    fc.assert(fc.property(fc.array(needle, { maxLength: 3 }), fc.array(ua, { minLength: 1, maxLength: 12 }), (needles, uas) => {
      const rules = loadRules({ scanner: { toolUserAgents: needles } });
      const g = new DetectorEngine(rules, new Allowlist([]), HIGH_RISK);
      let t = T0US / 1000;
      for (const u of [...uas, ...uas]) {
        const src = `198.18.0.${(t % 200) + 1}`;
        const found = g.sip({ v: 1, id: `u/${t}`, kind: 'request', ts: tsOf(++t * 1000), src_ip: src, src_port: 5060, dst_ip: PROXY, dst_port: 5060, transport: 'UDP', method: 'OPTIONS', status: 0,
          call_id: `ua${t}`, from_user: 'a', from_domain: 'b', to_user: 'a', to_domain: 'b', ruri_user: '', ruri_domain: 'b', user_agent: u, auth_user: '', tenant: '', domain: 'b' })
          .filter((f) => f.rule === 'tool_ua');
        const expected = u !== '' && needles.some((n) => u.toLowerCase().includes(n));
        assert.equal(found.length, expected ? 1 : 0, `${JSON.stringify(u)} against ${JSON.stringify(needles)}`);
      }
    }), { numRuns: 300 });
  });
});
