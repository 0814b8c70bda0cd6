import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { RatingErrors } from '../../../services/rating/errors.ts';
import { classifyFrame, parseEventPlain, type EslMessage } from '../../../services/rating/esl/events.ts';
import { EslFrameParser, encodeFrame, urlDecode, urlEncode, type EslFrame } from '../../../services/rating/esl/frames.ts';
import { readTranscript } from '../../support/esl-transcript.ts';

const { server, client } = readTranscript();

function parseAll(chunks: readonly Buffer[]): EslFrame[] {
  const p = new EslFrameParser();
  const frames: EslFrame[] = [];
  for (const c of chunks) frames.push(...p.push(c));
  assert.equal(p.buffered, 0, 'nothing left over');
  return frames;
}

/** A stable digest of a parse, to compare splits with the one-chunk parse. */
function digest(frames: readonly EslFrame[]): string {
  return JSON.stringify(frames.map((f) => [Object.entries(f.headers), f.body?.toString('base64') ?? null]));
}

const whole = parseAll([server]);

describe('ESL frame parser on the prepaid-call transcript', () => {
  it('finds every frame of the session with its exact kind', () => {
    const kinds = whole.map((f) => {
      const m = classifyFrame(f);
      return m.kind === 'event' ? m.event.name : m.kind;
    });
    assert.deepEqual(kinds, ['auth-request', 'command-reply', 'command-reply', 'CHANNEL_PARK', 'api-response',
      'command-reply', 'BACKGROUND_JOB', 'CHANNEL_ANSWER', 'HEARTBEAT', 'CHANNEL_HANGUP_COMPLETE', 'command-reply',
      'disconnect-notice']);
    assert.deepEqual(client, ['auth ClueCon', 'event plain CHANNEL_PARK CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB HEARTBEAT',
      'api uuid_setvar 5d1f3c2a-8e7b-4c6d-a5f4-e3d2c1b0a9f8 cgr_max_usage 600',
      'bgapi uuid_transfer 5d1f3c2a-8e7b-4c6d-a5f4-e3d2c1b0a9f8 441632960123 XML default', 'exit']);
  });

  it('decodes event-plain values and nested BACKGROUND_JOB bodies', () => {
    const msgs = whole.map(classifyFrame);
    const ev = (name: string) => msgs.find((m): m is Extract<EslMessage, { kind: 'event' }> => m.kind === 'event' && m.event.name === name)!.event;
    const park = ev('CHANNEL_PARK');
    assert.equal(park.headers['Unique-ID'], '5d1f3c2a-8e7b-4c6d-a5f4-e3d2c1b0a9f8');
    assert.equal(park.headers['variable_cgr_reqtype'], '*prepaid');
    assert.equal(park.headers['variable_sip_call_id'], 'a84b4c76e66710@192.0.2.20');
    assert.equal(park.headers['Channel-Name'], 'sofia/internal/1001@10.0.0.5');
    assert.equal(park.headers['Event-Date-GMT'], 'Thu, 26 Nov 2026 06:09:40 GMT');
    const job = ev('BACKGROUND_JOB');
    assert.equal(job.headers['Job-UUID'], 'c6a1e9b0-2f3d-4e5a-8b7c-9d0e1f2a3b4c');
    assert.equal(job.headers['Job-Command-Arg'], '5d1f3c2a-8e7b-4c6d-a5f4-e3d2c1b0a9f8 441632960123 XML default');
    assert.equal(job.body, '+OK\n');
    const hangup = ev('CHANNEL_HANGUP_COMPLETE');
    assert.equal(hangup.headers['variable_billsec'], '18');
    assert.equal(hangup.headers['variable_hangup_cause'], 'NORMAL_CLEARING');
    const api = msgs[4]!;
    assert.deepEqual(api, { kind: 'api-response', body: '+OK\n' });
    const bg = msgs[5]!;
    assert.equal(bg.kind === 'command-reply' && bg.headers['Job-UUID'], 'c6a1e9b0-2f3d-4e5a-8b7c-9d0e1f2a3b4c');
  });

  it('gives the same frames for a cut at every offset', () => {
    const expected = digest(whole);
    for (let i = 0; i <= server.length; i++) {
      const got = digest(parseAll([server.subarray(0, i), server.subarray(i)]));
      if (got !== expected) assert.fail(`cut at offset ${i} changed the parse`);
    }
  });

  it('gives the same frames fed one byte at a time', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < server.length; i++) chunks.push(server.subarray(i, i + 1));
    assert.equal(digest(parseAll(chunks)), digest(whole));
  });

  it('gives the same frames for any random split (fast-check)', () => {
    const expected = digest(whole);
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: server.length - 1 }), { maxLength: 40 }), (cuts) => {
      const sorted = [...cuts].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const c of sorted) {
        chunks.push(server.subarray(prev, c));
        prev = c;
      }
      chunks.push(server.subarray(prev));
      return digest(parseAll(chunks)) === expected;
    }), { numRuns: 300 });
  });
});

