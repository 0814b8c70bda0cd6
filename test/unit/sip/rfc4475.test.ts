/**
 * RFC 4475 torture messages, read at run time from the shared conformance corpus. Every file has a verdict here:
 * accepted (with the exact warnings) plus field checks, or rejected with the exact reason and the Call-ID that is
 * kept for quarantine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSip } from '../../../services/analyzer/sip/index.ts';
import type { SipMessage, SipParseReason, SipParseWarning, SipUri, SipContact } from '../../../services/analyzer/sip/index.ts';
import { readTorture, rfc4475Files } from './conformance.ts';

type Verdict =
  | { accept: readonly SipParseWarning[]; check: (m: SipMessage) => void }
  | { reject: SipParseReason; callId: string | undefined };

function sipUri(u: unknown): SipUri {
  assert.ok(u !== undefined && (u as SipUri).kind === 'sip', 'expected a sip/sips/tel URI');
  return u as SipUri;
}

function nameAddrContact(c: SipContact | undefined): Extract<SipContact, { wildcard: false }> {
  assert.ok(c !== undefined && !c.wildcard);
  return c;
}

const SDP_2_STREAMS = (m: SipMessage, c: string): void => {
  const sdp = m.sdp;
  assert.ok(sdp);
  assert.equal(sdp.connection?.address, c);
  assert.deepEqual(
    sdp.media.map((x) => [x.type, x.port, x.proto, x.payloads]),
    [
      ['audio', 49217, 'RTP/AVP', [0, 12]],
      ['video', 3227, 'RTP/AVP', [31]],
    ],
  );
  assert.deepEqual(sdp.media[1]?.rtpmap, [{ payload: 31, encoding: 'LPC', clockRate: undefined, channels: undefined }]);
};

const VERDICTS: Record<string, Verdict> = {
  // §3.1.1 valid messages
  'wsinv.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.kind, 'request');
      assert.equal(m.method, 'INVITE');
      assert.equal(m.requestUriRaw, 'sip:vivekg@chair-dnrc.example.com;unknownparam');
      assert.equal(sipUri(m.requestUri).params['unknownparam'], null);
      assert.equal(m.callId, 'wsinv.ndaksdj@192.0.2.1');
      assert.deepEqual(m.cseq, { seq: 9, method: 'INVITE' });
      assert.equal(m.to.user, 'vivekg');
      assert.equal(m.to.host, 'chair-dnrc.example.com');
      assert.equal(m.to.tag, '1918181833n');
      assert.equal(m.from.displayName, 'J Rosenberg \\"');
      assert.equal(m.from.user, 'jdrosen');
      assert.equal(m.from.tag, '98asjd8');
      assert.equal(m.maxForwards, 68);
      assert.equal(m.contentLength, 150);
      assert.equal(m.header('Subject'), '');
      assert.equal(m.header('NewFangledHeader'), 'newfangled value continued newfangled value');
      assert.equal(m.header('unknownheaderwithunusualvalue'), ';;,,;;,;');
      assert.equal(m.header('route'), '<sip:services.example.com;lr;unknownwith=value;unknown-no-value>');
      assert.deepEqual(
        m.via.map((v) => [v.protocol, v.transport, v.host, v.branch]),
        [
          ['SIP/2.0', 'UDP', '192.0.2.2', '390skdjuw'],
          ['SIP/2.0', 'TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
          ['SIP/2.0', 'UDP', '192.168.255.111', 'z9hG4bK30239'],
        ],
      );
      const c = nameAddrContact(m.contact[0]);
      assert.equal(c.displayName, 'Quoted string ""');
      assert.equal(c.user, 'jdrosen');
      assert.equal(c.params['newparam'], 'newvalue');
      assert.equal(c.params['secondparam'], null);
      assert.equal(c.q, 0.33);
      assert.deepEqual(m.headers.map((h) => h.name).slice(0, 3), ['To', 'From', 'Max-Forwards']);
      assert.equal(m.headers.find((h) => h.value.startsWith('SIP  / 2.0  / TCP'))?.name, 'Via');
      SDP_2_STREAMS(m, '192.0.2.4');
    },
  },
  'intmeth.dat': {
    accept: [],
    check: (m) => {
      const method = "!interesting-Method0123456789_*+`.%indeed'~";
      assert.equal(m.method, method);
      assert.deepEqual(m.cseq, { seq: 139122385, method });
      const ruri = sipUri(m.requestUri);
      assert.equal(ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      assert.equal(ruri.host, 'example.com');
      assert.equal(JSON.stringify(ruri).includes('weird'), false, 'password must be dropped');
      assert.equal(m.callId, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
      assert.equal(m.to.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
      assert.equal(m.to.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
      assert.equal(m.from.displayName, "token1~` token2'+_ token3*%!.-");
      assert.equal(m.from.user, 'mundane');
      assert.equal(m.from.tag, "_token~1'+`*%!-.");
      assert.equal(m.from.params["fromparam''~+*_!.-%"], 'работающий');
      assert.equal(m.topVia?.branch, "z9hG4bK-.!%66*_+`'~");
      assert.equal(m.header("extensionHeader-!.%*+_`'~"), '\ufeff大停電');
      assert.equal(m.maxForwards, 255);
    },
  },
  'esc01.dat': {
    accept: [],
    check: (m) => {
      const ruri = sipUri(m.requestUri);
      assert.equal(ruri.user, 'sips:user@example.com');
      assert.equal(ruri.host, 'example.net');
      assert.equal(m.to.user, 'user');
      assert.equal(m.from.user, 'I have spaces');
      assert.equal(m.callId, 'esc01.239409asdfakjkn23onasd0-3234');
      assert.equal(m.mediaType, 'application/sdp');
      const c = nameAddrContact(m.contact[0]);
      assert.equal(c.user, 'caller');
      const uri = sipUri(c.uri);
      assert.equal(uri.params['lr'], null);
      assert.equal(uri.params['name'], 'value%41');
      SDP_2_STREAMS(m, '192.0.2.1');
    },
  },
  'escnull.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.method, 'REGISTER');
      assert.equal(m.to.user, 'null-\x00-null');
      assert.equal(m.from.user, 'null-\x00-null');
      assert.deepEqual(
        m.contact.map((c) => (c.wildcard ? '*' : c.user)),
        ['\x00', '\x00\x00'],
      );
      assert.equal(m.contentLength, 0);
    },
  },
  'esc02.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.method, 'RE%47IST%45R');
      assert.deepEqual(m.cseq, { seq: 29344, method: 'RE%47IST%45R' });
      assert.equal(m.to.displayName, '%Z%45');
      assert.equal(m.from.displayName, '%Z%45');
      assert.equal(m.topVia?.branch, 'z9hG4bK209%fzsnel234');
      assert.equal(m.topVia?.transport, 'TCP');
      // `C%6Fntact` is an extension header, not Contact.
      assert.deepEqual(
        m.contact.map((c) => (c.wildcard ? '*' : c.host)),
        ['host1.example.com', 'host3.example.com'],
      );
      assert.equal(m.header('C%6Fntact'), '<sip:alias2@host2.example.com>');
    },
  },
  'lwsdisp.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.from.displayName, 'caller');
      assert.equal(m.from.user, 'caller');
      assert.equal(m.from.tag, '323');
      assert.equal(m.callId, 'lwsdisp.1234abcd@funky.example.com');
    },
  },
  'longreq.dat': {
    accept: [],
    check: (m) => {
      assert.match(m.to.displayName ?? '', /^I have a user name of (extreme){10} proportion$/);
      assert.equal(m.to.port, 6000);
      assert.equal(sipUri(m.to.uri).params['unknownparam1'], `very${'long'.repeat(20)}value`);
      assert.equal(m.from.user, 'amazinglylongcallername'.repeat(5));
      assert.match(m.from.tag ?? '', /^12982982.*2424$/);
      assert.equal(m.callId, `longreq.one${'really'.repeat(20)}longcallid`);
      assert.equal(m.via.length, 34);
      assert.deepEqual(
        m.via.slice(0, 3).map((v) => v.host),
        ['sip33.example.com', 'sip32.example.com', 'sip31.example.com'],
      );
      const last = m.via[33];
      assert.equal(last?.host, 'host.example.com');
      assert.equal(last?.received, '192.0.2.5');
      assert.match(last?.branch ?? '', /^very(long)+branchvalue$/);
      assert.equal(m.headerValues('v').length, 34);
      assert.equal(m.body.length, 150);
    },
  },
  'dblreq.dat': {
    accept: ['trailing_bytes'],
    check: (m) => {
      assert.equal(m.method, 'REGISTER');
      assert.equal(m.callId, 'dblreq.0ha0isndaksdj99sdfafnl3lk233412');
      assert.equal(m.body.length, 0);
      assert.equal(m.topVia?.branch, 'z9hG4bKkdjuw23492');
    },
  },
  'semiuri.dat': {
    accept: [],
    check: (m) => {
      const ruri = sipUri(m.requestUri);
      assert.equal(ruri.user, 'user;par=u@example.net');
      assert.equal(ruri.host, 'example.com');
      assert.equal(Object.keys(ruri.params).length, 0);
      assert.equal(
        m.header('accept'),
        'application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag',
      );
    },
  },
  'transports.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.callId, 'transports.kijh4akdnaqjkwendsasfdj');
      assert.deepEqual(
        m.via.map((v) => `${v.transport} ${v.host}`),
        ['UDP t1.example.com', 'SCTP t2.example.com', 'TLS t3.example.com', 'UNKNOWN t4.example.com', 'TCP t5.example.com'],
      );
    },
  },
  'mpart01.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.method, 'MESSAGE');
      assert.equal(m.callId, '3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..');
      assert.equal(m.mediaType, 'multipart/mixed');
      assert.equal(m.body.length, 553);
      assert.equal(m.sdp, undefined);
      assert.equal(m.topVia?.port, 5070);
      assert.equal(m.topVia?.rport, true);
      assert.equal(m.userAgent, 'SIPimp.org/0.2.5 (curses)');
    },
  },
  'unreason.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.kind, 'response');
      assert.equal(m.statusCode, 200);
      assert.equal(m.reasonPhrase, '= 2**3 * 5**2 но сто девяносто девять - простое');
      assert.equal(m.method, 'INVITE');
      assert.equal(m.to.tag, '2229');
      SDP_2_STREAMS(m, '192.0.2.198');
    },
  },
  'noreason.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.statusCode, 100);
      assert.equal(m.reasonPhrase, '');
      assert.equal(m.to.tag, '902jndnke3');
      assert.equal(m.callId, 'noreason.asndj203insdf99223ndf');
    },
  },

  // §3.1.2 invalid messages: accepted with a warning when nothing the analyzer keys on is in doubt.
  'badinv01.dat': {
    accept: ['malformed_via'],
    check: (m) => {
      assert.equal(m.callId, 'badinv01.0ha0isndaksdjasdf3234nas');
      assert.equal(m.topVia?.host, '192.0.2.15');
      assert.equal(m.topVia?.branch, undefined);
    },
  },
  'clerr.dat': { reject: 'content_length_mismatch', callId: 'clerr.0ha0isndaksdjweiafasdk3' },
  'ncl.dat': { reject: 'bad_content_length', callId: 'ncl.0ha0isndaksdj2193423r542w35' },
  'scalar02.dat': { reject: 'bad_cseq', callId: 'scalar02.23o0pd9vanlq3wnrlnewofjas9ui32' },
  'scalarlg.dat': { reject: 'bad_cseq', callId: 'scalarlg.noase0of0234hn2qofoaf0232aewf2394r' },
  'quotbal.dat': { reject: 'bad_to', callId: 'quotbal.aksdj' },
  'ltgtruri.dat': { reject: 'bad_request_uri', callId: 'ltgtruri.1@192.0.2.5' },
  'lwsruri.dat': { reject: 'bad_request_uri', callId: 'lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423' },
  'lwsstart.dat': {
    accept: ['lws_in_start_line'],
    check: (m) => {
      assert.equal(m.method, 'INVITE');
      assert.equal(m.requestUriRaw, 'sip:user@example.com');
      assert.equal(m.callId, 'lwsstart.dfknq234oi243099adsdfnawe3@example.com');
    },
  },
  'trws.dat': {
    accept: ['lws_in_start_line'],
    check: (m) => {
      assert.equal(m.version, 'SIP/2.0');
      assert.equal(m.requestUriRaw, 'sip:remote-target@example.com');
    },
  },
  'escruri.dat': {
    accept: ['request_uri_headers'],
    check: (m) => {
      assert.deepEqual({ ...sipUri(m.requestUri).headers }, { Route: '<sip:example.com>' });
      assert.equal(m.cseq.seq, 149209342);
    },
  },
  'baddate.dat': {
    accept: ['bad_date'],
    check: (m) => {
      assert.equal(m.header('date'), 'Fri, 01 Jan 2010 16:00:00 EST');
      assert.equal(m.callId, 'baddate.239423mnsadf3j23lj42--sedfnm234');
    },
  },
  'regbadct.dat': {
    accept: ['unbracketed_uri_with_headers'],
    check: (m) => {
      const c = nameAddrContact(m.contact[0]);
      assert.equal(c.user, 'user');
      assert.deepEqual({ ...sipUri(c.uri).headers }, { Route: '<sip:sip.example.com>' });
    },
  },
  'badaspec.dat': {
    accept: ['lws_in_addr_spec'],
    check: (m) => {
      assert.equal(m.to.displayName, 'Watson, Thomas');
      assert.equal(m.to.user, 't.watson');
      assert.equal(m.from.displayName, 'Bell, Alexander');
    },
  },
  'baddn.dat': {
    accept: ['unquoted_display_name'],
    check: (m) => {
      assert.equal(m.from.displayName, 'Bell, Alexander');
      assert.equal(m.from.tag, '43');
      assert.equal(m.to.displayName, 'Watson, Thomas');
    },
  },
  'badvers.dat': { reject: 'bad_version', callId: 'badvers.31417@c.example.com' },
  'mismatch01.dat': {
    accept: ['cseq_method_mismatch'],
    check: (m) => {
      assert.equal(m.method, 'OPTIONS');
      assert.deepEqual(m.cseq, { seq: 8, method: 'INVITE' });
    },
  },
  'mismatch02.dat': {
    accept: ['cseq_method_mismatch'],
    check: (m) => {
      assert.equal(m.method, 'NEWMETHOD');
      assert.equal(m.cseq.method, 'INVITE');
    },
  },
  'bigcode.dat': { reject: 'bad_status_code', callId: 'bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i' },

  // §3.2 – §3.4: odd but parseable. insuf is the exception: without a Call-ID nothing can be correlated.
  'badbranch.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.topVia?.branch, 'z9hG4bK');
      assert.equal(m.from.tag, '33242');
    },
  },
  'insuf.dat': { reject: 'missing_call_id', callId: undefined },
  'unkscm.dat': {
    accept: [],
    check: (m) => {
      assert.deepEqual(m.requestUri, { kind: 'other', scheme: 'nobodyknowsthisscheme', opaque: 'totallyopaquecontent' });
    },
  },
  'novelsc.dat': {
    accept: [],
    check: (m) => {
      assert.deepEqual(m.requestUri, { kind: 'other', scheme: 'soap.beep', opaque: '//192.0.2.103:3002' });
    },
  },
  'unksm2.dat': {
    accept: [],
    check: (m) => {
      assert.deepEqual(m.to.uri, { kind: 'other', scheme: 'isbn', opaque: '2983792873' });
      assert.deepEqual(m.from.uri, { kind: 'other', scheme: 'http', opaque: '//www.example.com' });
      assert.equal(m.from.tag, '3234233');
      assert.equal(m.from.user, undefined);
      const c = nameAddrContact(m.contact[0]);
      assert.deepEqual(c.uri, { kind: 'other', scheme: 'name', opaque: 'John_Smith' });
    },
  },
  'bext01.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.header('require'), 'nothingSupportsThis, nothingSupportsThisEither');
      assert.equal(m.topVia?.transport, 'TLS');
    },
  },
  'invut.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.mediaType, 'application/unknownformat');
      assert.equal(m.sdp, undefined);
      assert.equal(m.body.toString(), '<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
    },
  },
  'regaut01.dat': {
    accept: [],
    check: (m) => {
      assert.deepEqual(m.authorization, { scheme: 'NoOneKnowsThisScheme', username: undefined, user: undefined, realm: undefined });
      assert.equal(m.contentLength, 0);
    },
  },
  'multi01.dat': {
    accept: ['duplicate_header'],
    check: (m) => {
      // First occurrence wins; all values stay visible.
      assert.equal(m.callId, 'multi01.98asdh@192.0.2.1');
      assert.equal(m.cseq.seq, 5);
      assert.equal(m.from.tag, '3413415');
      assert.equal(m.to.host, 'example.com');
      assert.deepEqual(m.headerValues('call-id'), ['multi01.98asdh@192.0.2.1', 'multi01.98asdh@192.0.2.2']);
      assert.equal(m.contact.length, 2);
    },
  },
  'mcl01.dat': {
    accept: ['conflicting_content_length'],
    check: (m) => {
      assert.deepEqual(m.headerValues('Content-Length'), ['13', '5']);
      assert.equal(m.body.length, 67);
    },
  },
  'bcast.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.statusCode, 200);
      assert.deepEqual(
        m.via.map((v) => v.host),
        ['192.0.2.198', '255.255.255.255'],
      );
    },
  },
  'zeromf.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.maxForwards, 0);
    },
  },
  'cparam01.dat': {
    accept: [],
    check: (m) => {
      const c = nameAddrContact(m.contact[0]);
      assert.equal(c.user, '+19725552222');
      assert.equal(c.params['unknownparam'], null);
      assert.equal(sipUri(c.uri).params['unknownparam'], undefined);
    },
  },
  'cparam02.dat': {
    accept: [],
    check: (m) => {
      const c = nameAddrContact(m.contact[0]);
      assert.equal(sipUri(c.uri).params['unknownparam'], null);
      assert.equal(c.params['unknownparam'], undefined);
    },
  },
  'regescrt.dat': {
    accept: [],
    check: (m) => {
      const c = nameAddrContact(m.contact[0]);
      assert.deepEqual({ ...sipUri(c.uri).headers }, { Route: '<sip:sip.example.com>' });
    },
  },
  'sdp01.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.header('accept'), 'text/nobodyKnowsThis');
      SDP_2_STREAMS(m, '192.0.2.5');
    },
  },
  'inv2543.dat': {
    accept: [],
    check: (m) => {
      assert.equal(m.topVia?.branch, undefined);
      assert.equal(m.topVia?.port, undefined);
      assert.equal(m.from.tag, undefined);
      assert.equal(m.from.user, '+13035551111');
      // Without <> the `;user=phone` belongs to the header, not the URI (RFC 3261 §20.10).
      assert.equal(m.to.params['user'], 'phone');
      assert.equal(sipUri(m.from.uri).params['user'], 'phone');
      assert.equal(m.contentLength, undefined);
      assert.equal(m.body.length, 105);
      assert.deepEqual(m.sdp?.media.map((x) => x.payloads), [[0]]);
    },
  },

  // Not an RFC 4475 message but shipped with the corpus: no SIP version in the start line.
  'test.dat': { reject: 'bad_start_line', callId: 'test.0ha0isndaksdj@192.0.2.1' },
};

describe('RFC 4475 torture messages', () => {
  it('has a verdict for every file in the corpus', () => {
    const files = rfc4475Files();
    assert.ok(files.length >= 49, `only ${files.length} files found`);
    assert.deepEqual(files.filter((f) => VERDICTS[f] === undefined), []);
    assert.deepEqual(Object.keys(VERDICTS).filter((f) => !files.includes(f)), []);
  });

  for (const file of rfc4475Files()) {
    const verdict = VERDICTS[file];
    if (verdict === undefined) continue;
    if ('accept' in verdict) {
      it(`accepts ${file}${verdict.accept.length > 0 ? ` with ${verdict.accept.join(', ')}` : ''}`, () => {
        const r = parseSip(readTorture(file), { deep: true });
        assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`);
        assert.deepEqual([...r.warnings].sort(), [...verdict.accept].sort());
        verdict.check(r.message);
        // The lazy (default) parse accepts it too and agrees on the hot-path fields.
        const lazy = parseSip(readTorture(file));
        assert.ok(lazy.ok);
        assert.equal(lazy.message.callId, r.message.callId);
        assert.deepEqual(lazy.message.cseq, r.message.cseq);
        assert.equal(lazy.message.topVia?.branch, r.message.topVia?.branch);
      });
    } else {
      it(`rejects ${file} as ${verdict.reject}`, () => {
        const r = parseSip(readTorture(file));
        assert.equal(r.ok, false);
        if (r.ok) return;
        assert.equal(r.reason, verdict.reject);
        assert.equal(r.callId, verdict.callId);
        assert.ok(r.detail.length > 0);
      });
    }
  }
});

describe('RFC 4475 messages as strings', () => {
  it('parses a string input the same as its bytes', () => {
    const buf = readTorture('unreason.dat');
    const a = parseSip(buf);
    const b = parseSip(buf.toString('utf8'));
    assert.ok(a.ok && b.ok);
    assert.equal(a.message.reasonPhrase, b.message.reasonPhrase);
  });
});
