import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ApiProblem } from '../../../services/api/contract.ts';
import { csvField } from '../../../services/api/csv.ts';
import { maskSipText, maskUser } from '../../../services/api/mask.ts';
import { chTime, chToUs, decodeCursor, encodeCursor, parseRfc3339Us, timeRange } from '../../../services/api/paging.ts';
import { splitSip } from '../../../services/api/calls/sip-text.ts';

describe('API helpers: time ranges, cursors, CSV, masking', () => {
  it('parses RFC 3339 with offsets and fractions to the microsecond; refuses anything else naming the parameter', () => {
    assert.equal(parseRfc3339Us('2026-11-30T08:00:00Z', 'from'), Date.UTC(2026, 10, 30, 8) * 1000);
    assert.equal(parseRfc3339Us('2026-11-30T09:00:00.123456+01:00', 'from'), Date.UTC(2026, 10, 30, 8) * 1000 + 123_456);
    for (const bad of ['2026-11-30', 'yesterday', '2026-11-30T08:00:00', '2026-13-01T00:00:00Z', '2026-11-30T25:00:00Z', '']) {
      assert.throws(() => parseRfc3339Us(bad, 'to'), (e: ApiProblem) => e.status === 422 && e.param === 'to', bad);
    }
    assert.equal(chTime(Date.UTC(2026, 10, 30, 8) * 1000 + 5), '2026-11-30 08:00:00.000005');
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_000_000_000_000_000 }), (us) => assert.equal(chToUs(chTime(us)), us)));
  });

  it('defaults the range to the last 24 h and bounds it', () => {
    const now = Date.UTC(2026, 10, 30, 12);
    assert.deepEqual(timeRange({}, 86_400_000 * 31, now), { fromUs: (now - 86_400_000) * 1000, toUs: now * 1000 });
    assert.throws(() => timeRange({ from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 86_400_000 * 31, now), /at most 744 h/);
  });

  it('cursors round-trip with their filters and refuse junk or other filters', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.integer()), { minLength: 3, maxLength: 3 }), fc.string(), (key, fp) => {
      assert.deepEqual(decodeCursor(encodeCursor(key, fp), fp, 3), key);
      assert.throws(() => decodeCursor(encodeCursor(key, fp), `${fp}x`, 3), (e: ApiProblem) => e.type === 'invalid-cursor');
    }));
    fc.assert(fc.property(fc.string(), (junk) => {
      try {
        decodeCursor(junk, 'f', 3);
      } catch (e) {
        assert.ok(e instanceof ApiProblem && e.status === 422 && e.param === 'cursor');
      }
    }));
  });

  it('writes RFC 4180 CSV fields and defuses spreadsheet formulas but keeps E.164 numbers', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('line\r\nbreak'), '"line\r\nbreak"');
    assert.equal(csvField('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
    assert.equal(csvField('+4930123456'), '+4930123456');
    assert.equal(csvField(null), '');
    assert.equal(csvField(['a', 'b']), 'a;b');
  });

  it('masks user parts in fields and in SIP text', () => {
    assert.equal(maskUser('+4930123456'), '+49********');
    assert.equal(maskUser('bob'), '***');
    const text = 'INVITE sip:+4930123456@a.example SIP/2.0\r\nFrom: "Alice Smith" <sip:alice@a.example>;tag=1\r\nP-Asserted-Identity: <tel:+4940111>\r\nAuthorization: Digest username="alice99", realm="x"\r\n\r\n';
    const m = maskSipText(text);
    for (const secret of ['4930123456', 'Alice Smith', 'alice@', '4940111', 'alice99']) assert.ok(!m.includes(secret), secret);
    assert.ok(m.startsWith('INVITE sip:+49********@a.example SIP/2.0'));
  });

  it('splits SIP text into start line, headers (folded lines joined) and body', () => {
    const p = splitSip('OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nSubject: one\r\n two\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(p.startLine, 'OPTIONS sip:a SIP/2.0');
    assert.deepEqual(p.headers, [{ name: 'Via', value: 'SIP/2.0/UDP h' }, { name: 'Subject', value: 'one two' }, { name: 'Content-Length', value: '3' }]);
    assert.equal(p.body, 'abc');
  });
});
