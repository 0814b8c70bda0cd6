/** The sender table: one prepared sender per address and port, whatever order datagrams arrive in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CidrList } from '../../../services/collector/cidr.ts';
import { SenderTable } from '../../../services/collector/pipeline.ts';

test('every lookup returns the sender of exactly that address and port, in any order, with the allowlist verdict', () => {
  const addresses = ['10.0.0.1', '10.0.0.2', '::ffff:10.0.0.1', '2001:db8::1', 'not an address'];
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...addresses), fc.constantFrom(5060, 5061, 9)), { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (seq, capacity) => {
    const table = new SenderTable(CidrList.parse('10.0.0.0/31'), capacity);
    for (const [address, port] of seq) {
      const got = table.get(address, port);
      const want = table.make(address, port);
      if (want === undefined) {
        assert.equal(got, undefined);
        continue;
      }
      assert.ok(got !== undefined);
      assert.equal(got.text, want.text);
      assert.equal(got.port, port);
      assert.ok(got.addr.equals(want.addr));
      assert.equal(got.allowed, want.allowed);
    }
  }), { numRuns: 500 });
});

test('repeated lookups of one sender return the one prepared object', () => {
  const table = new SenderTable(undefined);
  const a = table.get('192.0.2.7', 5060);
  assert.equal(table.get('192.0.2.7', 5060), a);
  assert.notEqual(table.get('192.0.2.7', 5061), a);
  assert.equal(table.get('192.0.2.7', 5060), a);
});
