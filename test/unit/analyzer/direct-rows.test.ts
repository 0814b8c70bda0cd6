/**
 * The hot path without row and event objects (`sipRows: 'rowbinary'`, `sipEvents: 'lines'`) against the object path
 * it replaces: the same insert bodies under the same tokens, byte for byte, and the same event lines and containers,
 * over the scenarios, the conformance corpora (call flows and RFC 4475 torture messages) and generated traffic; the
 * same rows after a crash at any insert and the same quarantine rows for refused rows. And the pieces on their own:
 * the positional writer against the table writer for every table, and encoded blocks (slices, bodies, rows read back)
 * against their rows as objects.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PartitionWorker, type InputRecord } from '../../../services/analyzer/consumer/partition.ts';
import { containerRecords, eventLine, SipEventLines, sipEventLine } from '../../../services/analyzer/event-records.ts';
import type { SipEvent } from '../../../services/analyzer/events.ts';
import { EncodedRows } from '../../../services/analyzer/store/encoded-rows.ts';
import { compileValuesWriter, encodeRowBinary, RowBinaryWriter } from '../../../services/analyzer/store/row-binary.ts';
import { formatUs, TABLES } from '../../../services/analyzer/store/rows.ts';
import { CODECS } from '../../../services/analyzer/store/table-writer.ts';
import { TenantMap } from '../../../services/analyzer/tenants.ts';
import { AnalyzerErrors } from '../../../services/analyzer/errors.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { rowArb } from '../../support/analyzer-rows.ts';
import { byTime, callScenario, envelopeOf, hepBytes, optionsScenario, registerScenario, sipEnvelope, type Scenario } from '../../support/sip-scenarios.ts';
import { callFlowFiles, readCallFlow, readTorture, rfc4475Files } from '../sip/conformance.ts';
import { FakeSink } from './fake-sink.ts';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) * 1000;
const A = { user: 'alice', domain: 'a.example' };
const B = { user: 'bob', domain: 'A.Example' };
const C = { user: 'carol', domain: 'b.example' };
const tenants = TenantMap.parse('a.example=acme,*.b.example=beta,b.example=beta', 'default');
const hooks = { stopped: () => false, initialMs: 1, maxMs: 2 };

type Shapes = { sipRows?: 'objects' | 'rowbinary'; sipEvents?: 'objects' | 'lines' | 'none' };
type Mode = 'objects' | 'direct' | Shapes;

function worker(sink: FakeSink, mode: Mode, maxRows: number): PartitionWorker {
  const shapes: Shapes = mode === 'direct' ? { sipRows: 'rowbinary', sipEvents: 'lines' } : mode === 'objects' ? {} : mode;
  return new PartitionWorker({
    group: 'g', topic: 'p.hep.sip', partition: 3, kind: 'sip', maxRows, tenants, dialogs: {}, registrations: {}, ...shapes,
  }, sink);
}

async function runAll(sink: FakeSink, mode: Mode, recs: readonly InputRecord[], fetch: number, maxRows: number): Promise<void> {
  const w = worker(sink, mode, maxRows);
  const h = { ...hooks, stopped: () => sink.crashed };
  await w.restore(sink.committed, 0, h);
  for (let i = w.nextOffset; i < recs.length; i += fetch) await w.process(recs.slice(i, i + fetch), h);
}

function scenarioRecords(n: number): InputRecord[] {
  const sc: Scenario[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + i * 1_000_000;
    sc.push(callScenario('answered', `ans-${i}-aaaaaaaa`, t, A, B), callScenario('busy', `bsy-${i}-bbbbbbbb`, t + 100, A, C),
      callScenario('cancelled', `can-${i}-cccccccc`, t + 200, C, B), registerScenario(`reg-${i}-eeeeeeee`, t + 400, A),
      registerScenario(`rgf-${i}-ffffffff`, t + 500, C, true), optionsScenario(`opt-${i}-gggggggg`, t + 600, { user: 'ping', domain: 'other.example' }));
  }
  sc.push(optionsScenario('clock-hhhhhhhh', T0 + 3 * 3_600_000_000, { user: 'ping', domain: 'other.example' }));
  return byTime(sc).map((p, i) => ({ offset: i, value: sipEnvelope(p), timestampMs: Math.floor(p.tsUs / 1000) }));
}

/** Every message of the conformance corpora (valid and torture, so quarantined ones too), a few HEP variants each. */
function conformanceRecords(): InputRecord[] {
  const texts: Buffer[] = [];
  for (const f of callFlowFiles()) for (const m of readCallFlow(f)) texts.push(Buffer.from(m, 'utf8'));
  for (const f of rfc4475Files()) texts.push(readTorture(f));
  return texts.map((payload, i) => {
    const tsUs = T0 + i * 1_337;
    const f = i % 3 === 0 ? { correlationId: `corr-${i}`, nodeName: 'ñode-β', captureId: 0xffff_ffff } : i % 3 === 1 ? {} : { nodeName: '' };
    return { offset: 1_000 + i, value: envelopeOf(hepBytes(payload, tsUs, i % 2 === 0, f), tsUs + 500), timestampMs: Math.floor(tsUs / 1000) };
  });
}

