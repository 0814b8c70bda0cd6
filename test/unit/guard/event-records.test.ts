/**
 * The guard's reader of event records: version 1 and version-2 containers; a container cut at any offset, run
 * together with another or filled with junk is counted as bad (never half-read as complete, never a throw).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { containerRecords, eventLine } from '../../../services/analyzer/event-records.ts';
import { readEventRecord } from '../../../services/guard/event-records.ts';
import { encodeContainer } from '../../../services/shared/kafka/event-container.ts';
import { junk, req, resp, T0 } from './events.ts';

const sip = [req(T0, '192.0.2.1', 'INVITE', { cseq: 1, user_agent: 'ünïcode' }), resp(T0 + 5, '192.0.2.1', 'INVITE', 180), resp(T0 + 9, '192.0.2.1', 'INVITE', 200, { cseq: 1 })];
const container = encodeContainer(sip.map(eventLine));

describe('guard: reading event records', () => {
  it('reads a v1 record and a v2 container; the container\'s values are its lines, each a v1 record', () => {
    const v1 = readEventRecord(Buffer.from(JSON.stringify(sip[0])), false);
    assert.deepEqual([v1.events.length, v1.bad], [1, 0]);
    const v2 = readEventRecord(container, false);
    assert.deepEqual([v2.events.length, v2.bad], [3, 0]);
    assert.deepEqual(v2.events.map((e) => e.id), sip.map((e) => e.id));
    for (const [i, v] of v2.values.entries()) assert.deepEqual(readEventRecord(Buffer.from(v), false).events, [v2.events[i]]);
    const q = readEventRecord(containerRecords([junk(T0, '192.0.2.7'), junk(T0, '192.0.2.7')], 3)[0]!.value, true);
    assert.deepEqual([q.events.length, q.bad], [2, 0]);
  });

  it('a container cut at every offset is never read whole: at least one bad, never all events', () => {
    for (let cut = 0; cut < container.length; cut++) {
      const r = readEventRecord(container.subarray(0, cut), false);
      assert.ok(r.bad >= 1, `cut at ${cut}`);
      assert.ok(r.events.length < sip.length, `cut at ${cut}`);
    }
  });

  it('two containers run together, a wrong count, a bad line: counted as bad, the good lines around a bad one still read', () => {
    assert.deepEqual(readEventRecord(Buffer.concat([container, Buffer.from('\n'), container]), false).bad, 1);
    const two = encodeContainer([eventLine(sip[0]!), eventLine(sip[1]!)]);
    assert.equal(readEventRecord(Buffer.from(two.toString().replace('"n":2', '"n":3')), false).bad, 1);
    assert.equal(readEventRecord(Buffer.from(two.toString().replace('"n":2', '"n":1')), false).bad, 1);
    for (const h of ['{"v":2,"n":0}\n', '{"v":2,"n":01}\n', '{"v":2,"n":-1}\n', '{"v":2,"n":1 }\n', '{"v":2,"n":1}']) {
      assert.deepEqual(readEventRecord(Buffer.from(`${h}${eventLine(sip[0]!)}`), false).events, [], h);
    }
    const mixed = readEventRecord(encodeContainer([eventLine(sip[0]!), '{"v":1}', 'not json', eventLine(sip[2]!)]), false);
    assert.deepEqual([mixed.events.map((e) => e.id), mixed.bad], [[sip[0]!.id, sip[2]!.id], 2]);
  });

  it('junk after a container header, junk lines and random bytes never throw; what is read is a v1 event (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.oneof(fc.jsonValue().map((j) => JSON.stringify(j) ?? ''), fc.string({ unit: 'binary' })), { maxLength: 8 }),
      fc.nat(12), fc.boolean(), (bytes, lines, n, q) => {
        for (const v of [Buffer.from(bytes), Buffer.concat([Buffer.from(`{"v":2,"n":${n}}\n`), Buffer.from(bytes)]), Buffer.from(`{"v":2,"n":${n}}\n${lines.join('\n')}`)]) {
          const r = readEventRecord(v, q);
          assert.equal(r.events.length, r.values.length);
          for (const e of r.events) assert.equal(e.v, 1);
          assert.ok(r.events.length + r.bad >= 1);
        }
      }));
  });

  it('a null record is one bad record', () => {
    assert.deepEqual(readEventRecord(null, false), { events: [], values: [], bad: 1 });
  });
});
