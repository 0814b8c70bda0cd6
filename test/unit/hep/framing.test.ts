import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeHep, HepDecodeError, HepStreamFramer } from '../../../services/shared/hep/index.ts';
import { anyPacket } from './arbitraries.ts';
import { hepJsInvite, SIP_FIXTURES } from './fixtures.ts';

const MINIMAL = Buffer.from('HEP3\0\x06');
const PACKETS = [hepJsInvite(448), MINIMAL, ...SIP_FIXTURES.map((f) => encodeHep(f.packet)), MINIMAL];
const STREAM = Buffer.concat(PACKETS);

/** Packets of every piece; throws the framer's error (after collecting what came before it) so tests can assert it. */
function feed(framer: HepStreamFramer, pieces: Buffer[], got: Buffer[] = []): Buffer[] {
  for (const p of pieces) {
    const { packets, error } = framer.push(p);
    got.push(...packets);
    if (error !== undefined) throw error;
  }
  return got;
}

function endOf(framer: HepStreamFramer): void {
  const error = framer.end();
  if (error !== undefined) throw error;
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
      endOf(f);
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
        endOf(f);
      }),
      { numRuns: 500 },
    );
  });

  it('returned packets stay intact after later pushes (no shared scratch buffer)', () => {
    const f = new HepStreamFramer();
    const mid = 100;
    const first = feed(f, [STREAM.subarray(0, mid)]);
    const rest = feed(f, [Buffer.from(STREAM.subarray(mid))]);
    const copy = rest.map((b) => Buffer.from(b));
    feed(f, [Buffer.from(PACKETS[0]!.subarray(0, 300))]);
    assertSame([...first, ...rest], PACKETS);
    assertSame(rest, copy);
  });

  it('copies each byte at most once: a 65535-byte packet fed one byte at a time is fast', () => {
    const big = Buffer.alloc(0xffff, 0x61);
    big.write('HEP3', 0, 'latin1');
    big.writeUInt16BE(0xffff, 4);
    const f = new HepStreamFramer();
    // CPU time of this process, not wall time: a copy per byte would burn seconds of it, while a busy machine that
    // merely schedules this process late does not add to it.
    const t0 = process.cpuUsage();
    let out: Buffer[] = [];
    for (let i = 0; i < big.length; i++) out = out.concat(f.push(big.subarray(i, i + 1)).packets);
    const cpu = process.cpuUsage(t0);
    assert.ok((cpu.user + cpu.system) / 1000 < 2000, `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms of CPU`);
    assertSame(out, [big]);
  });

  it('rejects garbage with a typed, sticky error', () => {
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('GET / HTTP/1.1\r\n')])), 'bad_magic');
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('X')])), 'bad_magic');
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('HE'), Buffer.from('Px')])), 'bad_magic');
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('HEP3\0\x05')])), 'bad_length');
    assert.equal(reason(() => feed(new HepStreamFramer(), [Buffer.from('HEP3\0'), Buffer.from([0])])), 'bad_length');
    assert.equal(reason(() => feed(new HepStreamFramer({ maxPacketSize: 400 }), [hepJsInvite(448)])), 'too_large');
    // Sticky: later pushes and end() report the same error and frame nothing.
    const f = new HepStreamFramer();
    assert.equal(reason(() => feed(f, [Buffer.concat([PACKETS[0]!, Buffer.from('garbage')])])), 'bad_magic');
    const later = f.push(PACKETS[0]!);
    assert.deepEqual(later.packets, []);
    assert.equal(later.error?.reason, 'bad_magic');
    assert.equal(f.end()?.reason, 'bad_magic');
  });

  it('regression: whole packets ahead of garbage in a chunk that starts mid-packet are all delivered', () => {
    // The chunk holds the tail of packet 0, packets 1..3 whole, then garbage; push used to throw them all away.
    const cut = 100;
    const whole = PACKETS.slice(1, 4);
    for (const garbage of [Buffer.from('GET / HTTP/1.1\r\n'), Buffer.from('HEP3\0\x02'), Buffer.from('H')]) {
      const f = new HepStreamFramer();
      const got = feed(f, [PACKETS[0]!.subarray(0, cut)]);
      assert.deepEqual(got, []);
      const out = f.push(Buffer.concat([PACKETS[0]!.subarray(cut), ...whole, garbage]));
      const wantReason = garbage.length === 1 ? undefined : garbage.toString('latin1').startsWith('HEP3') ? 'bad_length' : 'bad_magic';
      assertSame(out.packets, [PACKETS[0]!, ...whole]);
      assert.equal(out.error?.reason, wantReason);
      // A lone 'H' is only a possible header start: the error comes with the next byte or at end of stream.
      if (wantReason === undefined) assert.equal(f.end()?.reason, 'truncated_stream');
    }
  });

  it('end() inside a packet reports a truncated stream', () => {
    const f = new HepStreamFramer();
    feed(f, [STREAM.subarray(0, 10)]);
    assert.equal(f.bufferedBytes, 10);
    assert.equal(reason(() => endOf(f)), 'truncated_stream');
  });

  it('never buffers more than the maximum packet size', () => {
    const f = new HepStreamFramer({ maxPacketSize: 500 });
    const small = PACKETS.filter((p) => p.length <= 500);
    const stream = Buffer.concat(small);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 37) {
      out.push(...feed(f, [stream.subarray(i, i + 37)]));
      assert.ok(f.bufferedBytes <= 500);
    }
    assertSame(out, small);
    assert.throws(() => new HepStreamFramer({ maxPacketSize: 70000 }), RangeError);
  });
});
