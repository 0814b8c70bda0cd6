import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { findCallId } from '../../../services/collector/sip-call-id.ts';

const id = (text: string): string | undefined => findCallId(Buffer.from(text, 'latin1'))?.toString('latin1');

test('long form, any case, whitespace before and after the colon', () => {
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCall-ID: abc@host\r\n\r\n'), 'abc@host');
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\ncall-id:abc\r\n\r\n'), 'abc');
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCALL-ID \t:  abc  \r\n\r\n'), 'abc');
});

test('compact form i:', () => {
  assert.equal(id('BYE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP x\r\ni: 12345\r\n\r\n'), '12345');
  assert.equal(id('BYE sip:a@b SIP/2.0\r\nI :x\r\n\r\n'), 'x');
});

test('only at line starts: values and other headers containing the name are ignored', () => {
  assert.equal(id('OPTIONS sip:a@b SIP/2.0\r\nSubject: Call-ID: fake\r\nX-Call-ID: fake2\r\nin: fake3\r\nCall-ID: real\r\n\r\n'), 'real');
  assert.equal(id('OPTIONS sip:a@b SIP/2.0\r\nIdentity: x\r\n\r\n'), undefined);
});

test('stops at the blank line: a Call-ID in the body is not a header', () => {
  assert.equal(id('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 18\r\n\r\nCall-ID: from-body'), undefined);
  assert.equal(id('MESSAGE sip:a@b SIP/2.0\nContent-Length: 18\n\nCall-ID: from-body'), undefined);
});

test('bare LF line endings', () => {
  assert.equal(id('INVITE sip:a@b SIP/2.0\nFrom: x\nCall-ID: lf-only\n\n'), 'lf-only');
});

test('header folding: a value continued on the next line', () => {
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCall-ID:\r\n   folded@host\r\nCSeq: 1 INVITE\r\n\r\n'), 'folded@host');
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCall-ID: part1\r\n\tpart2\r\n\r\n'), 'part1 part2');
});

test('missing, empty, or truncated headers', () => {
  assert.equal(id(''), undefined);
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nFrom: x\r\n\r\n'), undefined);
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCall-ID:   \r\n\r\n'), undefined);
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCall-ID: cut-at-end'), 'cut-at-end');
  assert.equal(id('INVITE sip:a@b SIP/2.0\r\nCall-I'), undefined);
});

test('an unfolded value is a view into the payload, not a copy', () => {
  const buf = Buffer.from('INVITE sip:a@b SIP/2.0\r\nCall-ID: view\r\n\r\n');
  const got = findCallId(buf)!;
  assert.equal(got.buffer, buf.buffer);
});

const token = fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~@:-]{1,40}$/);
const otherHeader = fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z-]{0,15}$/), fc.stringMatching(/^[ -~]{0,40}$/))
  .filter(([n]) => !/^(call-id|i)$/i.test(n))
  .map(([n, v]) => `${n}: ${v}`);
const casing = (name: string) => fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length })
  .map((up) => [...name].map((ch, i) => (up[i] ? ch.toUpperCase() : ch.toLowerCase())).join(''));

test('property: the Call-ID among random headers, any casing, any form, any line ending, is found exactly', () => {
  fc.assert(fc.property(
    fc.array(otherHeader, { maxLength: 8 }), fc.array(otherHeader, { maxLength: 8 }), token,
    fc.oneof(casing('call-id'), casing('i')), fc.constantFrom('\r\n', '\n'), fc.stringMatching(/^[ \t]{0,3}$/),
    fc.stringMatching(/^[ -~]{0,60}$/),
    (before, after, value, name, eol, ws, body) => {
      const msg = ['INVITE sip:x@y SIP/2.0', ...before, `${name}${ws}:${ws}${value}`, ...after].join(eol) + eol + eol + `Call-ID: body-${body}`;
      assert.equal(id(msg), value);
    },
  ), { numRuns: 2000 });
});

test('property: arbitrary bytes never throw and a result is always inside the headers', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const buf = Buffer.from(bytes);
    const got = findCallId(buf);
    if (got !== undefined) assert.ok(got.length > 0);
  }), { numRuns: 3000 });
});
