import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeHep, HepDecodeError, HepStreamFramer } from '../../../services/collector/hep/index.ts';
import { anyPacket } from './arbitraries.ts';
import { hepJsInvite, SIP_FIXTURES } from './fixtures.ts';

const MINIMAL = Buffer.from('HEP3\0\x06');
const PACKETS = [hepJsInvite(448), MINIMAL, ...SIP_FIXTURES.map((f) => encodeHep(f.packet)), MINIMAL];
const STREAM = Buffer.concat(PACKETS);

function feed(framer: HepStreamFramer, pieces: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const p of pieces) out.push(...framer.push(p));
  return out;
}

function assertSame(got: Buffer[], want: Buffer[]): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(got[i]!.equals(want[i]!), `packet ${i}`);
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HepDecodeError, String(e));
    return e.reason;
  }
  return 'none';
}

describe('HepStreamFramer', () => {
  it(`yields the ${PACKETS.length} packets byte for byte whatever single offset the stream is cut at`, () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const f = new HepStreamFramer();
      assertSame(feed(f, [STREAM.subarray(0, i), STREAM.subarray(i)]), PACKETS);
      assert.equal(f.bufferedBytes, 0);
      f.end();
    }
  });

  it('one byte at a time', () => {
    const f = new HepStreamFramer();
    const pieces = Array.from({ length: STREAM.length }, (_, i) => STREAM.subarray(i, i + 1));
    assertSame(feed(f, pieces), PACKETS);
  });

  it('random multi-cuts of random packet streams', () => {
    fc.assert(
      fc.property(fc.array(anyPacket, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 30 }), (ps, cutsRaw) => {
        const packets = ps.map((p) => encodeHep(p));
        const stream = Buffer.concat(packets);
        const cuts = [...new Set(cutsRaw.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let prev = 0;
        for (const c of cuts.concat(stream.length)) {
          pieces.push(stream.subarray(prev, c));
          prev = c;
        }
        const f = new HepStreamFramer();
        assertSame(feed(f, pieces), packets);
        f.end();
      }),
      { numRuns: 500 },
    );
  });

  it('returned packets stay intact after later pushes (no shared scratch buffer)', () => {
    const f = new HepStreamFramer();
    const mid = 100;
    const first = f.push(STREAM.subarray(0, mid));
    const rest = f.push(Buffer.from(STREAM.subarray(mid)));
    const copy = rest.map((b) => Buffer.from(b));
    f.push(Buffer.from(PACKETS[0]!.subarray(0, 300)));
    assertSame([...first, ...rest], PACKETS);
    assertSame(rest, copy);
  });

  it('copies each byte at most once: a 65535-byte packet fed one byte at a time is fast', () => {
    const big = Buffer.alloc(0xffff, 0x61);
    big.write('HEP3', 0, 'latin1');
    big.writeUInt16BE(0xffff, 4);
    const f = new HepStreamFramer();
    const t0 = performance.now();
    let out: Buffer[] = [];
    for (let i = 0; i < big.length; i++) out = out.concat(f.push(big.subarray(i, i + 1)));
    assert.ok(performance.now() - t0 < 2000);
    assertSame(out, [big]);
  });

  it('rejects garbage with a typed, sticky error', () => {
    assert.equal(reason(() => new HepStreamFramer().push(Buffer.from('GET / HTTP/1.1\r\n'))), 'bad_magic');
    assert.equal(reason(() => new HepStreamFramer().push(Buffer.from('X'))), 'bad_magic');
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('HE'), Buffer.from('Px')])), 'bad_magic');
    assert.equal(reason(() => new HepStreamFramer().push(Buffer.from('HEP3\0\x05'))), 'bad_length');
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('HEP3\0'), Buffer.from([0])])), 'bad_length');
    assert.equal(reason(() => new HepStreamFramer({ maxPacketSize: 400 }).push(hepJsInvite(448))), 'too_large');
    // Garbage after a good packet: the good one is lost with the connection, the error names the cause.
    const f = new HepStreamFramer();
    assert.equal(reason(() => f.push(Buffer.concat([PACKETS[0]!, Buffer.from('garbage')]))), 'bad_magic');
    assert.equal(reason(() => f.push(PACKETS[0]!)), 'bad_magic');
  });

  it('end() inside a packet reports a truncated stream', () => {
    const f = new HepStreamFramer();
    f.push(STREAM.subarray(0, 10));
    assert.equal(f.bufferedBytes, 10);
    assert.equal(reason(() => f.end()), 'truncated_stream');
  });

  it('never buffers more than the maximum packet size', () => {
    const f = new HepStreamFramer({ maxPacketSize: 500 });
    const small = PACKETS.filter((p) => p.length <= 500);
    const stream = Buffer.concat(small);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 37) {
      out.push(...f.push(stream.subarray(i, i + 37)));
      assert.ok(f.bufferedBytes <= 500);
    }
    assertSame(out, small);
    assert.throws(() => new HepStreamFramer({ maxPacketSize: 70000 }), RangeError);
  });
});
