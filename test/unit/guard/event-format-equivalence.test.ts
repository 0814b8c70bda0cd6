/**
 * The same capture gives the guard the same findings whether the analyzer writes its events as v1 records or as v2
 * containers. A capture of attacks and ordinary traffic (HEP envelopes, decoded by the analyzer's own
 * `decodeRecord`) is cut into analyzer batches per `hep.sip` partition; each batch's events become v1 records or v2
 * containers (services/analyzer/event-records.ts), routed to `sip.events` / `sip.quarantine` partitions by the
 * producer's key hash. The guard reads each batch's records partition by partition (as its consumer receives them)
 * through its own reader, both directly and through the re-keying forwarder into the facts topics. Also: every field
 * any detector or the re-keying reads is one a v2 line carries.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeRecord } from '../../../services/analyzer/consumer/decode.ts';
import { containerRecords, DETECTOR_FIELDS, singleEventRecords, type EventRecord } from '../../../services/analyzer/event-records.ts';
import type { QuarantineEvent, SipEvent } from '../../../services/analyzer/events.ts';
import { TenantMap } from '../../../services/analyzer/tenants.ts';
import { Allowlist } from '../../../services/guard/detect/allowlist.ts';
import { ALL_PARTS, DetectorEngine, type EngineParts } from '../../../services/guard/detect/engine.ts';
import { PrefixList } from '../../../services/guard/detect/numbers.ts';
import { loadRules } from '../../../services/guard/detect/rules.ts';
import type { Finding } from '../../../services/guard/detect/types.ts';
import { readEventRecord } from '../../../services/guard/event-records.ts';
import { factsOf, type FactKind } from '../../../services/guard/facts.ts';
import { encodeEnvelope } from '../../../services/shared/hep/envelope.ts';
import { encodeHep } from '../../../services/shared/hep/index.ts';
import { partitionFor } from '../../../services/shared/kafka/partition.ts';

const P = 3;
const HIGH_RISK = PrefixList.parse(readFileSync(new URL('../../../services/guard/high-risk-prefixes.txt', import.meta.url), 'utf8'));
const PROXY = '203.0.113.1';
const T0 = Date.UTC(2026, 10, 30, 10, 0, 0) * 1000;
const CRLF = '\r\n';

interface Packet { callId: string; tsUs: number; src: string; dst: string; text: string }

function request(method: string, o: { src: string; user: string; to: string; callId: string; cseq: number; ua?: string; auth?: boolean }): string {
  const ruri = method === 'REGISTER' ? 'sip:pbx.example' : `sip:${o.to}@pbx.example`;
  return [`${method} ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP ${o.src}:5060;branch=z9hG4bK-${o.callId}-${o.cseq};rport`, 'Max-Forwards: 70',
    `From: <sip:${o.user}@pbx.example>;tag=f-${o.callId}`, `To: <sip:${method === 'REGISTER' ? o.user : o.to}@pbx.example>`, `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq} ${method}`, `Contact: <sip:${o.user}@${o.src}:5060>`, `User-Agent: ${o.ua ?? 'Yealink SIP-T46S 66.86.0.15'}`,
    ...(o.auth ? [`Authorization: Digest username="${o.user}", realm="pbx.example", nonce="n", uri="${ruri}", response="00112233445566778899aabbccddeeff"`] : []),
    'Content-Length: 0', '', ''].join(CRLF);
}

function response(status: number, method: string, o: { src: string; user: string; to: string; callId: string; cseq: number }): string {
  return [`SIP/2.0 ${status} Reason`, `Via: SIP/2.0/UDP ${o.src}:5060;branch=z9hG4bK-${o.callId}-${o.cseq};rport=5060`,
    `From: <sip:${o.user}@pbx.example>;tag=f-${o.callId}`, `To: <sip:${method === 'REGISTER' ? o.user : o.to}@pbx.example>${status > 100 ? ';tag=t1' : ''}`,
    `Call-ID: ${o.callId}`, `CSeq: ${o.cseq} ${method}`, 'Server: kamailio', 'Content-Length: 0', '', ''].join(CRLF);
}

/** Attacks of every detector, ordinary calls and registrations, and unparseable packets, ordered by capture time. */
function capture(): Packet[] {
  const out: Packet[] = [];
  let n = 0;
  const tx = (at: number, src: string, method: string, user: string, to: string, answers: number[], extra: { ua?: string; auth?: boolean; cseq?: number; callId?: string } = {}) => {
    const callId = extra.callId ?? `cid${n++}`;
    const o = { src, user, to, callId, cseq: extra.cseq ?? 1 };
    out.push({ callId, tsUs: T0 + at, src, dst: PROXY, text: request(method, { ...o, ...extra }) });
    answers.forEach((s, i) => out.push({ callId, tsUs: T0 + at + 3_000 * (i + 1), src: PROXY, dst: src, text: response(s, method, o) }));
    return callId;
  };
  const ms = 1_000;
  for (let i = 0; i < 40; i++) {
    // Ordinary: calls that ring and are answered, registrations with a challenge.
    const c = tx(i * 1_500 * ms, '192.0.2.10', 'INVITE', 'alice', `10${i % 10}`, [100, 180, 200]);
    tx(i * 1_500 * ms + 900 * ms, '192.0.2.10', 'BYE', 'alice', `10${i % 10}`, [200], { callId: c, cseq: 2 });
    const r = tx(i * 1_500 * ms + 100 * ms, '192.0.2.11', 'REGISTER', 'bob', 'bob', [401]);
    tx(i * 1_500 * ms + 120 * ms, '192.0.2.11', 'REGISTER', 'bob', 'bob', [200], { callId: r, cseq: 2, auth: true });
  }
  // A tool User-Agent, an extension sweep with an ordinary one, password guessing, a distributed guess, a flood.
  tx(5_000 * ms, '198.51.100.66', 'OPTIONS', 'x', '100', [404], { ua: 'friendly-scanner' });
  for (let i = 0; i < 30; i++) tx(6_000 * ms + i * 200 * ms, '198.51.100.22', 'REGISTER', `${200 + i}`, `${200 + i}`, [100, 404]);
  for (let i = 0; i < 12; i++) tx(12_000 * ms + i * 400 * ms, '198.51.100.23', 'REGISTER', 'carol', 'carol', [403], { auth: true });
  for (let s = 0; s < 5; s++) for (let i = 0; i < 3; i++) tx(20_000 * ms + (s * 3 + i) * 300 * ms, `198.51.100.${50 + s}`, 'REGISTER', 'victim', 'victim', [401], { auth: true });
  for (let i = 0; i < 40; i++) tx(30_000 * ms + i * 20 * ms, '198.51.100.24', 'INVITE', 'flood', `5${i}`, [100]);
  // Toll fraud: one account, 12 answered calls to +882 numbers in a minute, some hung up.
  for (let i = 0; i < 12; i++) {
    const c = tx(40_000 * ms + i * 4_000 * ms, '198.51.100.35', 'INVITE', 'pbx7', `+88216${1000 + i}`, [100, 180, 200], { auth: true });
    if (i % 3 === 0) tx(40_000 * ms + i * 4_000 * ms + 2_000 * ms, '198.51.100.35', 'BYE', 'pbx7', `+88216${1000 + i}`, [200], { callId: c, cseq: 2 });
  }
  // Unparseable SIP from one source: quarantine events.
  for (let i = 0; i < 25; i++) out.push({ callId: `junk${i}`, tsUs: T0 + 50_000 * ms + i * 100 * ms, src: '198.51.100.67', dst: PROXY, text: `HELLO ${i} garbage\r\n\r\n` });
  return out.sort((a, b) => a.tsUs - b.tsUs);
}

