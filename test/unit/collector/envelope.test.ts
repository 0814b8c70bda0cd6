import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { CollectorErrors } from '../../../services/collector/errors.ts';
import {
  decodeEnvelope, encodeEnvelope, FLAG_TS_FIXED, senderFromSocket, TRANSPORTS,
} from '../../../services/shared/hep/envelope.ts';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));

test('property: encode then decode gives back every field and the HEP bytes untouched', () => {
  fc.assert(fc.property(
    fc.oneof(ipv4, fc.ipV6()), fc.integer({ min: 0, max: 65535 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    fc.constantFrom(...TRANSPORTS), fc.boolean(), fc.uint8Array({ maxLength: 2000 }),
    (ip, port, ns, transport, fixed, hepBytes) => {
      const sender = senderFromSocket(ip, port);
      assert.ok(sender, ip);
      const hep = Buffer.from(hepBytes);
      const env = decodeEnvelope(encodeEnvelope(hep, sender, ns, transport, fixed ? FLAG_TS_FIXED : 0));
      assert.equal(env.version, 1);
      assert.equal(env.receivedAtNs, ns);
      assert.equal(env.transport, transport);
      assert.equal(env.timestampFixed, fixed);
      assert.equal(env.senderPort, port);
      assert.equal(env.senderFamily, sender.family);
      // Text form is canonical: parsing it again gives the same bytes.
      assert.deepEqual(senderFromSocket(env.senderIp, port)?.addr, sender.addr);
      assert.ok(env.hep.equals(hep));
    },
  ), { numRuns: 1000 });
});

test('IPv4-mapped sender addresses are stored as IPv4; IPv6 keeps its 16 bytes; zones are dropped', () => {
  assert.equal(senderFromSocket('::ffff:10.1.2.3', 5)?.family, 4);
  const v6 = senderFromSocket('2001:db8::1', 9)!;
  assert.equal(v6.family, 6);
  assert.equal(decodeEnvelope(encodeEnvelope(Buffer.alloc(0), v6, 1n, 'udp', 0)).senderIp, '2001:db8::1');
  assert.equal(senderFromSocket('fe80::1%eth0', 1)?.family, 6);
  assert.equal(senderFromSocket('not-an-ip', 1), undefined);
});

test('decodeEnvelope refuses foreign bytes with a typed error', () => {
  const sender = senderFromSocket('127.0.0.1', 1)!;
  const good = encodeEnvelope(Buffer.from('HEP3'), sender, 5n, 'tcp', 0);
  const cases: Buffer[] = [Buffer.alloc(0), Buffer.from('HEP3....................'), Buffer.from(good).fill(9, 1, 2),
    Buffer.from(good).fill(5, 3, 4), good.subarray(0, 10)];
  for (const bad of cases) {
    assert.throws(() => decodeEnvelope(bad), (e) => isTollgateError(e, CollectorErrors.badEnvelope));
  }
});
