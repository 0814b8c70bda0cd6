/**
 * The importer's capture readers and packet decoding: exact SIP messages out of every link type, IP version,
 * fragmentation and TCP segmentation we read; files cut at every offset and fed in chunks of any size; random and
 * mutated input never throws anything but TG_IMPORT_BAD_FILE.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeHep } from '../../../services/importer/wire.ts';
import { SipExtractor, type Item } from '../../../services/importer/pcap/extract.ts';
import { CaptureReader, type Frame } from '../../../services/importer/pcap/reader.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { ImporterErrors } from '../../../services/importer/errors.ts';
import { frame, ipv4, ipv6, LINK_TYPE, pcapFile, pcapngFile, tcp, udp, type LinkKind, type Pkt } from '../../support/pcap.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 123_456;
const V4 = { src: '192.0.2.10', dst: '198.51.100.1', sport: 5060, dport: 5060 };
const V6 = { src: '2001:db8::10', dst: '2001:db8::1', sport: 5062, dport: 5060 };

function sip(first: string, callId: string, body = ''): string {
  return [first, 'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-' + callId, 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.com>',
    `Call-ID: ${callId}`, 'CSeq: 1 INVITE', `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
}
const BIG_SDP = ['v=0', 'o=- 1 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', 'm=audio 4000 RTP/AVP 0 8 101',
  ...Array.from({ length: 60 }, (_, i) => `a=x-filler-${i}:${'z'.repeat(20)}`)].join('\r\n') + '\r\n';

const M = {
  invite: sip('INVITE sip:b@example.com SIP/2.0', 'c-invite'),
  trying: sip('SIP/2.0 100 Trying', 'c-invite'),
  ok: sip('SIP/2.0 200 OK', 'c-invite', BIG_SDP),
  ack: sip('ACK sip:b@example.com SIP/2.0', 'c-invite'),
  bye: sip('BYE sip:b@example.com SIP/2.0', 'c-bye', BIG_SDP),
  reg: sip('REGISTER sip:example.com SIP/2.0', 'c-reg'),
  unauth: sip('SIP/2.0 401 Unauthorized', 'c-reg'),
  options: sip('OPTIONS sip:example.com SIP/2.0', 'c-opt'),
  message: sip('MESSAGE sip:b@example.com SIP/2.0', 'c-msg', 'hello'),
  hep: sip('NOTIFY sip:b@example.com SIP/2.0', 'c-hep'),
};

function at(i: number): number {
  return T + i * 1000;
}

/** Every kind of packet the importer reads, plus noise, and what it must extract. */
function traffic(kinds: 'ethernet-only' | 'all'): { pkts: Pkt[]; sip: string[]; hep: number; skipped: Record<string, number> } {
  const pkts: Pkt[] = [];
  let i = 0;
  const add = (kind: LinkKind, data: Buffer) => pkts.push({ tsUs: at(i++), link: LINK_TYPE[kind], data: frame(kind, data) });
  const all = kinds === 'all';
  add('ethernet', ipv4(V4, udp(V4, Buffer.from(M.invite)))[0]!);
  add('vlan', ipv4(V4, udp(V4, Buffer.from(M.trying)))[0]!);
  // 200 OK in IPv4 fragments, the first arriving last.
  const f = ipv4(V4, udp(V4, Buffer.from(M.ok)), 77, 800);
  assert.ok(f.length >= 3);
  for (const k of [...[...f.keys()].slice(1), 0]) add('qinq', f[k]!);
  add(all ? 'sll' : 'ethernet', ipv6(V6, udp(V6, Buffer.from(M.ack)))[0]!);
  const f6 = ipv6(V6, udp(V6, Buffer.from(M.bye)), 99, 1000);
  for (const k of f6.keys()) add(all ? 'sll2' : 'vlan', f6[k]!);
  // REGISTER and 401 over TCP: SYN, then the two messages in three segments around the 2^32 wrap, one out of
  // order, one retransmitted. The first and the early third are partial messages until the second arrives.
  const tcpEnds = { ...V4, sport: 40000, dport: 5060 };
  const stream = Buffer.from(M.reg + M.unauth);
  const isn = 0xffff_fff0;
  const s1 = stream.subarray(0, 100);
  const s2 = stream.subarray(100, 300);
  const s3 = stream.subarray(300);
  const link: LinkKind = all ? 'null' : 'ethernet';
  add(link, ipv4(tcpEnds, tcp(tcpEnds, isn, Buffer.alloc(0), { syn: true }))[0]!);
  add(link, ipv4(tcpEnds, tcp(tcpEnds, isn + 1, s1))[0]!);
  add(link, ipv4(tcpEnds, tcp(tcpEnds, isn + 1 + 300, s3))[0]!);
  add(link, ipv4(tcpEnds, tcp(tcpEnds, isn + 1 + 100, s2))[0]!);
  add(link, ipv4(tcpEnds, tcp(tcpEnds, isn + 1 + 100, s2))[0]!);
  add(all ? 'raw' : 'ethernet', ipv4(V4, udp(V4, Buffer.from(M.options)))[0]!);
  // IP in IP: an outer IPv4 header with protocol 4 around the inner packet.
  const inner = ipv4(V4, udp(V4, Buffer.from(M.message)))[0]!;
  add('ethernet', ipv4({ ...V4, src: '203.0.113.1', dst: '203.0.113.2' }, { proto: 4, bytes: inner })[0]!);
  // An agent's HEP traffic captured on the wire.
  const hep = encodeHep({ version: 3, ipFamily: 4, protocol: 17, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060,
    timestampSec: 1_700_000_000, timestampUsec: 5, payloadType: 1, captureId: 7, payload: Buffer.from(M.hep) });
  add('ethernet', ipv4({ ...V4, dport: 9060 }, udp({ ...V4, dport: 9060 }, hep))[0]!);
  // Noise.
  add('ethernet', ipv4({ ...V4, dport: 53 }, udp({ ...V4, dport: 53 }, Buffer.from([0x12, 0x34, 1, 0, 0, 1])))[0]!);
  add('ethernet', ipv4(V4, udp(V4, Buffer.from('\r\n\r\n')))[0]!);
  add('ethernet', ipv4(V4, { proto: 1, bytes: Buffer.alloc(8) })[0]!);
  pkts.push({ tsUs: at(i++), link: 1, data: Buffer.concat([Buffer.alloc(12, 0xff), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]) });
  return {
    pkts,
    sip: [M.invite, M.trying, M.ok, M.ack, M.bye, M.reg, M.unauth, M.options, M.message],
    hep: 1,
    skipped: { ip_fragment: (f.length - 1) + (f6.length - 1), tcp_control: 1, tcp_partial_message: 2, tcp_retransmission: 1, not_sip: 1, keepalive: 1, not_udp_or_tcp: 1, not_ip: 1 },
  };
}

