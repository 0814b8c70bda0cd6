/** Every message of the RFC call flows (RFC 3665, 3327, 3515, 4916, 5626) parses, with the fields the analyzer
 * keys dialogs and registrations on, checked against the message text itself. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSip } from '../../../services/analyzer/sip/index.ts';
import { CALLFLOWS_DIR, callFlowFiles, readCallFlow } from './conformance.ts';

/** Independent, deliberately naive extraction from the text, to compare against. */
function expectFromText(text: string): { start: string; callId: string; cseq: string } {
  const lines = text.split('\r\n');
  const find = (re: RegExp): string => {
    const l = lines.find((x) => re.test(x));
    assert.ok(l !== undefined, `no ${re} in message`);
    return l.slice(l.indexOf(':') + 1).trim();
  };
  return { start: lines[0] ?? '', callId: find(/^(Call-ID|i)\s*:/i), cseq: find(/^CSeq\s*:/i) };
}

describe('RFC call flows', () => {
  const files = callFlowFiles();
  it('finds the call-flow corpus', () => {
    assert.ok(files.length >= 28, `only ${files.length} files`);
  });
  let total = 0;
  for (const file of files) {
    const messages = readCallFlow(file);
    total += messages.length;
    it(`${file.slice(CALLFLOWS_DIR.length)}: ${messages.length} messages parse`, () => {
      assert.ok(messages.length > 0);
      messages.forEach((text, i) => {
        const r = parseSip(text, { deep: true });
        assert.ok(r.ok, r.ok ? '' : `message ${i + 1}: ${r.reason}: ${r.detail}`);
        const m = r.message;
        const want = expectFromText(text);
        const [seq, method] = want.cseq.split(/\s+/);
        assert.equal(m.callId, want.callId);
        assert.deepEqual(m.cseq, { seq: Number(seq), method });
        const status = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(want.start);
        if (status !== null) {
          assert.equal(m.kind, 'response');
          assert.equal(m.statusCode, Number(status[1]));
          assert.equal(m.reasonPhrase, status[2]);
          assert.equal(m.method, method);
        } else {
          assert.equal(m.kind, 'request');
          assert.equal(m.method, want.start.split(' ')[0]);
          assert.equal(m.method, method);
          assert.equal(m.requestUriRaw, want.start.split(' ')[1]);
        }
        // RFC 5626's examples are abbreviated and leave out Via.
        if (m.topVia === undefined) assert.ok(file.includes('rfc5626') && r.warnings.includes('missing_via'));
        else assert.ok(m.topVia.branch?.startsWith('z9hG4bK'), `message ${i + 1}: branch ${m.topVia.branch}`);
        assert.ok(m.from.tag !== undefined && m.from.tag.length > 0, `message ${i + 1}: From tag`);
        // (RFC 3665 3.08 answers CANCEL without a To tag.)
        if (m.kind === 'response' && m.statusCode > 100 && m.method !== 'CANCEL' && m.topVia !== undefined) assert.ok(m.to.tag !== undefined, `message ${i + 1}: To tag`);
        // Only defects the RFC examples really have: a missing final blank line, abbreviated messages.
        for (const w of r.warnings) assert.ok(['unterminated_headers', 'missing_via'].includes(w), `message ${i + 1}: warning ${w}`);
        if (m.mediaType === 'application/sdp') {
          assert.ok(m.sdp !== undefined && m.sdp.media.length > 0, `message ${i + 1}: SDP`);
          assert.ok(m.sdp.media.every((x) => x.port > 0 && x.proto.length > 0));
        }
      });
    });
  }
  it('covers all call-flow messages', () => {
    assert.ok(total >= 250, `only ${total} messages`);
  });
});

describe('RFC 3665 specifics', () => {
  const flow = (name: string): string[] => {
    const f = callFlowFiles().find((x) => x.includes(name));
    assert.ok(f);
    return readCallFlow(f);
  };
  it('2.01 registration: auth identity without secrets, contact expiry', () => {
    const msgs = flow('2.01_sip-client-new-registration');
    const r = parseSip(msgs[2] ?? '');
    assert.ok(r.ok);
    const auth = r.message.authorization;
    assert.deepEqual(auth, { scheme: 'Digest', username: 'bob', user: 'bob', realm: 'atlanta.example.com' });
    assert.equal(JSON.stringify(auth).includes('nonce'), false);
    const ok = parseSip(msgs[3] ?? '');
    assert.ok(ok.ok);
    const c = ok.message.contact[0];
    assert.ok(c !== undefined && !c.wildcard);
    assert.equal(c.expires, 3600);
  });
  it('3.01 session: SDP summary of the offer', () => {
    const r = parseSip(flow('3.01_successful-session-establishment')[0] ?? '');
    assert.ok(r.ok);
    const sdp = r.message.sdp;
    assert.equal(sdp?.connection?.address, '192.0.2.101');
    assert.deepEqual(sdp?.media[0]?.rtpmap, [{ payload: 0, encoding: 'PCMU', clockRate: 8000, channels: undefined }]);
    assert.equal(sdp?.origin?.username, 'alice');
  });
  it('3.03 proxy authentication: Proxy-Authorization identity', () => {
    const msgs = flow('3.03_session-with-multiple-proxy-authentication');
    const withAuth = msgs.map((t) => parseSip(t)).find((r) => r.ok && r.message.proxyAuthorization !== undefined);
    assert.ok(withAuth?.ok);
    assert.equal(withAuth.message.proxyAuthorization?.user, 'alice');
    assert.equal(withAuth.message.proxyAuthorization?.realm, 'atlanta.example.com');
  });
});