function envelope(p: Packet): Buffer {
  const hep = encodeHep({
    version: 3, ipFamily: 4, protocol: 17, srcIp: p.src, dstIp: p.dst, srcPort: 5060, dstPort: 5060,
    timestampSec: Math.floor(p.tsUs / 1_000_000), timestampUsec: p.tsUs % 1_000_000, payloadType: 1, captureId: 2001, payload: Buffer.from(p.text), nodeName: 'equiv',
  });
  return encodeEnvelope(hep, { family: 4, addr: Buffer.from([198, 51, 100, 2]), port: 40000 }, BigInt(p.tsUs + 1_000) * 1000n, 'udp', 0);
}

interface Batch { sip: SipEvent[]; quarantine: QuarantineEvent[] }

/** The analyzer's side: records keyed by Call-ID on three `hep.sip` partitions, decoded, cut into batches of `size`. */
function analyzerBatches(size: number): Batch[] {
  const tenants = TenantMap.parse('', 'default');
  const parts: Buffer[][] = Array.from({ length: P }, () => []);
  for (const p of capture()) parts[partitionFor(Buffer.from(p.callId), P)]!.push(envelope(p));
  const queues = parts.map((records, partition) => records.map((value, offset) => decodeRecord(value, { topic: 'eq.hep.sip', topicKind: 'sip', partition, offset, kafkaTimestampMs: 0 }, tenants)));
  const out: Batch[] = [];
  // Partitions' batches alternate, as partitions consumed concurrently would deliver them.
  for (let start = 0; queues.some((q) => q.length > start); start += size) {
    for (const q of queues) {
      const b: Batch = { sip: [], quarantine: [] };
      for (const d of q.slice(start, start + size)) {
        if (d.kind === 'sip') b.sip.push(d.event);
        else if (d.kind === 'quarantine') b.quarantine.push(d.event);
      }
      if (b.sip.length + b.quarantine.length > 0) out.push(b);
    }
  }
  return out;
}

type Encode = (events: readonly (SipEvent | QuarantineEvent)[]) => EventRecord[];
const V1: Encode = (es) => singleEventRecords(es);
const V2: Encode = (es) => containerRecords(es, P);

