/** Whatever bytes arrive, parseSip returns a ParseResult: no exception, failures carry a code from the closed
 * set, and every lazy accessor of an accepted message is safe to read. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSip, SIP_PARSE_REASONS, SIP_PARSE_WARNINGS } from '../../../services/analyzer/sip/index.ts';
import type { ParseResult, SipMessage } from '../../../services/analyzer/sip/index.ts';
import { callFlowFiles, readCallFlow, readTorture, rfc4475Files } from './conformance.ts';

const REASONS = new Set<string>(SIP_PARSE_REASONS);
const WARNINGS = new Set<string>(SIP_PARSE_WARNINGS);

/** Reads every accessor, as the analyzer and the quarantine writer might. */
function touch(m: SipMessage): void {
  const all = {
    kind: m.kind, method: m.method, ruri: m.requestUri, status: m.statusCode, reason: m.reasonPhrase,
    callId: m.callId, cseq: m.cseq, from: m.from, to: m.to, topVia: m.topVia, via: m.via, contact: m.contact,
    mf: m.maxForwards, ex: m.expires, ua: m.userAgent, server: m.server, ct: m.contentType, mt: m.mediaType,
    cl: m.contentLength, auth: m.authorization, pauth: m.proxyAuthorization, xcid: m.xCid, icid: m.icid,
    bw: m.broadworksCorrelation, sdp: m.sdp, headers: m.headers, body: m.body.length,
  };
  JSON.stringify(all);
  m.header('via');
  m.headerValues('contact');
}

function check(r: ParseResult): void {
  if (r.ok) {
    for (const w of r.warnings) assert.ok(WARNINGS.has(w), `unknown warning ${w}`);
    assert.equal(new Set(r.warnings).size, r.warnings.length);
    assert.ok(r.message.callId.length > 0);
    touch(r.message);
  } else {
    assert.ok(REASONS.has(r.reason), `unknown reason ${r.reason}`);
    assert.notEqual(r.reason, 'internal_error', r.detail);
    assert.ok(r.detail.length > 0);
  }
}

function safeParse(input: Buffer | string, deep = false): ParseResult {
  let r: ParseResult | undefined;
  assert.doesNotThrow(() => {
    r = parseSip(input, { deep });
  });
  assert.ok(r !== undefined);
  check(r);
  return r;
}

const corpus: Buffer[] = [
  ...rfc4475Files().map((f) => readTorture(f)),
  ...callFlowFiles().flatMap((f) => readCallFlow(f).map((t) => Buffer.from(t, 'utf8'))),
];

describe('fuzz: truncation at every offset', () => {
  it(`every prefix of ${corpus.length} conformance messages`, () => {
    let accepted = 0;
    let rejected = 0;
    for (const msg of corpus) {
      for (let cut = 0; cut <= msg.length; cut++) {
        const r = safeParse(msg.subarray(0, cut), cut % 7 === 0);
        if (r.ok) accepted++;
        else rejected++;
      }
    }
    assert.ok(accepted > 0 && rejected > 0);
  });

  it('a prefix that ends inside a declared body is content_length_mismatch, never a short body', () => {
    const msg = readTorture('sdp01.dat');
    const headerEnd = msg.indexOf('\r\n\r\n') + 4;
    for (let cut = headerEnd; cut < msg.length; cut++) {
      const r = parseSip(msg.subarray(0, cut));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.reason, 'content_length_mismatch');
        assert.equal(r.callId, 'sdp01.ndaksdj9342dasdd');
      }
    }
  });
});

describe('fuzz: random input', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        safeParse(Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('random strings, including SIP-ish fragments', () => {
    const frag = fc.constantFrom(
      'INVITE ', 'SIP/2.0', ' 200 OK', '\r\n', '\n', ':', ';', ',', '"', '\\', '<', '>', '@', 'sip:', '[', ']',
      'Via: ', 'v: SIP/2.0/UDP ', 'f: ', 't: ', 'i: ', 'CSeq: 1 INVITE', 'l: ', 'm: *', ';tag=', ';branch=',
      '%', '%0', '%zz', ' ', '\t', '\r\n ', '\r\n\r\n', 'Content-Length: 5', 'Content-Type: application/sdp',
      'v=0\r\n', 'm=audio 1 RTP/AVP 0\r\n', 'a=rtpmap:', 'Authorization: Digest username=',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(frag, fc.string({ maxLength: 8 })), { maxLength: 60 }), (parts) => {
        safeParse(parts.join(''), true);
      }),
      { numRuns: 3000 },
    );
  });

  it('random byte mutations of conformance messages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: corpus.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.boolean(),
        (idx, edits, deep) => {
          let b = Buffer.from(corpus[idx] as Buffer);
          for (const [pos, byte, op] of edits) {
            const p = b.length === 0 ? 0 : pos % b.length;
            if (op === 'set' && b.length > 0) b[p] = byte;
            else if (op === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)]);
            else b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
          }
          safeParse(b, deep);
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('messages split into two datagrams: each half is handled', () => {
    for (const msg of corpus.slice(0, 60)) {
      for (let cut = 1; cut < msg.length; cut += 3) {
        safeParse(msg.subarray(0, cut));
        safeParse(msg.subarray(cut));
      }
    }
  });
});