describe('ESL frame parser on generated frames', () => {
  const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/).filter((n) => n !== 'Content-Length');
  const headerValue = fc.string({ maxLength: 40 }).map((v) => v.replace(/[\r\n]/g, ' ').replace(/^ +/, ''));
  const frame = fc.record({
    headers: fc.dictionary(headerName, headerValue, { minKeys: 1, maxKeys: 6 }),
    body: fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: undefined }),
  });

  it('round-trips any sequence of frames under any split, with blank lines between frames', () => {
    fc.assert(fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 30 }),
      fc.boolean(), (frames, sizes, blanks) => {
        const bytes = Buffer.concat(frames.map((f) => Buffer.concat([blanks ? Buffer.from('\n') : Buffer.alloc(0), encodeFrame(f.headers, f.body)])));
        const chunks: Buffer[] = [];
        let at = 0;
        for (const s of sizes) {
          if (at >= bytes.length) break;
          chunks.push(bytes.subarray(at, at + s));
          at += s;
        }
        if (at < bytes.length) chunks.push(bytes.subarray(at));
        const got = parseAll(chunks);
        assert.equal(got.length, frames.length);
        got.forEach((g, i) => {
          const f = frames[i]!;
          const { ['Content-Length']: _cl, ...rest } = g.headers;
          assert.deepEqual({ ...rest }, { ...f.headers });
          assert.deepEqual(g.body, f.body);
        });
      }), { numRuns: 300 });
  });

  it('URL-decodes what FreeSWITCH encodes, and never throws on malformed escapes', () => {
    fc.assert(fc.property(fc.string(), (v) => urlDecode(urlEncode(v)) === v));
    fc.assert(fc.property(fc.string(), (v) => typeof urlDecode(v) === 'string'));
    assert.equal(urlDecode('100%25%20sure%zz'), '100% sure%zz');
  });
});

describe('ESL frame parser on bad input', () => {
  it('refuses a header line without a colon with TG_ESL_PROTOCOL', () => {
    assert.throws(() => new EslFrameParser().push(Buffer.from('HTTP/1.1 200 OK\n\n')),
      (err) => isTollgateError(err, RatingErrors.eslProtocol) && /without "Name: value"/.test(err.message));
  });
  it('refuses a Content-Length that is not a number or too large', () => {
    assert.throws(() => new EslFrameParser().push(Buffer.from('Content-Length: abc\n\n')), /Content-Length "abc"/);
    assert.throws(() => new EslFrameParser({ maxBodyBytes: 10 }).push(Buffer.from('Content-Length: 11\n\n')), /0-10/);
  });
  it('refuses an endless header block once it passes the limit', () => {
    const p = new EslFrameParser({ maxHeaderBytes: 100 });
    assert.deepEqual(p.push(Buffer.from('A: b\n'.repeat(15))), []);
    assert.throws(() => p.push(Buffer.from('A: b\n'.repeat(10))), /longer than 100 bytes/);
  });
  it('holds a truncated frame without emitting it', () => {
    const p = new EslFrameParser();
    assert.equal(p.push(server.subarray(0, 200)).length, 3, "auth request + two replies; the PARK event is cut");
    assert.ok(p.buffered > 0);
  });
  it('refuses an event body without Event-Name or with a short nested body', () => {
    assert.throws(() => parseEventPlain(Buffer.from('Foo: bar\n\n')), /without Event-Name/);
    assert.throws(() => parseEventPlain(Buffer.from('Event-Name: BACKGROUND_JOB\nContent-Length: 10\n\n+OK\n')), /Content-Length 10/);
  });
  it('fuzz: random bytes either parse or fail with TG_ESL_PROTOCOL, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        for (const f of new EslFrameParser({ maxBodyBytes: 1000 }).push(Buffer.from(bytes))) {
          const m = classifyFrame(f);
          void m;
        }
      } catch (err) {
        if (!isTollgateError(err, RatingErrors.eslProtocol)) throw err;
      }
    }), { numRuns: 2000 });
  });
});
