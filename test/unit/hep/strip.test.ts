import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeHep, encodeHep, HepChunk, withoutChunk } from '../../../services/shared/hep/index.ts';
import { anyPacket } from './arbitraries.ts';

test('withoutChunk(14) of any encodable packet decodes to the same packet without its auth key', () => {
  fc.assert(fc.property(anyPacket, (packet) => {
    const bytes = encodeHep(packet);
    const stripped = withoutChunk(bytes, HepChunk.AUTH_KEY);
    const { authKey: _, ...rest } = decodeHep(bytes);
    const again = decodeHep(stripped);
    assert.equal(again.authKey, undefined);
    assert.deepEqual({ ...again, authKey: undefined }, { ...rest, authKey: undefined });
    if (packet.authKey === undefined) assert.equal(stripped, bytes, 'untouched when there is no key');
  }), { numRuns: 300 });
});

test('withoutChunk leaves HEPv2 and non-HEP bytes alone', () => {
  const junk = Buffer.from([1, 2, 3]);
  assert.equal(withoutChunk(junk, HepChunk.AUTH_KEY), junk);
});
