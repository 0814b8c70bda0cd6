/**
 * The analyzer's event records: v2 containers route every event to the partition its v1 record would have had, keep
 * each partition's order, respect the size bound, and read back (through the guard's reader) as the events' detector
 * fields; the container framing refuses anything cut or run together.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CONTAINER_MAX_BYTES, containerRecords, DETECTOR_FIELDS, detectorJson, eventLine, singleEventRecords } from '../../../services/analyzer/event-records.ts';
import type { QuarantineEvent, SipEvent } from '../../../services/analyzer/events.ts';
import { readEventRecord } from '../../../services/guard/event-records.ts';
import { ContainerWriter, containerLines, encodeContainer } from '../../../services/shared/kafka/event-container.ts';
import { partitionFor } from '../../../services/shared/kafka/partition.ts';
import { junk, req, resp, T0 } from '../guard/events.ts';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const sipEvent = fc.record({
  i: fc.nat(1_000_000), src: fc.oneof(fc.ipV4(), fc.ipV6()), status: fc.constantFrom(0, 100, 180, 200, 401, 403, 487),
  method: fc.constantFrom('INVITE', 'REGISTER', 'OPTIONS', 'BYE', 'ACK'), ua: text, user: text, cseq: fc.option(fc.nat(), { nil: undefined }),
}).map(({ i, src, status, method, ua, user, cseq }): SipEvent => {
  const over = { id: `t.hep.sip/${i % 3}/${i}`, user_agent: ua, from_user: user, auth_user: user, cseq, call_id: `c${i}\n"x"` };
  return status === 0 ? req(T0 + i, src, method, over) : { ...resp(T0 + i, '10.0.0.9', method, status, over), src_ip: src };
});
const anyEvent: fc.Arbitrary<SipEvent | QuarantineEvent> = fc.oneof({ weight: 9, arbitrary: sipEvent }, { weight: 1, arbitrary: fc.ipV4().map((ip) => junk(T0, ip)) });

/** What a v2 line of `e` carries. */
function detectorView(e: SipEvent | QuarantineEvent): unknown {
  if (e.kind === 'quarantine') return e;
  return Object.fromEntries(DETECTOR_FIELDS.filter((f) => e[f] !== undefined).map((f) => [f, e[f]]));
}