function readAll(file: Buffer, cuts: number[] = []): { frames: Frame[]; reader: CaptureReader } {
  const r = new CaptureReader();
  const frames: Frame[] = [];
  let prev = 0;
  for (const c of [...cuts, file.length]) {
    frames.push(...r.push(file.subarray(prev, c)));
    prev = c;
  }
  r.finish();
  return { frames, reader: r };
}

function extract(frames: readonly Frame[]): { items: Item[]; ex: SipExtractor } {
  const ex = new SipExtractor();
  const items = frames.flatMap((f) => ex.frame(f));
  ex.finish();
  return { items, ex };
}

const view = (frames: readonly Frame[]) => frames.map((f) => [f.tsUs, f.linkType, f.data.toString('hex')]);

describe('capture files → frames', () => {
  const cases: Array<[string, Buffer, number]> = [];
  const eth = traffic('ethernet-only');
  const all = traffic('all');
  cases.push(['pcap little-endian µs', pcapFile(eth.pkts), eth.pkts.length]);
  cases.push(['pcap big-endian ns', pcapFile(eth.pkts, { bigEndian: true, nanos: true }), eth.pkts.length]);
  cases.push(['pcapng little-endian, six link types, µs/ns/2^-20 s', pcapngFile(all.pkts, { tsresol: [6, 9, 0x80 | 20, 6, 9, 6], junkBlocks: true }), all.pkts.length]);
  cases.push(['pcapng big-endian', pcapngFile(all.pkts, { bigEndian: true }), all.pkts.length]);

  for (const [name, file, n] of cases) {
    it(`${name}: every frame with its time and link type`, () => {
      const { frames, reader } = readAll(file);
      assert.equal(frames.length, n);
      assert.equal(reader.truncated, 0);
      assert.equal(frames[0]!.tsUs, T);
      assert.equal(frames[n - 1]!.tsUs, at(n - 1) - (name.includes('2^-20') ? 0 : 0) + 0 * 1);
    });

    it(`${name}: cut at every offset and fed in two chunks, the same frames; cut short, a prefix of them`, () => {
      const whole = view(readAll(file).frames);
      for (let k = 0; k <= file.length; k++) {
        assert.deepEqual(view(readAll(file, [k]).frames), whole, `split at ${k}`);
        const r = new CaptureReader();
        let got: Frame[] = [];
        try {
          got = r.push(file.subarray(0, k));
          r.finish();
        } catch (err) {
          assert.ok(isTollgateError(err, ImporterErrors.badFile) && k < 48, `cut at ${k}: ${String(err)}`);
          continue;
        }
        assert.deepEqual(view(got), whole.slice(0, got.length), `prefix of ${k} bytes`);
        // Cut inside a record: that record is counted as truncated; cut at a boundary: nothing is.
        assert.ok(r.truncated <= 1 && (got.length === whole.length ? r.truncated === 0 : true), `cut at ${k}: ${got.length} frames, truncated ${r.truncated}`);
      }
    });
  }

  it('2^-20 s and ns resolutions give the same µs as the packets were written with', () => {
    const { frames } = readAll(pcapngFile(all.pkts, { tsresol: [0x80 | 20, 9, 6, 9, 0x80 | 20, 9] }));
    // 2^-20 s ticks are coarser than 1 µs: within a microsecond.
    frames.forEach((f, i) => assert.ok(Math.abs(f.tsUs - all.pkts[i]!.tsUs) <= 1, `frame ${i}: ${f.tsUs} vs ${all.pkts[i]!.tsUs}`));
  });

  it('any chunking gives the same frames (property)', () => {
    const file = pcapngFile(all.pkts, { simple: false });
    const whole = view(readAll(file).frames);
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: file.length }), { maxLength: 40 }), (cuts) => {
      assert.deepEqual(view(readAll(file, cuts.sort((a, b) => a - b)).frames), whole);
    }), { numRuns: 300 });
  });

  it('refuses what is not a capture with the expected magic in the message', () => {
    assert.throws(() => new CaptureReader().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')),
      (e: unknown) => isTollgateError(e, ImporterErrors.badFile) && /magic 0x47455420.*expected a1b2c3d4, a1b23c4d or 0a0d0d0a/.test((e as Error).message));
  });

  it('random bytes and mutated captures: frames or TG_IMPORT_BAD_FILE, and decoding them never throws', () => {
    const base = pcapngFile(all.pkts);
    const basePcap = pcapFile(eth.pkts);
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }).chain((muts) =>
          fc.boolean().map((ng) => {
            const b = Buffer.from(ng ? base : basePcap);
            for (const [pos, v] of muts) b[pos % b.length] = v;
            return b;
          })),
      ),
      (file) => {
        let frames: Frame[] = [];
        try {
          frames = readAll(file).frames;
        } catch (err) {
          assert.ok(isTollgateError(err, ImporterErrors.badFile), String(err));
        }
        extract(frames);
      }), { numRuns: 500 });
  });
});

