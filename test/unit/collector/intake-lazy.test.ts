/**
 * HEP_DECODE=lazy against HEP_DECODE=full (minimal headers): the same verdict on every input, and for accepted
 * packets the same record, byte for byte (topic, key, headers, envelope value; the receive time is the same
 * monotonic instant, so only the two intakes' wall-clock offsets may differ and those bytes are compared apart).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeEnvelope, encodeHep, HepChunk, senderFromSocket } from '../../../services/shared/hep/index.ts';
import { Intake, type IntakeOptions, type Sender } from '../../../services/collector/intake.ts';
import type { CaptureRecord } from '../../../services/collector/publish/record.ts';
import { anyPacket } from '../hep/arbitraries.ts';
import { hepPacket, sipMessage } from '../../support/hep-sender.ts';

function sender(ip: string, port: number): Sender {
  return Intake.sender(ip, port, senderFromSocket(ip, port)!, true);
}
const SENDERS = [sender('10.0.0.9', 5060), sender('2001:db8::5', 9)];

function pair(opts: Partial<IntakeOptions>): [Intake, Intake] {
  const base = { topicPrefix: 't.', headers: 'minimal' as const, ...opts };
  return [new Intake({ ...base, decode: 'lazy' }), new Intake({ ...base, decode: 'full' })];
}

function same(lazy: Intake, full: Intake, bytes: Buffer, s: Sender): CaptureRecord | string {
  const hr = process.hrtime.bigint();
  const a = lazy.process(bytes, s, hr, 'tcp');
  const b = full.process(bytes, s, hr, 'tcp');
  if (typeof a === 'string' || typeof b === 'string') {
    assert.equal(a, b);
    return a as string;
  }
  assert.equal(a.topic, b.topic);
  assert.ok(a.key.equals(b.key), `key ${a.key.toString('hex')} vs ${b.key.toString('hex')}`);
  assert.deepEqual({ ...a.headers }, { ...b.headers });
  assert.equal(a.receivedAtNs, b.receivedAtNs);
  assert.equal(a.value.length, b.value.length);
  assert.ok(a.value.subarray(0, 4).equals(b.value.subarray(0, 4)), 'envelope magic, version, flags, family');
  assert.ok(a.value.subarray(12).equals(b.value.subarray(12)), 'envelope sender and HEP bytes');
  const wallA = decodeEnvelope(a.value).receivedAtNs;
  const wallB = decodeEnvelope(b.value).receivedAtNs;
  assert.ok(wallA - wallB < 50_000_000n && wallB - wallA < 50_000_000n, 'receive times of the same instant');
  assert.equal(lazy.lastRoute, full.lastRoute);
  return a;
}

const nowSec = Math.floor(Date.now() / 1000);
const timestamp = fc.oneof(fc.constant(0), fc.constant(nowSec), fc.constant(nowSec + 3), fc.constant(nowSec + 3600), fc.integer({ min: 0, max: 0xffffffff }));
/** Correlation ids and auth keys as bytes, including invalid UTF-8 (the full path reads them as text). */
const idBytes = fc.oneof(fc.constant(Buffer.from('k3y')), fc.constant(Buffer.from([0x6b, 0xff, 0x79])), fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)));

function withChunk(hep: Buffer, type: number, value: Buffer): Buffer {
  const chunk = Buffer.alloc(6 + value.length);
  chunk.writeUInt16BE(type, 2);
  chunk.writeUInt16BE(chunk.length, 4);
  value.copy(chunk, 6);
  const out = Buffer.concat([hep, chunk]);
  out.writeUInt16BE(out.length, 4);
  return out;
}

test('lazy and full intakes agree on arbitrary packets, auth keys, capture ids, timestamps and ids', () => {
  const configs: Array<Partial<IntakeOptions>> = [{}, { authKey: 'k3y' }, { authKey: 'k\ufffdy' }, { captureIds: new Set([1, 7]) }, { maxPacketSize: 300 },
    { headers: 'none' }, { headers: 'none', authKey: 'k3y' }];
  const intakes = configs.map(pair);
  fc.assert(fc.property(
    anyPacket, timestamp, fc.option(idBytes, { nil: undefined }), fc.option(idBytes, { nil: undefined }),
    fc.integer({ min: 0, max: intakes.length - 1 }), fc.integer({ min: 0, max: 1 }),
    (p, ts, auth, corr, which, si) => {
      let bytes = encodeHep({ ...p, timestampSec: ts, authKey: undefined, correlationId: undefined });
      if (auth !== undefined) bytes = withChunk(bytes, HepChunk.AUTH_KEY, auth);
      if (corr !== undefined) bytes = withChunk(bytes, HepChunk.CORRELATION_ID, corr);
      const [lazy, full] = intakes[which]!;
      same(lazy, full, bytes, SENDERS[si]!);
    },
  ), { numRuns: 3000 });
});

test('lazy and full intakes agree on SIP (Call-ID keys, compact form, no Call-ID), cuts and corruption', () => {
  const [lazy, full] = pair({ authKey: 's3cret' });
  const msgs = [
    sipMessage({ method: 'INVITE', callId: 'call-abc@host', cseq: 1, v6: false }),
    sipMessage({ method: 'BYE', callId: 'short-form', cseq: 2, v6: true, compact: true }),
    'no sip here',
  ];
  let accepted = 0;
  for (const m of msgs) {
    for (const o of [{ authKey: 's3cret' }, { authKey: 's3cret', correlationId: 'corr-1', v6: true }, { authKey: 'wrong!' }, {}]) {
      const good = hepPacket(m, { ...o, captureId: 3, nodeName: 'edge' });
      for (const s of SENDERS) if (typeof same(lazy, full, good, s) !== 'string') accepted++;
      for (let i = 0; i < good.length; i++) {
        same(lazy, full, good.subarray(0, i), SENDERS[0]!);
        const flipped = Buffer.from(good);
        flipped[i]! ^= 0x5a;
        same(lazy, full, flipped, SENDERS[0]!);
      }
    }
  }
  assert.ok(accepted >= 12, `accepted ${accepted}`);
});