describe('v2 event containers (analyzer side)', () => {
  it('every event lands on its v1 partition, each partition keeps its order, and reads back as its detector fields (property)', () => {
    fc.assert(fc.property(fc.array(anyEvent, { maxLength: 200 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 300, max: 20_000 }), (events, partitions, maxBytes) => {
      const records = containerRecords(events, partitions, maxBytes);
      const v1 = singleEventRecords(events);
      const got = new Map<number, unknown[]>();
      let total = 0;
      for (const r of records) {
        const p = partitionFor(r.key, partitions);
        // Read as a whole (quarantine lines are bad as SIP events), then line by line with the right check.
        const read = readEventRecord(r.value, false);
        const lines = containerLines(r.value)!;
        assert.equal(lines.length, r.events);
        const list = got.get(p) ?? [];
        for (const line of lines) {
          const q = line.includes('"kind":"quarantine"');
          const one = readEventRecord(line, q);
          assert.equal(one.bad, 0, line.toString());
          list.push(one.events[0]);
        }
        got.set(p, list);
        assert.ok(read.events.length + read.bad === r.events);
        total += r.events;
        // Below the bound unless a single line is larger than it.
        if (r.events > 1) assert.ok(r.value.length <= maxBytes, `${r.value.length} > ${maxBytes}`);
      }
      assert.equal(total, events.length);
      const want = new Map<number, unknown[]>();
      events.forEach((e, i) => {
        const p = partitionFor(v1[i]!.key, partitions);
        want.set(p, [...(want.get(p) ?? []), detectorView(e)]);
      });
      assert.deepEqual(got, want);
    }), { numRuns: 300 });
  });

  it('packs a batch into few records: 20,000 events from 250 sources over 3 partitions', () => {
    const events = Array.from({ length: 20_000 }, (_, i) => req(T0 + i, `198.51.100.${i % 250}`, 'INVITE', { call_id: `call-${i}@example.test` }));
    const records = containerRecords(events, 3);
    assert.equal(records.reduce((n, r) => n + r.events, 0), 20_000);
    assert.ok(records.length <= 3 * Math.ceil(events.length * eventLine(events[0]!).length / CONTAINER_MAX_BYTES / 3 + 1), `${records.length} records`);
    assert.ok(records.every((r) => r.value.length <= CONTAINER_MAX_BYTES));
  });

  it('a v2 line is the v1 event without the fields no detector reads, and still a valid v1 event', () => {
    const e = req(T0, '192.0.2.1', 'INVITE', { cseq: 7, ruri_user: '+88216', user_agent: 'ü "quoted"\nline' });
    const line = eventLine(e);
    assert.deepEqual(JSON.parse(line), detectorView(e));
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(e))).filter((k) => !(DETECTOR_FIELDS as readonly string[]).includes(k)).sort(),
      ['domain', 'dst_port', 'ruri_domain', 'src_port', 'to_domain', 'transport']);
    assert.equal(readEventRecord(Buffer.from(line), false).events.length, 1);
    assert.ok(!line.includes('\n'));
  });

  it('the line template writes exactly what JSON.stringify writes, for any strings and numbers (property)', () => {
    const units = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
      fc.constantFrom('', '"', '\\', '\u2028', '\ud800', '\udc00x', '\u007f', 'ü', '😀'));
    const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, NaN, Infinity, 1e21));
    const event = fc.record({
      id: units, kind: units, ts: units, src_ip: units, dst_ip: units, method: units, status: number, call_id: units, cseq: fc.option(number, { nil: undefined }),
      from_user: units, from_domain: units, to_user: units, ruri_user: units, user_agent: units, auth_user: units, tenant: units,
    });
    fc.assert(fc.property(event, (fields) => {
      const e = { ...req(T0, '192.0.2.1', 'INVITE'), ...fields } as SipEvent;
      if (e.cseq === undefined) delete e.cseq;
      assert.equal(eventLine(e), detectorJson(e));
    }), { numRuns: 2_000 });
    // Not of its type (junk reaching the encoder): the reference path, still the same bytes.
    const odd = { ...req(T0, '192.0.2.1', 'INVITE'), user_agent: undefined, status: '0' } as unknown as SipEvent;
    assert.equal(eventLine(odd), detectorJson(odd));
  });

  it('the writer gives a line larger than any container a record of its own, between the others', () => {
    const w = new ContainerWriter(200);
    w.add('a', '{"n":1}');
    w.add('b', `{"big":"${'x'.repeat(300)}"}`);
    w.add('c', '{"n":3}');
    w.cut();
    assert.deepEqual(w.records.map((r) => [r.key, r.events, containerLines(r.value)!.map(String)]),
      [['a', 1, ['{"n":1}']], ['b', 1, [`{"big":"${'x'.repeat(300)}"}`]], ['c', 1, ['{"n":3}']]]);
  });

  it('the writer moves an open container into a new slab intact, whatever the slab sizes (property)', () => {
    const line = fc.string({ unit: 'binary', maxLength: 60 }).map((x) => JSON.stringify(x));
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), line), { maxLength: 120 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 200, max: 2_000 }), (adds, first, maxBytes) => {
      const w = new ContainerWriter(maxBytes, first);
      const want: string[][] = [];
      let cur: string[] = [];
      for (const [cut, l] of adds) {
        if (cut) {
          w.cut();
          if (cur.length > 0) want.push(cur);
          cur = [];
        }
        w.add('k', l);
        cur.push(l);
      }
      w.cut();
      if (cur.length > 0) want.push(cur);
      // The writer may cut more (size bound) but never reorders or loses a line, and each container is well framed.
      const got = w.records.map((r) => containerLines(r.value)!.map(String));
      assert.deepEqual(got.flat(), want.flat());
      for (const r of w.records) assert.ok(r.value.equals(encodeContainer(containerLines(r.value)!.map(String))));
    }));
  });

  it('the writer and the plain encoder frame lines identically', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 30 }).map((s) => JSON.stringify(s)), { minLength: 1, maxLength: 50 }), (lines) => {
      const w = new ContainerWriter(1 << 20);
      for (const l of lines) w.add('k', l);
      w.cut();
      assert.equal(w.records.length, 1);
      assert.ok(w.records[0]!.value.equals(encodeContainer(lines)));
    }));
  });
});