/** Per batch, per topic: the records on each partition, in the order the producer wrote them. */
function published(batches: readonly Batch[], encode: Encode): { sip: Buffer[][]; quarantine: Buffer[][] }[] {
  const route = (records: EventRecord[]) => {
    const byPartition: Buffer[][] = Array.from({ length: P }, () => []);
    for (const r of records) byPartition[partitionFor(r.key, P)]!.push(r.value);
    return byPartition;
  };
  return batches.map((b) => ({ sip: route(encode(b.sip)), quarantine: route(encode(b.quarantine)) }));
}

const engine = (parts: EngineParts = ALL_PARTS) => new DetectorEngine(loadRules(undefined), new Allowlist([]), HIGH_RISK, parts);

/** One guard reading `sip.events` and `sip.quarantine` directly. */
function direct(log: ReturnType<typeof published>): { findings: Finding[]; read: number; bad: number } {
  const e = engine();
  const findings: Finding[] = [];
  let read = 0;
  let bad = 0;
  for (const batch of log) {
    for (const [topic, quarantine] of [['sip', false], ['quarantine', true]] as const) {
      for (const records of batch[topic]) {
        for (const value of records) {
          const r = readEventRecord(value, quarantine);
          bad += r.bad;
          for (const ev of r.events) {
            read++;
            findings.push(...(quarantine ? e.quarantine(ev as QuarantineEvent) : e.sip(ev as SipEvent)));
          }
        }
      }
    }
  }
  return { findings, read, bad };
}

/** Scaled out: the forwarder re-keys `sip.events` into the facts topics; an engine per fact kind reads its topic. */
function rekeyed(log: ReturnType<typeof published>): Finding[] {
  const engines: Record<FactKind, DetectorEngine> = {
    source: engine({ source: true, account: false, destination: false }),
    account: engine({ source: false, account: true, destination: false }),
    destination: engine({ source: false, account: false, destination: true }),
  };
  const findings: Finding[] = [];
  for (const batch of log) {
    const facts: Record<FactKind, Buffer[][]> = { source: [[], [], []], account: [[], [], []], destination: [[], [], []] };
    for (const records of batch.sip) {
      for (const value of records) {
        const r = readEventRecord(value, false);
        r.events.forEach((ev, i) => {
          for (const f of factsOf(ev)) facts[f.kind][partitionFor(Buffer.from(f.key), P)]!.push(r.values[i]!);
        });
      }
    }
    for (const kind of Object.keys(facts) as FactKind[]) {
      for (const records of facts[kind]) {
        for (const value of records) {
          const r = readEventRecord(value, false);
          assert.equal(r.bad, 0, 'a forwarded value is a v1 event');
          for (const ev of r.events) findings.push(...engines[kind].sip(ev));
        }
      }
    }
  }
  return findings;
}

describe('v1 and v2 event records: same capture, same findings', () => {
  const batches = analyzerBatches(37);
  const events = batches.reduce((n, b) => n + b.sip.length + b.quarantine.length, 0);

  it('a guard reading the topics directly finds exactly the same, and every detector fires', () => {
    const v1 = published(batches, V1);
    const v2 = published(batches, V2);
    const records = (log: typeof v1) => log.reduce((n, b) => n + [...b.sip, ...b.quarantine].reduce((m, p) => m + p.length, 0), 0);
    assert.equal(records(v1), events);
    assert.ok(records(v2) < events / 10, `${records(v2)} containers for ${events} events`);
    const a = direct(v1);
    const b = direct(v2);
    assert.deepEqual([a.read, a.bad], [events, 0]);
    assert.deepEqual([b.read, b.bad], [events, 0]);
    assert.deepEqual(b.findings, a.findings);
    const fired = new Set(a.findings.map((f) => `${f.detector}/${f.rule.split(':')[0]}`));
    for (const want of ['scanner/tool_ua', 'scanner/enumeration', 'bruteforce/per_source', 'bruteforce/distributed', 'flood/per_source', 'tollfraud/cpm', 'malformed/per_source']) {
      assert.ok(fired.has(want), `${want} fired (got ${[...fired].join(', ')})`);
    }
  });

  it('scaled-out guards (re-keying forwarder + facts engines) find exactly the same from v1 and v2', () => {
    const a = rekeyed(published(batches, V1));
    const b = rekeyed(published(batches, V2));
    assert.ok(a.length > 0);
    assert.deepEqual(b, a);
  });

  it('the detectors and the re-keying read only fields a v2 line carries', () => {
    const read = new Set<string>();
    const watch = <T extends object>(e: T): T => new Proxy(e, { get: (t, k, r) => (typeof k === 'string' && read.add(k), Reflect.get(t, k, r)) });
    const e = engine();
    for (const b of batches) {
      for (const ev of b.sip) {
        const w = watch(ev);
        e.sip(w);
        factsOf(w);
      }
    }
    const carried = new Set<string>(DETECTOR_FIELDS);
    assert.deepEqual([...read].filter((k) => !carried.has(k)), []);
    // And nothing carried goes unread but the version, which the reader checks on the JSON.
    assert.deepEqual([...carried].filter((k) => !read.has(k)), ['v']);
  });
});
