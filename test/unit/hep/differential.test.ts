/**
 * decodeHep is a fast path replacing hep-js on the hot path; it is allowed only while it agrees with hep-js on
 * every field hep-js supports. Where they differ by design (binary payloads, IPv6, strictness) the test pins the
 * difference down instead of skipping it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import hepJs from 'hep-js';
import {
  decodeHep,
  encodeHep,
  hepJsDecode,
  HepDecodeError,
  type HepPacket,
} from '../../../services/shared/hep/index.ts';
import { hepJsCompatiblePacket, isValidUtf8 } from './arbitraries.ts';
import { hepJsInvite, SIP_FIXTURES } from './fixtures.ts';

/** Compares every field hep-js decodes; a payload that is not UTF-8 is the one allowed (and checked) difference. */
function assertAgree(wire: Buffer, label: string): 'agree' | 'payload_not_utf8' {
  const ours = decodeHep(wire);
  const theirs = hepJsDecode(wire);
  const fields = [
    'ipFamily',
    'protocol',
    'srcIp',
    'dstIp',
    'srcPort',
    'dstPort',
    'timestampSec',
    'timestampUsec',
    'payloadType',
    'captureId',
    'authKey',
    'correlationId',
    'nodeName',
    'mos',
  ] as const satisfies ReadonlyArray<keyof HepPacket>;
  for (const f of fields) assert.deepStrictEqual(ours[f], theirs[f], `${label}: ${f}`);
  if (isValidUtf8(ours.payload)) {
    assert.equal(ours.payload.toString('utf8'), theirs.payload.toString('utf8'), `${label}: payload`);
    assert.ok(ours.payload.equals(theirs.payload), `${label}: payload bytes`);
    return 'agree';
  }
  // hep-js turns invalid sequences into U+FFFD: it cannot give the bytes back, we do.
  assert.ok(!ours.payload.equals(theirs.payload), `${label}: hep-js unexpectedly kept binary bytes`);
  return 'payload_not_utf8';
}

describe('decodeHep agrees with hep-js', () => {
  it('on generated IPv4 packets (text and binary payloads, all hep-js chunks)', () => {
    let binary = 0;
    fc.assert(
      fc.property(hepJsCompatiblePacket, (p) => {
        if (assertAgree(encodeHep(p), 'generated') === 'payload_not_utf8') binary++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(binary > 0, 'the corpus must contain binary payloads');
  });

  it('on the SIP capture fixtures', () => {
    for (const { name, packet } of SIP_FIXTURES) assert.equal(assertAgree(encodeHep(packet), name), 'agree');
  });

  it('on packets hep-js itself encapsulates, and both give back what was put in', () => {
    const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
    const token = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.@'), maxLength: 30 });
    const rcinfo = fc.record({
      protocolFamily: fc.constant(2),
      protocol: fc.constantFrom(6, 17, 132),
      srcIp: fc.ipV4(),
      dstIp: fc.ipV4(),
      srcPort: fc.integer({ min: 0, max: 0xffff }),
      dstPort: fc.integer({ min: 0, max: 0xffff }),
      timeSeconds: fc.integer({ min: 0, max: 0xffffffff }),
      timeUseconds: fc.integer({ min: 0, max: 999999 }),
      payloadType: fc.constantFrom(1, 5, 34, 53, 100),
      captureId: fc.integer({ min: 0, max: 0xffffffff }),
      hepNodeName: fc.option(token.filter((s) => s.length > 0), { nil: undefined }),
      capturePass: fc.option(token, { nil: undefined }),
      correlation_id: fc.option(token.filter((s) => s.length > 0), { nil: undefined }),
    });
    fc.assert(
      fc.property(ascii, rcinfo, (msg, rc) => {
        const wire = hepJs.encapsulate(msg, { ...rc });
        assert.equal(assertAgree(wire, 'hep-js encapsulate'), 'agree');
        const d = decodeHep(wire);
        assert.equal(d.payload.toString('latin1'), msg);
        assert.equal(d.srcIp, rc.srcIp);
        assert.equal(d.timestampSec, rc.timeSeconds);
        assert.equal(d.captureId, rc.captureId);
        // hep-js falls back to the capture id as node name.
        assert.equal(d.nodeName, rc.hepNodeName ?? String(rc.captureId));
        assert.equal(d.authKey, rc.capturePass);
        assert.equal(d.correlationId, rc.correlation_id);
      }),
      { numRuns: 2000 },
    );
    assert.equal(assertAgree(hepJsInvite(448), 'bench INVITE'), 'agree');
  });
});

describe('known, intended disagreements with hep-js', () => {
  const invite = SIP_FIXTURES[0]!.packet;

  it('IPv6: hep-js skips chunks 5/6 and reports no addresses', () => {
    const wire = encodeHep({ ...invite, ipFamily: 6, srcIp: '2001:db8::1', dstIp: '2001:db8::2' });
    assert.equal(decodeHep(wire).srcIp, '2001:db8::1');
    assert.equal(hepJsDecode(wire).srcIp, '');
    assert.equal(hepJsDecode(wire).ipFamily, 6);
  });

  it('trailing bytes after the declared length: hep-js ignores them, we refuse the packet', () => {
    const wire = Buffer.concat([encodeHep(invite), Buffer.from('junk')]);
    assert.equal(hepJsDecode(wire).srcIp, invite.srcIp);
    assert.throws(() => decodeHep(wire), (e: unknown) => e instanceof HepDecodeError && e.reason === 'bad_length');
  });

  it('an oversized fixed chunk: hep-js reads its first bytes, we refuse the packet', () => {
    const base = encodeHep({ ...invite, payload: Buffer.alloc(0) });
    // Replace the src port chunk (7) with a 4-byte one.
    const chunk = Buffer.from([0, 0, 0, 7, 0, 10, 0x13, 0xc4, 0xde, 0xad]);
    const wire = Buffer.concat([base.subarray(0, 6), chunk, base.subarray(6)]);
    wire.writeUInt16BE(wire.length, 4);
    assert.equal(hepJsDecode(wire).srcPort, 5060);
    assert.throws(() => decodeHep(wire), (e: unknown) => e instanceof HepDecodeError && e.reason === 'bad_chunk_length');
  });

  it('a payload in chunk 16 (compressed): hep-js drops it, we keep the bytes and flag them', () => {
    const wire = encodeHep({ ...invite, compressed: true });
    assert.equal(decodeHep(wire).compressed, true);
    assert.throws(() => hepJsDecode(wire), HepDecodeError);
  });

  it('hep-js encapsulate writes string length, not byte length: non-ASCII payloads arrive cut', () => {
    const msg = 'MESSAGE sip:a@b SIP/2.0\r\n\r\nGrüße';
    const wire = hepJs.encapsulate(msg, {
      protocolFamily: 2,
      protocol: 17,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 5060,
      dstPort: 5060,
      timeSeconds: 1,
      timeUseconds: 2,
      payloadType: 1,
      captureId: 3,
    });
    assert.notEqual(decodeHep(wire).payload.toString('utf8'), msg);
    assert.equal(decodeHep(wire).payload.length, msg.length);
  });
});