describe('frames → SIP messages', () => {
  for (const kinds of ['ethernet-only', 'all'] as const) {
    it(`${kinds === 'all' ? 'Ethernet/VLAN/QinQ, SLL, SLL2, loopback, raw IP' : 'Ethernet with VLAN tags'}: every message exactly once, every other frame counted by reason`, () => {
      const t = traffic(kinds);
      const file = kinds === 'all' ? pcapngFile(t.pkts) : pcapFile(t.pkts);
      const { items, ex } = extract(readAll(file).frames);
      assert.deepEqual(items.filter((x) => x.kind === 'sip').map((x) => x.payload.toString()), t.sip);
      assert.equal(items.filter((x) => x.kind === 'hep').length, t.hep);
      assert.deepEqual(Object.fromEntries(ex.skipped), t.skipped);
      const sipItems = items.filter((x) => x.kind === 'sip');
      assert.deepEqual(sipItems.map((x) => x.transport), ['udp', 'udp', 'udp', 'udp', 'udp', 'tcp', 'tcp', 'udp', 'udp']);
      assert.equal(sipItems[3]!.src, '2001:db8::10');
      assert.equal(sipItems[8]!.src, '192.0.2.10', 'the inner packet of an IP-in-IP tunnel');
      // The 401 completes with the segment that arrived last: its time is that segment's.
      assert.equal(sipItems[6]!.tsUs, sipItems[5]!.tsUs);
    });
  }
});

describe('SIP over a TCP stream', () => {
  it('the same messages wherever the stream is cut, keepalives between them skipped', async () => {
    const { SipStream } = await import('../../../services/importer/pcap/sip-stream.ts');
    const stream = Buffer.from(M.reg + M.unauth + '\r\n\r\n' + M.ok + M.invite);
    const want = [M.reg, M.unauth, M.ok, M.invite];
    for (let k = 0; k <= stream.length; k++) {
      for (const j of [k, Math.min(stream.length, k + 37)]) {
        const s = new SipStream();
        const got = [...s.push(stream.subarray(0, k)), ...s.push(stream.subarray(k, j)), ...s.push(stream.subarray(j))];
        assert.deepEqual(got.map((x) => x.bytes.toString()), want, `cut at ${k} and ${j}`);
      }
    }
  });

  it('a stream picked up mid-message resynchronizes at the next message', async () => {
    const { SipStream } = await import('../../../services/importer/pcap/sip-stream.ts');
    const s = new SipStream();
    const got = s.push(Buffer.from(M.ok.slice(200) + M.invite + M.ack));
    assert.deepEqual(got.map((x) => x.bytes.toString()), [M.invite, M.ack]);
    assert.equal(s.resyncs, 1);
  });
});
