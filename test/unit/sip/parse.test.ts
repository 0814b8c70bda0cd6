/** Targeted checks of features and failure codes that the corpora do not pin down on their own. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseNameAddr, parseSdp, parseSip, parseSipUri, effectiveDirection } from '../../../services/analyzer/sip/index.ts';
import type { SipParseReason, SipUri } from '../../../services/analyzer/sip/index.ts';

const CORE = [
  'Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKabc;rport=5062;received=2001:db8::9',
  'From: "Ünïcödé, \\"Jr\\"" <sip:alice@[2001:db8::2]:5070;transport=tcp>;tag=a1',
  'To: <tel:+15551234;phone-context=example.com>',
  'Call-ID: c1@host',
  'CSeq: 7 INVITE',
];

function msg(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

describe('parseSip features', () => {
  it('IPv6 in Via and URIs, UTF-8 quoted display names with escapes, tel URIs', () => {
    const r = parseSip(msg(['INVITE sip:bob@[2001:db8::3]:5080 SIP/2.0', ...CORE, 'l: 0']));
    assert.ok(r.ok);
    const m = r.message;
    assert.deepEqual([m.topVia?.host, m.topVia?.port, m.topVia?.rport, m.topVia?.received], ['2001:db8::1', 5060, 5062, '2001:db8::9']);
    assert.equal(m.from.displayName, 'Ünïcödé, "Jr"');
    assert.deepEqual([m.from.host, m.from.port, m.from.tag], ['2001:db8::2', 5070, 'a1']);
    assert.equal((m.from.uri as SipUri).params['transport'], 'tcp');
    assert.equal(m.to.user, '+15551234');
    assert.equal((m.to.uri as SipUri).scheme, 'tel');
    assert.deepEqual([(m.requestUri as SipUri).host, (m.requestUri as SipUri).port], ['2001:db8::3', 5080]);
  });

  it('every compact form maps to its long name', () => {
    const compact: Record<string, string> = {
      a: 'Accept-Contact', b: 'Referred-By', c: 'Content-Type', e: 'Content-Encoding', f: 'From', i: 'Call-ID',
      k: 'Supported', l: 'Content-Length', m: 'Contact', o: 'Event', r: 'Refer-To', s: 'Subject', t: 'To',
      u: 'Allow-Events', v: 'Via', x: 'Session-Expires', y: 'Identity',
    };
    const lines = ['OPTIONS sip:a@b SIP/2.0', 'CSeq: 1 OPTIONS'];
    const values: Record<string, string> = { f: '<sip:x@y>;tag=1', t: '<sip:z@y>', v: 'SIP/2.0/UDP h;branch=z9hG4bK1', i: 'cid', l: '0', m: '<sip:c@d>' };
    for (const [k, long] of Object.entries(compact)) lines.push(`${k.toUpperCase()}: ${values[k] ?? long.toLowerCase()}`);
    const r = parseSip(msg(lines));
    assert.ok(r.ok, r.ok ? '' : r.detail);
    for (const [k, long] of Object.entries(compact)) {
      assert.ok(r.message.headers.some((h) => h.name === long), long);
      assert.equal(r.message.header(k), r.message.header(long));
    }
    assert.equal(r.message.header('SUBJECT'), 'subject');
  });

  it('correlation helpers and credentials without secrets', () => {
    const r = parseSip(
      msg([
        'REGISTER sip:example.com SIP/2.0', ...CORE.slice(0, 4), 'CSeq: 2 REGISTER',
        'X-CID: a-leg-1', 'P-Charging-Vector: icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=";orig-ioi=home1.net',
        'X-BroadWorks-Correlation-Info: 2a5f7e42-1d1a-4a4b-8d4f-1b1d9a1c3d3e',
        'Authorization: Digest username="alice@example.com", realm="example.com", nonce="n0nce", response="deadbeef", uri="sip:example.com"',
        'Contact: *;expires=0', 'Expires: 0', 'User-Agent: Phone/1.0', 'Content-Length: 0',
      ]),
    );
    assert.ok(r.ok);
    const m = r.message;
    assert.equal(m.xCid, 'a-leg-1');
    assert.equal(m.icid, 'AyretyU0dm+6O2IrT5tAFrbHLso=');
    assert.equal(m.broadworksCorrelation, '2a5f7e42-1d1a-4a4b-8d4f-1b1d9a1c3d3e');
    assert.deepEqual(m.authorization, { scheme: 'Digest', username: 'alice@example.com', user: 'alice', realm: 'example.com' });
    assert.deepEqual(m.contact, [{ wildcard: true, expires: 0 }]);
    assert.equal(m.expires, 0);
    assert.equal(m.userAgent, 'Phone/1.0');
  });

  it('bare LF line ends are accepted with a warning; leading CRLFs are ignored', () => {
    const r = parseSip(`\r\n\r\n${msg(['OPTIONS sip:a@b SIP/2.0', ...CORE, 'l: 0']).replace(/\r\n/g, '\n')}`);
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, ['bare_lf', 'cseq_method_mismatch']);
  });

  it('body is cut at Content-Length; trailing CRLFs are not worth a warning', () => {
    const r = parseSip(msg(['MESSAGE sip:a@b SIP/2.0', ...CORE.slice(0, 4), 'CSeq: 1 MESSAGE', 'l: 5'], 'hello\r\n\r\n'));
    assert.ok(r.ok);
    assert.equal(r.message.body.toString(), 'hello');
    assert.deepEqual(r.warnings, []);
  });

  const failures: [string, string | Buffer, SipParseReason][] = [
    ['empty input', '', 'empty'],
    ['keep-alive', '\r\n\r\n', 'empty'],
    ['oversize', 'x'.repeat(70000), 'too_large'],
    ['binary', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 'binary_junk'],
    ['no version', msg(['INVITE sip:a@b', ...CORE]), 'bad_start_line'],
    ['bad method', msg(['INV(ITE sip:a@b SIP/2.0', ...CORE]), 'bad_method'],
    ['status 2 digits', msg(['SIP/2.0 20 OK', ...CORE]), 'bad_status_code'],
    ['status out of range', msg(['SIP/2.0 999 Huh', ...CORE]), 'bad_status_code'],
    ['SIP/3.0', msg(['SIP/3.0 200 OK', ...CORE]), 'bad_version'],
    ['no colon', msg(['INVITE sip:a@b SIP/2.0', ...CORE, 'Garbage line']), 'header_without_colon'],
    ['bad name', msg(['INVITE sip:a@b SIP/2.0', ...CORE, 'Bad Name: x']), 'bad_header_name'],
    ['no cseq', msg(['INVITE sip:a@b SIP/2.0', ...CORE.slice(0, 4)]), 'missing_cseq'],
    ['no from', msg(['INVITE sip:a@b SIP/2.0', CORE[0] ?? '', ...CORE.slice(2)]), 'missing_from'],
    ['no to', msg(['INVITE sip:a@b SIP/2.0', ...CORE.slice(0, 2), ...CORE.slice(3)]), 'missing_to'],
    ['bad from', msg(['INVITE sip:a@b SIP/2.0', 'From: <sip:a@b', ...CORE.slice(2), CORE[0] ?? '']), 'bad_from'],
    ['bad via', msg(['INVITE sip:a@b SIP/2.0', 'Via: nonsense', ...CORE.slice(1)]), 'bad_via'],
  ];
  for (const [name, input, reason] of failures) {
    it(`fails with ${reason}: ${name}`, () => {
      const r = parseSip(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.reason, reason, r.detail);
    });
  }
});

describe('parseSipUri / parseNameAddr', () => {
  it('drops passwords, decodes user and params, keeps other schemes opaque', () => {
    const u = parseSipUri('sips:al%69ce:secret@example.com:5061;Transport=TLS;lr?Subject=hi%20there');
    assert.deepEqual(JSON.parse(JSON.stringify(u)), {
      kind: 'sip', scheme: 'sips', user: 'alice', host: 'example.com', port: 5061,
      params: { transport: 'TLS', lr: null }, headers: { Subject: 'hi there' },
    });
    assert.deepEqual(parseSipUri('urn:service:sos'), { kind: 'other', scheme: 'urn', opaque: 'service:sos' });
    assert.equal(parseSipUri('sip:a@b:99999'), null);
    assert.equal(parseSipUri('no-scheme'), null);
  });

  it('name-addr forms', () => {
    assert.equal(parseNameAddr('"a, b \\"c\\"" <sip:x@y>;tag=1')?.displayName, 'a, b "c"');
    assert.equal(parseNameAddr('sip:x@y;tag=2')?.tag, '2');
    assert.equal(parseNameAddr('Bob <sip:x@y> ; tag = 3')?.tag, '3');
    assert.equal(parseNameAddr('"unterminated <sip:x@y>'), null);
    assert.equal(parseNameAddr('<sip:x@y'), null);
  });
});

describe('parseSdp', () => {
  it('media, connection, rtpmap and direction', () => {
    const sdp = parseSdp(
      ['v=0', 'o=- 1 2 IN IP6 2001:db8::5', 's=call', 'c=IN IP6 2001:db8::5', 't=0 0', 'a=sendonly',
        'm=audio 4000 RTP/AVP 0 8 101', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20',
        'm=video 0 RTP/AVP 96', 'c=IN IP4 224.2.1.1/127', 'a=rtpmap:96 H264/90000', 'a=inactive',
        'm=bogus', 'a=rtpmap:1 NOPE/1', ''].join('\r\n'),
    );
    assert.ok(sdp);
    assert.equal(sdp.connection?.address, '2001:db8::5');
    assert.equal(sdp.media.length, 2);
    const [audio, video] = sdp.media;
    assert.ok(audio && video);
    assert.deepEqual(audio.payloads, [0, 8, 101]);
    assert.deepEqual(audio.rtpmap.map((x) => x.encoding), ['PCMA', 'telephone-event']);
    assert.equal(audio.ptime, 20);
    assert.equal(effectiveDirection(sdp, audio), 'sendonly');
    assert.equal(effectiveDirection(sdp, video), 'inactive');
    assert.equal(video.connection?.address, '224.2.1.1');
    assert.equal(video.rtpmap.length, 1);
    assert.equal(parseSdp('hello'), undefined);
  });
});

describe('SIP URIs from real captures', () => it('an IPv6 host written without brackets (real UAs do): eight groups are the address, a ninth the port', () => {
  const a = parseSipUri('sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0;transport=udp');
  assert.deepEqual(a?.kind === 'sip' ? [a.user, a.host, a.port, a.params['transport']] : null, ['9876', 'fe80:0:0:0:21a:a0ff:fe07:32e0', undefined, 'udp']);
  const b = parseSipUri('sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060');
  assert.deepEqual(b?.kind === 'sip' ? [b.host, b.port] : null, ['fec0:0:0:0:216:d3ff:fe0d:22c', 5060]);
  // With `::` a port cannot be told apart: not guessed.
  assert.equal(parseSipUri('sip:a@2001:db8::1:5060'), null);
}));
