/**
 * The collector's lazy scan against the full decoder: on every input both accept or both refuse with the same
 * reason, and what the scan extracts equals what decodeHep returns for it (valid packets, random bytes, chunk soup,
 * cuts at every offset, bit flips, multi-byte corruption).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeHep, encodeHep, encodeHepV2, HepChunk, HepDecodeError, HepView, scanHep, withoutChunk } from '../../../services/shared/hep/index.ts';
import { anyPacket, chunkSoup } from './arbitraries.ts';
import { hepJsInvite, SIP_FIXTURES } from './fixtures.ts';

const view = new HepView();

/** Compares scan and decode on one input; returns the shared outcome ('ok' or the reason). */
function agree(buf: Buffer, max?: number): string {
  let want: string;
  let p;
  try {
    p = decodeHep(buf, max === undefined ? undefined : { maxPacketSize: max });
    want = 'ok';
  } catch (e) {
    if (!(e instanceof HepDecodeError)) throw e;
    want = e.reason;
  }
  const got = scanHep(buf, view, max) ?? 'ok';
  assert.equal(got, want, `scan ${got} vs decode ${want} for ${buf.toString('hex').slice(0, 120)}`);
  if (p === undefined) return want;
  assert.equal(view.version, p.version);
  assert.equal(view.payloadType, p.payloadType);
  assert.equal(view.captureId, p.captureId);
  assert.equal(view.timestampSec, p.timestampSec);
  assert.equal(view.timestampUsec, p.timestampUsec);
  assert.ok(buf.subarray(view.payloadStart, view.payloadEnd).equals(p.payload), 'payload');
  assert.equal(view.compressed, p.compressed === true);
  if (p.correlationId === undefined) assert.equal(view.correlationStart, -1);
  else assert.equal(buf.toString('utf8', view.correlationStart, view.correlationEnd), p.correlationId);
  if (p.authKey === undefined) {
    assert.equal(view.authStart, -1);
    assert.equal(view.authChunks.length, 0);
  } else {
    assert.equal(buf.toString('utf8', view.authStart, view.authEnd), p.authKey);
  }
  // The chunks it would leave out are exactly what withoutChunk removes.
  const stripped = withoutChunk(buf, HepChunk.AUTH_KEY);
  assert.equal(buf.length - view.authBytes, stripped.length);
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < view.authChunks.length; i += 2) {
    parts.push(buf.subarray(from, view.authChunks[i]));
    from = view.authChunks[i + 1]!;
  }
  parts.push(buf.subarray(from));
  const kept = Buffer.concat(parts);
  if (view.authChunks.length > 0) kept.writeUInt16BE(kept.length, 4);
  assert.ok(kept.equals(stripped), 'auth chunks');
  return want;
}

const corpus = (): Buffer[] => [
  hepJsInvite(448),
  ...SIP_FIXTURES.map((f) => encodeHep(f.packet)),
  encodeHep({ ...SIP_FIXTURES[0]!.packet, authKey: 'k3y', correlationId: 'corr-1' }),
];

describe('scanHep agrees with decodeHep', () => {
  it('arbitrary valid packets (v3), with and without auth key, correlation id, compression, vendor chunks', () => {
    fc.assert(fc.property(anyPacket, (p) => assert.equal(agree(encodeHep(p)), 'ok')), { numRuns: 3000 });
  });

  it('HEPv2 packets', () => {
    for (const f of SIP_FIXTURES) {
      if (f.packet.ipFamily !== 4 && f.packet.ipFamily !== 6) continue;
      const v2 = encodeHepV2({ ...f.packet, captureId: f.packet.captureId & 0xffff });
      assert.equal(agree(v2), 'ok');
      for (let i = 0; i < v2.length; i++) agree(v2.subarray(0, i));
    }
  });

  it('several auth key chunks are all left out; the last one is the key', () => {
    const one = encodeHep({ ...SIP_FIXTURES[0]!.packet, authKey: 'first' });
    const chunk = Buffer.alloc(6 + 6);
    chunk.writeUInt16BE(0, 0);
    chunk.writeUInt16BE(HepChunk.AUTH_KEY, 2);
    chunk.writeUInt16BE(12, 4);
    chunk.write('second', 6);
    const two = Buffer.concat([one, chunk]);
    two.writeUInt16BE(two.length, 4);
    assert.equal(agree(two), 'ok');
    assert.equal(view.authChunks.length, 4);
    assert.equal(two.toString('utf8', view.authStart, view.authEnd), 'second');
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (a) => {
      agree(Buffer.from(a));
    }), { numRuns: 5000 });
  });

  it('random chunk soup behind a valid HEP3 header', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(chunkSoup, (buf) => {
      seen.add(agree(buf));
    }), { numRuns: 5000 });
    for (const r of ['truncated_chunk', 'bad_chunk_length', 'missing_payload']) assert.ok(seen.has(r), r);
  });

  it('cut at every offset, with the length field left or patched to the cut', () => {
    for (const full of corpus()) {
      for (let i = 0; i < full.length; i++) {
        const cut = Buffer.from(full.subarray(0, i));
        assert.notEqual(agree(cut), 'ok');
        if (i >= 6) {
          cut.writeUInt16BE(i, 4);
          agree(cut);
        }
      }
    }
  });

  it('every single bit flip, and random multi-byte corruption', () => {
    for (const full of corpus()) {
      for (let i = 0; i < full.length * 8; i++) {
        const b = Buffer.from(full);
        b[i >> 3]! ^= 1 << (i & 7);
        agree(b);
      }
    }
    fc.assert(fc.property(anyPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (p, edits) => {
      const b = encodeHep(p);
      for (const [pos, val] of edits) b[pos % b.length] = val;
      agree(b);
    }), { numRuns: 2000 });
  });

  it('the size limit', () => {
    const b = hepJsInvite(448);
    assert.equal(agree(b, 400), 'too_large');
    assert.equal(agree(b, b.length), 'ok');
  });
});