test('lazy intake: the auth key is left out of the record, the rest byte-identical', () => {
  const [lazy] = pair({ authKey: 's3cret-hep-key' });
  const withKey = hepPacket('OPTIONS sip:x SIP/2.0\r\nCall-ID: c1\r\n\r\n', { authKey: 's3cret-hep-key' });
  const r = lazy.process(withKey, SENDERS[0]!, process.hrtime.bigint(), 'udp') as CaptureRecord;
  assert.equal(typeof r, 'object');
  assert.equal(r.value.includes(Buffer.from('s3cret-hep-key')), false);
  assert.equal(r.key.toString(), 'c1');
  assert.deepEqual({ ...r.headers }, { type: '1' });
  const [none] = pair({ headers: 'none' });
  const n = none.process(withKey, SENDERS[0]!, process.hrtime.bigint(), 'udp') as CaptureRecord;
  assert.deepEqual(Object.keys(n.headers), []);
  assert.ok(Object.isFrozen(n.headers) && Object.isFrozen(r.headers), 'shared header objects are frozen');
});

test('envelopes carved from slabs equal one-allocation envelopes, and later packets never overwrite earlier records', () => {
  // A 4 KiB slab rolls over every few packets and gives packets of 512 B or more their own buffer, so both paths of
  // the slab and many rollovers are exercised while every record is still held.
  const small = new Intake({ topicPrefix: 't.', headers: 'none', envelopeSlabBytes: 4096, authKey: 'k3y' });
  const plain = new Intake({ topicPrefix: 't.', headers: 'none', envelopeSlabBytes: 0, authKey: 'k3y' });
  fc.assert(fc.property(fc.array(fc.tuple(anyPacket, fc.boolean(), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 60 }), (ps) => {
    const kept: Array<[CaptureRecord, CaptureRecord]> = [];
    for (const [p, keyed, si] of ps) {
      let bytes = encodeHep({ ...p, timestampSec: nowSec, authKey: undefined, correlationId: undefined });
      bytes = withChunk(bytes, HepChunk.AUTH_KEY, Buffer.from(keyed ? 'k3y' : 'nope'));
      const hr = process.hrtime.bigint();
      const a = small.process(bytes, SENDERS[si]!, hr, 'udp');
      const b = plain.process(bytes, SENDERS[si]!, hr, 'udp');
      if (typeof a === 'string' || typeof b === 'string') {
        assert.equal(a, b);
        continue;
      }
      kept.push([a, b]);
    }
    for (const [a, b] of kept) {
      assert.equal(a.value.length, b.value.length);
      assert.ok(a.value.subarray(0, 4).equals(b.value.subarray(0, 4)));
      assert.ok(a.value.subarray(12).equals(b.value.subarray(12)), 'sender and HEP bytes');
      const d = decodeEnvelope(a.value).receivedAtNs - decodeEnvelope(b.value).receivedAtNs;
      assert.ok(d < 50_000_000n && d > -50_000_000n, 'receive times of the same instant');
      assert.ok(a.key.equals(b.key));
    }
  }), { numRuns: 300 });
});

test('lazy records hold no view of the received bytes: overwriting them afterwards changes no key and no value', () => {
  const [lazy, full] = pair({ authKey: 'k3y', headers: 'none' });
  fc.assert(fc.property(
    anyPacket, fc.boolean(), fc.option(idBytes, { nil: undefined }), fc.boolean(), fc.integer({ min: 0, max: 1 }),
    (p, keyed, corr, authFirst, si) => {
      let bytes = encodeHep({ ...p, timestampSec: nowSec, authKey: undefined, correlationId: undefined });
      // The auth chunk before or after the correlation chunk: the key's place in the envelope shifts with it.
      const auth = (b: Buffer): Buffer => (keyed ? withChunk(b, HepChunk.AUTH_KEY, Buffer.from('k3y')) : b);
      if (authFirst) bytes = auth(bytes);
      if (corr !== undefined) bytes = withChunk(bytes, HepChunk.CORRELATION_ID, corr);
      if (!authFirst) bytes = auth(bytes);
      const received = Buffer.from(bytes);
      const a = lazy.process(received, SENDERS[si]!, process.hrtime.bigint(), 'udp');
      if (typeof a === 'string') return;
      const key = Buffer.from(a.key);
      const value = Buffer.from(a.value);
      received.fill(0);
      assert.ok(a.key.equals(key), 'key changed with the received bytes');
      assert.ok(a.value.equals(value), 'value changed with the received bytes');
      same(lazy, full, bytes, SENDERS[si]!);
    },
  ), { numRuns: 2000 });
  const sip = hepPacket(sipMessage({ method: 'INVITE', callId: 'call-abc@host', cseq: 1, v6: false }), { authKey: 'k3y' });
  const r = lazy.process(sip, SENDERS[0]!, process.hrtime.bigint(), 'tcp') as CaptureRecord;
  assert.equal(r.key.toString(), 'call-abc@host');
  assert.equal(r.key.buffer, r.value.buffer, 'the Call-ID key is a view of the envelope');
});
