import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHep, encodeHep, HepChunk, HepDecodeError } from '../../../services/shared/hep/index.ts';
import { SIP_FIXTURES } from './fixtures.ts';

const base = encodeHep(SIP_FIXTURES[0]!.packet);

/** The fixture packet with `chunks` inserted right after the header, total length patched. */
function withChunks(...chunks: Buffer[]): Buffer {
  const b = Buffer.concat([base.subarray(0, 6), ...chunks, base.subarray(6)]);
  b.writeUInt16BE(b.length, 4);
  return b;
}

function chunk(type: number, valueLen: number, vendor = 0, declared = valueLen + 6): Buffer {
  const b = Buffer.alloc(6 + valueLen, 0x41);
  b.writeUInt16BE(vendor, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt16BE(declared, 4);
  return b;
}

function rejects(buf: Buffer, reason: string, chunkType?: number): void {
  assert.throws(
    () => decodeHep(buf),
    (e: unknown) => {
      assert.ok(e instanceof HepDecodeError);
      assert.equal(e.reason, reason);
      if (chunkType !== undefined) assert.equal(e.chunkType, chunkType);
      return true;
    },
  );
}

// Sizes from the HEP3 spec, as heplify-server enforces them (it checks 1/2/4/16-byte chunks; we also check
// keep-alive and MOS).
const FIXED: Array<[string, number, number]> = [
  ['ip family', HepChunk.IP_FAMILY, 1],
  ['ip protocol', HepChunk.IP_PROTOCOL, 1],
  ['ipv4 src', HepChunk.IPV4_SRC, 4],
  ['ipv4 dst', HepChunk.IPV4_DST, 4],
  ['ipv6 src', HepChunk.IPV6_SRC, 16],
  ['ipv6 dst', HepChunk.IPV6_DST, 16],
  ['src port', HepChunk.SRC_PORT, 2],
  ['dst port', HepChunk.DST_PORT, 2],
  ['timestamp sec', HepChunk.TIMESTAMP_SEC, 4],
  ['timestamp usec', HepChunk.TIMESTAMP_USEC, 4],
  ['payload type', HepChunk.PAYLOAD_TYPE, 1],
  ['capture id', HepChunk.CAPTURE_ID, 4],
  ['keep-alive timer', HepChunk.KEEP_ALIVE, 2],
  ['vlan', HepChunk.VLAN, 2],
  ['mos', HepChunk.MOS, 2],
];

describe('fixed-size chunks', () => {
  for (const [name, type, size] of FIXED) {
    it(`${name} (type ${type}) must carry exactly ${size} bytes`, () => {
      assert.doesNotThrow(() => decodeHep(withChunks(chunk(type, size))));
      for (const wrong of [0, size - 1, size + 1, size + 7]) {
        if (wrong < 0 || wrong === size) continue;
        rejects(withChunks(chunk(type, wrong)), 'bad_chunk_length', type);
      }
    });
  }

  it('variable chunks accept any length, including empty', () => {
    for (const type of [HepChunk.AUTH_KEY, HepChunk.CORRELATION_ID, HepChunk.NODE_NAME]) {
      assert.doesNotThrow(() => decodeHep(withChunks(chunk(type, 0))));
      assert.doesNotThrow(() => decodeHep(withChunks(chunk(type, 300))));
    }
  });
});

describe('chunk walk', () => {
  it('declared chunk length below 6', () => {
    for (const declared of [0, 1, 5]) rejects(withChunks(chunk(HepChunk.NODE_NAME, 0, 0, declared)), 'bad_chunk_length', HepChunk.NODE_NAME);
  });

  it('chunk running past the end of the packet', () => {
    const b = Buffer.from(base);
    const last = b.length - SIP_FIXTURES[0]!.packet.payload.length - 6;
    b.writeUInt16BE(b.readUInt16BE(last + 4) + 1, last + 4);
    rejects(b, 'truncated_chunk', HepChunk.PAYLOAD);
  });

  it('fewer than 6 bytes left for a chunk header', () => {
    const b = Buffer.concat([base, Buffer.from([0, 0, 0])]);
    b.writeUInt16BE(b.length, 4);
    rejects(b, 'truncated_chunk');
  });

  it('missing payload', () => {
    const b = Buffer.from('HEP3\0\0\0\0\0\x07\0\x08\x13\xc4', 'latin1');
    b.writeUInt16BE(b.length, 4);
    rejects(b, 'missing_payload');
  });

  it('skips and counts unknown generic chunks, keeps vendor chunks raw', () => {
    const d = decodeHep(withChunks(chunk(36, 2), chunk(200, 5), chunk(300, 0), chunk(7, 3, 0x0024)));
    assert.equal(d.unknownChunks, 3);
    assert.equal(d.srcPort, SIP_FIXTURES[0]!.packet.srcPort);
    assert.deepStrictEqual(d.vendorChunks, [{ vendor: 0x24, type: 7, value: Buffer.from('AAA') }]);
    assert.equal(decodeHep(base).unknownChunks, undefined);
  });

  it('a later duplicate chunk wins, as in hep-js and heplify-server', () => {
    const port = chunk(HepChunk.SRC_PORT, 2);
    port.writeUInt16BE(1234, 6);
    const b = Buffer.concat([base, port]);
    b.writeUInt16BE(b.length, 4);
    assert.equal(decodeHep(b).srcPort, 1234);
  });
});
