/**
 * Hostile input: whatever arrives on the HEP port, decodeHep returns a packet or throws a HepDecodeError with a
 * registered reason, never another exception, and always terminates.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeHep, encodeHep, HepDecodeError, HepErrors } from '../../../services/shared/hep/index.ts';
import { anyPacket, chunkSoup } from './arbitraries.ts';
import { hepJsInvite, SIP_FIXTURES } from './fixtures.ts';

const REASONS = new Set(Object.keys(HepErrors));

/** Decodes and returns the reason, or 'ok'. Any non-HepDecodeError escapes and fails the test. */
function outcome(buf: Buffer): string {
  try {
    decodeHep(buf);
    return 'ok';
  } catch (e) {
    if (!(e instanceof HepDecodeError)) throw e;
    assert.ok(REASONS.has(e.reason), `unregistered reason ${e.reason}`);
    assert.equal(e.code, HepErrors[e.reason].code);
    return e.reason;
  }
}

const corpus = (): Buffer[] => [hepJsInvite(448), ...SIP_FIXTURES.map((f) => encodeHep(f.packet))];

describe('decodeHep under fuzzing', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (a) => {
        outcome(Buffer.from(a));
      }),
      { numRuns: 5000 },
    );
  });

  it('random chunk soup behind a valid HEP3 header (reaches the chunk walk)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(chunkSoup, (buf) => {
        seen.add(outcome(buf));
      }),
      { numRuns: 5000 },
    );
    for (const r of ['truncated_chunk', 'bad_chunk_length', 'missing_payload']) assert.ok(seen.has(r), r);
  });

  it('truncation at every offset, with the length field left or patched to the cut', () => {
    for (const full of corpus()) {
      for (let i = 0; i < full.length; i++) {
        const cut = Buffer.from(full.subarray(0, i));
        assert.notEqual(outcome(cut), 'ok', `cut at ${i} accepted with the original length`);
        if (i >= 6) {
          cut.writeUInt16BE(i, 4);
          outcome(cut);
        }
      }
    }
  });

  it('every single bit flip of valid packets', () => {
    for (const full of corpus()) {
      for (let i = 0; i < full.length * 8; i++) {
        const b = Buffer.from(full);
        b[i >> 3]! ^= 1 << (i & 7);
        outcome(b);
      }
    }
  });

  it('random multi-byte corruption of arbitrary valid packets', () => {
    fc.assert(
      fc.property(anyPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (p, edits) => {
        const b = encodeHep(p);
        for (const [pos, val] of edits) b[pos % b.length] = val;
        outcome(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('sets a reason on every error path', () => {
    const cases: Array<[Buffer, string]> = [
      [Buffer.alloc(0), 'bad_magic'],
      [Buffer.from('GET / HTTP/1.1\r\n'), 'bad_magic'],
      [Buffer.from('HEP3'), 'bad_length'],
      [Buffer.from([1, 16, 2, 17]), 'unsupported_version'],
      [Buffer.from([2, 16, 2]), 'truncated_header'],
      [Buffer.from([2, 16, 7, 17, 0, 0, 0, 0]), 'bad_ip_family'],
      [Buffer.from([2, 40, 2, 17, 0, 0, 0, 0]), 'bad_length'],
      [Buffer.from('HEP3\0\x06'), 'missing_payload'],
    ];
    for (const [buf, reason] of cases) assert.equal(outcome(buf), reason, buf.toString('hex'));
    assert.throws(() => decodeHep(hepJsInvite(448), { maxPacketSize: 400 }), (e: unknown) => e instanceof HepDecodeError && e.reason === 'too_large');
  });
});