/** Generated SIP: requests and responses with text that needs escaping in JSON and UTF-8 in RowBinary. */
const token = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.!~*()'), minLength: 1, maxLength: 12 });
const text = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', 'é', '𝄞', '\t', '✓', '\u007f', 'ж', '/', '{'), maxLength: 30 });
const domain = fc.constantFrom('a.example', 'A.EXAMPLE', 'x.b.example', 'other.example', '[2001:db8::1]', '192.0.2.77');
const sipMessage = fc.record({
  response: fc.boolean(), method: fc.constantFrom('INVITE', 'REGISTER', 'BYE', 'OPTIONS', 'ACK', 'CANCEL', 'MESSAGE', 'NOTIFY'),
  status: fc.constantFrom(100, 180, 183, 200, 202, 401, 403, 407, 486, 503, 603), reason: text,
  fromUser: token, toUser: fc.option(token, { nil: undefined }), ruriUser: token, fromDomain: domain, toDomain: domain, ruriDomain: domain,
  fromTag: token, toTag: fc.option(token, { nil: undefined }), callId: token, cseq: fc.nat({ max: 2 ** 31 - 1 }),
  transport: fc.constantFrom('UDP', 'TCP', 'TLS', 'WS'), branch: token, ua: fc.option(text, { nil: undefined }),
  server: fc.option(text, { nil: undefined }), authUser: fc.option(text.map((s) => s.replace(/["\\]/g, '')), { nil: undefined }),
  proxyAuth: fc.boolean(), display: fc.option(text.map((s) => s.replace(/["\\]/g, '')), { nil: undefined }),
});

function sipText(m: typeof sipMessage extends fc.Arbitrary<infer T> ? T : never): string {
  const first = m.response ? `SIP/2.0 ${m.status} ${m.reason.replace(/[\r\n]/g, '')}` : `${m.method} sip:${m.ruriUser}@${m.ruriDomain} SIP/2.0`;
  const lines = [
    first,
    `Via: SIP/2.0/${m.transport} 192.0.2.10:5060;branch=z9hG4bK${m.branch}`,
    `From: ${m.display !== undefined ? `"${m.display}" ` : ''}<sip:${m.fromUser}@${m.fromDomain}>;tag=${m.fromTag}`,
    `To: <sip:${m.toUser !== undefined ? `${m.toUser}@` : ''}${m.toDomain}>${m.toTag !== undefined ? `;tag=${m.toTag}` : ''}`,
    `Call-ID: ${m.callId}`,
    `CSeq: ${m.cseq} ${m.method}`,
    ...(m.ua !== undefined ? [`User-Agent: ${m.ua}`] : []),
    ...(m.server !== undefined ? [`Server: ${m.server}`] : []),
    ...(m.authUser !== undefined
      ? [`${m.proxyAuth ? 'Proxy-' : ''}Authorization: Digest username="${m.authUser}", realm="r", nonce="n", uri="sip:x", response="00"`] : []),
    'Content-Length: 0', '', '',
  ];
  return lines.join('\r\n');
}

const generatedRecords = fc.array(fc.record({
  m: sipMessage, dt: fc.nat({ max: 5_000_000 }), fromUa: fc.boolean(),
  hep: fc.record({ correlationId: fc.option(text, { nil: undefined }), nodeName: fc.option(text, { nil: undefined }), captureId: fc.nat() }),
}), { minLength: 1, maxLength: 40 }).map((xs) => {
  let t = T0;
  return xs.map(({ m, dt, fromUa, hep }, i): InputRecord => {
    t += dt;
    const f = { captureId: hep.captureId, ...(hep.correlationId !== undefined ? { correlationId: hep.correlationId } : {}),
      ...(hep.nodeName !== undefined ? { nodeName: hep.nodeName } : {}) };
    return { offset: 50 + i, value: envelopeOf(hepBytes(Buffer.from(sipText(m), 'utf8'), t, fromUa, f), t + 250), timestampMs: Math.floor(t / 1000) };
  });
});

/** Runs both paths over the records; asserts equal bodies, tokens, lines and containers; returns the object path's sink. */
async function assertSame(recs: readonly InputRecord[], fetch: number, maxRows: number): Promise<{ objects: FakeSink; direct: FakeSink }> {
  const objects = new FakeSink();
  const direct = new FakeSink();
  objects.recordBodies = true;
  direct.recordBodies = true;
  await runAll(objects, 'objects', recs, fetch, maxRows);
  await runAll(direct, 'direct', recs, fetch, maxRows);
  assert.deepEqual([...direct.bodies.keys()], [...objects.bodies.keys()], 'the same inserts under the same tokens');
  for (const [tok, body] of objects.bodies) assert.ok(direct.bodies.get(tok)!.equals(body), `body of ${tok}`);
  assert.equal(direct.committed, objects.committed);
  assert.deepEqual(direct.ledger, objects.ledger);
  // Events: the lines are the objects' v2 lines, and every batch's containers are the same bytes for any partition count.
  const objectEvents = objects.published.flatMap((b) => b as readonly SipEvent[]);
  assert.deepEqual(direct.lines, objectEvents.map((e) => eventLine(e)));
  assert.deepEqual(direct.events, objects.events.filter((e) => e.kind === 'quarantine'), 'quarantine events unchanged');
  assert.equal(direct.published.length, objects.published.length);
  for (let b = 0; b < objects.published.length; b++) {
    const lines = direct.published[b]!;
    assert.ok(lines instanceof SipEventLines);
    // Small bounds too: containers cut at the same lines, and a line above the bound goes alone, in both.
    for (const [partitions, maxBytes] of [[1, undefined], [5, undefined], [12, undefined], [2, 2_000], [3, 700], [1, 300]] as const) {
      const a = containerRecords(objects.published[b] as readonly SipEvent[], partitions, maxBytes);
      const d = containerRecords(lines, partitions, maxBytes);
      assert.deepEqual(d.map((r) => [r.key.toString(), r.value.toString('hex'), r.events]), a.map((r) => [r.key.toString(), r.value.toString('hex'), r.events]));
    }
  }
  return { objects, direct };
}

describe('hot path without row objects: the same bytes as the object path', () => {
  it('scenarios: same insert bodies, tokens, ledger, event lines and containers (several batch cuts)', async () => {
    const recs = scenarioRecords(3);
    for (const [fetch, maxRows] of [[11, 7], [1000, 20_000], [5, 1]] as const) {
      const { objects } = await assertSame(recs, fetch, maxRows);
      assert.equal(objects.rows('sip_messages').length, recs.length);
    }
  });

  it('conformance call flows and RFC 4475 torture messages: the same bytes, quarantined ones included', async () => {
    const recs = conformanceRecords().map((r, i) => ({ ...r, offset: i }));
    const { objects } = await assertSame(recs, 64, 50);
    assert.ok(objects.rows('sip_messages').length > 100, `${objects.rows('sip_messages').length} messages stored`);
    assert.ok(objects.rows('sip_quarantine').length > 0, 'some torture messages are quarantined');
  });

  it('generated traffic (fast-check): the same bytes', async () => {
    let stored = 0;
    let all = 0;
    await fc.assert(fc.asyncProperty(generatedRecords, fc.integer({ min: 1, max: 15 }), async (recs, maxRows) => {
      const rebased = recs.map((r, i) => ({ ...r, offset: i }));
      const { objects } = await assertSame(rebased, 7, maxRows);
      stored += objects.rows('sip_messages').length;
      all += recs.length;
    }), { numRuns: 60 });
    assert.ok(stored > all * 0.6, `${stored} of ${all} generated messages parsed and stored`);
  });

  it('the other combinations (JSON inserts with v2 lines, RowBinary with v1 event objects, events off) give the same bodies and events', async () => {
    const recs = scenarioRecords(2);
    const reference = new FakeSink();
    reference.recordBodies = true;
    await runAll(reference, 'objects', recs, 11, 7);
    const combos: Shapes[] = [{ sipRows: 'objects', sipEvents: 'lines' }, { sipRows: 'rowbinary', sipEvents: 'objects' },
      { sipRows: 'rowbinary', sipEvents: 'none' }, { sipRows: 'objects', sipEvents: 'none' }];
    for (const shapes of combos) {
      const sink = new FakeSink();
      sink.recordBodies = true;
      await runAll(sink, shapes, recs, 11, 7);
      const what = JSON.stringify(shapes);
      assert.deepEqual([...sink.bodies.keys()], [...reference.bodies.keys()], what);
      for (const [tok, body] of reference.bodies) assert.ok(sink.bodies.get(tok)!.equals(body), `${what}: body of ${tok}`);
      const sipEvents = reference.events.filter((e) => e.kind !== 'quarantine') as SipEvent[];
      if (shapes.sipEvents === 'lines') assert.deepEqual(sink.lines, sipEvents.map((e) => eventLine(e)), what);
      else if (shapes.sipEvents === 'objects') assert.deepEqual(sink.events, reference.events, what);
      else assert.deepEqual([sink.events.length, sink.lines.length], [0, 0], `${what}: no event made`);
    }
  });

  it('a crash at any insert, then a replay, gives exactly the uninterrupted rows', async () => {
    const recs = scenarioRecords(2);
    const clean = new FakeSink();
    await runAll(clean, 'direct', recs, 11, 7);
    for (let crashAt = 0; crashAt < clean.inserts; crashAt++) {
      const sink = new FakeSink();
      sink.recordBodies = true;
      sink.crashAfterInserts = crashAt;
      await assert.rejects(runAll(sink, 'direct', recs, 11, 7), (err: unknown) => isTollgateError(err, AnalyzerErrors.aborted));
      sink.crashed = false;
      sink.crashAfterInserts = Infinity;
      await runAll(sink, 'direct', recs, 11, 7);
      for (const t of ['sip_messages', 'calls', 'registrations']) {
        assert.deepEqual(sink.rows(t).map((r) => JSON.stringify(r)).sort(), clean.rows(t).map((r) => JSON.stringify(r)).sort(), `${t} after a crash at insert ${crashAt}`);
      }
    }
  });

  it('rows the table refuses: the same halves, tokens and store_refused quarantine rows as the object path', async () => {
    const recs = scenarioRecords(2);
    const refuse = (table: string, r: Record<string, unknown>) => table === 'sip_messages' && Number(r['kafka_offset']) % 13 === 4;
    const sinks = { objects: new FakeSink(), direct: new FakeSink() };
    for (const mode of ['objects', 'direct'] as const) {
      sinks[mode].refuse = refuse;
      sinks[mode].recordBodies = true;
      await runAll(sinks[mode], mode, recs, 40, 25);
    }
    const { objects, direct } = sinks;
    assert.ok(objects.refusals > 0);
    assert.equal(direct.refusals, objects.refusals);
    assert.deepEqual([...direct.bodies.keys()], [...objects.bodies.keys()]);
    for (const [tok, body] of objects.bodies) assert.ok(direct.bodies.get(tok)!.equals(body), `body of ${tok}`);
    const q = (s: FakeSink) => s.rows('sip_quarantine').map((r) => JSON.stringify(r));
    assert.equal(q(objects).length, recs.filter((r) => r.offset % 13 === 4).length);
    assert.deepEqual(q(direct), q(objects), 'the same quarantine rows, the refused row read back from its bytes');
  });
});

describe('SIP event lines written field by field', () => {
  it('addSip writes the bytes and length of sipEventLine of the same values (any text, times, numbers, topics)', () => {
    const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 12 }),
      fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '\ud800', '\udc00', '𝄞', '/'), maxLength: 12 }));
    const number = fc.oneof(fc.nat({ max: 999 }), fc.constantFrom(Number.NaN, Infinity, -1, 1.5, 2 ** 53));
    const values = fc.tuple(fc.oneof(fc.constant('tollgate.hep.sip'), anyText), fc.nat({ max: 1000 }), fc.nat(), anyText,
      fc.oneof(fc.integer({ min: -62_000_000_000_000_000, max: 250_000_000_000_000_000 }), fc.constantFrom(0, -1, 999_999, 1_000_000)),
      fc.array(anyText, { minLength: 12, maxLength: 12 }), number, fc.option(number, { nil: undefined }));
    fc.assert(fc.property(fc.array(values, { minLength: 1, maxLength: 8 }), (events) => {
      const direct = new SipEventLines(64);
      const strings = new SipEventLines(64);
      for (const [topic, partition, offset, kind, ts, t, status, cseq] of events) {
        const [srcIp, dstIp, method, callId, fromUser, fromDomain, toUser, ruriUser, userAgent, authUser, tenant] = t as string[];
        direct.addSip(srcIp!, topic, partition, offset, kind, ts, srcIp!, dstIp!, method!, status, callId!, cseq, fromUser!, fromDomain!, toUser!,
          ruriUser!, userAgent!, authUser!, tenant!);
        strings.add(srcIp!, sipEventLine(`${topic}/${partition}/${offset}`, kind, formatUs(ts), srcIp!, dstIp!, method!, status, callId!, cseq,
          fromUser!, fromDomain!, toUser!, ruriUser!, userAgent!, authUser!, tenant!));
      }
      assert.deepEqual(direct.lines(), strings.lines());
      assert.deepEqual(direct.lengths(), strings.lines().map((l) => l.length));
      // The same containers, also where the bound cuts them (which depends on each line's length as a string).
      for (const maxBytes of [200, 1_000, 100_000]) {
        const a = containerRecords(strings, 2, maxBytes).map((r) => [r.key.toString(), r.value.toString('hex'), r.events]);
        assert.deepEqual(containerRecords(direct, 2, maxBytes).map((r) => [r.key.toString(), r.value.toString('hex'), r.events]), a);
      }
    }), { numRuns: 300 });
  });
});

describe('positional writer and encoded blocks', () => {
  for (const table of TABLES) {
    it(`${table}: the positional writer writes what the table writer writes, or nothing when it does not take a value plainly`, () => {
      const codec = CODECS[table];
      const values = compileValuesWriter(codec);
      fc.assert(fc.property(rowArb(table), fc.option(fc.tuple(fc.nat(), fc.constantFrom<unknown>(-1, 70_000, 1.5, 'x', null, undefined, 2 ** 60, [1])), { nil: undefined }), (row, bad) => {
        const r: Record<string, unknown> = { ...row };
        if (bad !== undefined) r[codec.columns[bad[0] % codec.columns.length]!] = bad[1];
        const w = new RowBinaryWriter(64);
        const took = values(w, ...codec.columns.map((c) => r[c]));
        let expected: Buffer | undefined;
        try {
          expected = Buffer.concat(encodeRowBinary(codec, [r]));
        } catch {
          expected = undefined;
        }
        if (took) assert.ok(expected !== undefined && Buffer.concat(w.finish()).equals(expected));
        else assert.equal(w.size, 0, 'nothing written');
      }), { numRuns: 150 });
    });
  }

  it('a block of sip_messages rows (some kept as objects, some refused): every slice has the bytes, refusal and rows of its objects', () => {
    const codec = CODECS.sip_messages;
    const values = compileValuesWriter(codec);
    const entry = fc.tuple(rowArb('sip_messages'), fc.constantFrom('plain', 'plain', 'plain', 'bigint offset', 'refused'));
    fc.assert(fc.property(fc.array(entry, { maxLength: 25 }), fc.nat(), fc.nat(), fc.integer({ min: 16, max: 4096 }), (entries, x, y, chunk) => {
      const b = EncodedRows.builder(codec, values, chunk);
      const rows = entries.map(([row, kind]) => (kind === 'bigint offset' ? { ...row, kafka_offset: '18446744073709551615' }
        : kind === 'refused' ? { ...row, src_port: 70_000 } : row));
      for (const r of rows) {
        if (values(b.writer, ...codec.columns.map((c) => r[c]))) b.ended();
        else b.keep(r);
      }
      const block = b.done();
      assert.equal(block.length, rows.length);
      const lo = rows.length === 0 ? 0 : x % (rows.length + 1);
      const hi = lo + (rows.length === 0 ? 0 : y % (rows.length - lo + 1));
      for (const [s, part] of [[block.slice(lo, hi), rows.slice(lo, hi)], [block, rows], [block.slice(lo).slice(0, hi - lo), rows.slice(lo, hi)]] as const) {
        let want: Buffer | Error;
        try {
          want = Buffer.concat(encodeRowBinary(codec, part));
        } catch (err) {
          want = err as Error;
        }
        if (want instanceof Error) assert.throws(() => s.body(), (err: unknown) => (err as Error).message === want.message);
        else {
          assert.ok(Buffer.concat(s.body()).equals(want));
          // Read back: the same rows, in that they encode to the same bytes.
          assert.ok(Buffer.concat(encodeRowBinary(codec, s.objects())).equals(want));
        }
      }
    }), { numRuns: 120 });
  });
});
