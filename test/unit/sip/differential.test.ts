/** The allocation-lean parser against the reference copy of the parser it replaced (`reference/`): for conformance
 * messages, every prefix of them, byte mutations, SIP-ish fragments and the analyzer's generated traffic, both give
 * the same result field for field: failure code, detail and Call-ID, warnings in order, every eager field, every
 * lazy accessor, every header by name, and the deep-mode warnings. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSip } from '../../../services/analyzer/sip/index.ts';
import type { ParseResult, SipMessage } from '../../../services/analyzer/sip/index.ts';
import { parseSip as referenceParse } from './reference/index.ts';
import type { ParseResult as RefResult, SipMessage as RefMessage } from './reference/index.ts';
import { callFlowFiles, readCallFlow, readTorture, rfc4475Files } from './conformance.ts';
import { callScenario, optionsScenario, registerScenario } from '../../support/sip-scenarios.ts';
import { leg, registerText, sipText } from '../correlation/build.ts';

/** The getters an object's class chain defines (not Object's): the lazy fields of the parsed values (URI params and
 * headers, name-addr / Via / Contact params), which `Object.keys` does not list. */
function classGetters(v: object): string[] {
  const out: string[] = [];
  for (let p = Object.getPrototypeOf(v) as object | null; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) if (d.get !== undefined && !out.includes(k)) out.push(k);
  }
  return out;
}

/** Plain, prototype-free copy: own enumerable fields and every getter of the object's class (so a lazy field is
 * built and compared like a data property), Buffers as hex, arrays element-wise. */
function plain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Buffer.isBuffer(v)) return `buffer:${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  const out: Record<string, unknown> = {};
  for (const k of [...Object.keys(v), ...classGetters(v)]) out[k] = plain((v as Record<string, unknown>)[k]);
  return out;
}

/** The parsed values as JSON: a lazy value's `toJSON` must give the plain object's text, key order included. */
function json(m: SipMessage | RefMessage): string {
  return JSON.stringify([m.requestUri, m.from, m.to, m.topVia, m.via, m.contact]);
}

function fields(m: SipMessage | RefMessage): unknown {
  const names = [...new Set(m.headers.map((h) => h.name))];
  return plain({
    kind: m.kind, method: m.method, version: m.version, requestUriRaw: m.requestUriRaw, requestUri: m.requestUri,
    statusCode: m.statusCode, reasonPhrase: m.reasonPhrase, callId: m.callId, cseq: m.cseq, from: m.from, to: m.to,
    topVia: m.topVia, via: m.via, contact: m.contact, maxForwards: m.maxForwards, expires: m.expires,
    userAgent: m.userAgent, server: m.server, contentType: m.contentType, mediaType: m.mediaType,
    contentLength: m.contentLength, authorization: m.authorization, proxyAuthorization: m.proxyAuthorization,
    xCid: m.xCid, icid: m.icid, broadworksCorrelation: m.broadworksCorrelation, body: m.body, sdp: m.sdp,
    headers: m.headers,
    byName: names.map((n) => [n, m.header(n), m.header(n.toUpperCase()), m.headerValues(n.toLowerCase())]),
    absent: [m.header('x-not-there'), m.headerValues('x-not-there')],
  });
}

function view(r: ParseResult | RefResult): unknown {
  if (!r.ok) return { ok: false, reason: r.reason, detail: r.detail, callId: r.callId, hasCallId: 'callId' in r };
  return { ok: true, warnings: [...r.warnings], message: fields(r.message) };
}

/** Parses with both, lazily and deep; also reads the lazy fields in a second order (hot-path fields first). */
function same(input: Buffer | string): void {
  for (const deep of [false, true]) {
    const a = parseSip(input, { deep });
    const b = referenceParse(input, { deep });
    assert.deepStrictEqual(view(a), view(b), `deep=${deep} input=${JSON.stringify(String(input).slice(0, 200))}`);
    if (a.ok && b.ok) assert.equal(json(a.message), json(b.message));
  }
  const a = parseSip(input);
  const b = referenceParse(input);
  if (a.ok && b.ok) {
    assert.equal(a.message.via.length, b.message.via.length);
    assert.deepStrictEqual(plain(a.message.contact), plain(b.message.contact));
    assert.deepStrictEqual(fields(a.message), fields(b.message));
  }
}

const corpus: Buffer[] = [
  ...rfc4475Files().map((f) => readTorture(f)),
  ...callFlowFiles().flatMap((f) => readCallFlow(f).map((t) => Buffer.from(t, 'utf8'))),
];

function generatedTraffic(): Buffer[] {
  const alice = { user: '1001', domain: 'pbx.example.com' };
  const bob = { user: '+4930123456', domain: 'sbc.example.net' };
  const t0 = 1_700_000_000_000_000;
  const scenarios = [
    ...(['answered', 'busy', 'cancelled', 'no_answer'] as const).map((k) => callScenario(k, `diff-${k}-0123456789`, t0, alice, bob)),
    registerScenario('diff-reg-0123456789', t0, alice),
    registerScenario('diff-regbad-0123456789', t0, alice, true),
    optionsScenario('diff-opt-0123456789', t0, alice),
  ];
  const out = scenarios.flatMap((s) => s.packets.map((p) => Buffer.from(p.text, 'utf8')));
  const l = leg(7);
  const specs: Array<Parameters<typeof sipText>[1]> = [
    { method: 'INVITE', cseq: 1, branch: 'a' }, { method: 'INVITE', cseq: 1, code: 100, branch: 'a' },
    { method: 'INVITE', cseq: 1, code: 180, toTag: true, branch: 'a' }, { method: 'INVITE', cseq: 1, code: 200, toTag: true, branch: 'a' },
    { method: 'ACK', cseq: 1, toTag: true, branch: 'b' }, { method: 'BYE', cseq: 2, toTag: true, fromCallee: true, branch: 'c' },
    { method: 'INVITE', cseq: 1, code: 407, toTag: true, branch: 'a', extra: ['Via: SIP/2.0/TCP [2001:db8::5]:5061;branch=z9hG4bKx;received=2001:db8::9', 'X-CID: a-leg@x'] },
  ];
  for (const spec of specs) out.push(Buffer.from(sipText(l, spec), 'utf8'));
  for (const code of [undefined, 401, 200, 403]) {
    out.push(Buffer.from(registerText({ callId: 'r1', user: '1001', contactHost: '10.1.2.3', cseq: 2, branch: 'b1', code, expires: 300, auth: '1001' }), 'utf8'));
  }
  return out;
}

describe('differential: lean parser = reference parser', () => {
  it(`every conformance message (${corpus.length}) and every prefix of it`, () => {
    for (const msg of corpus) {
      same(msg);
      for (let cut = 0; cut < msg.length; cut += 1 + (cut % 5)) same(msg.subarray(0, cut));
    }
  });

  it('generated call, registration and OPTIONS traffic', () => {
    const msgs = generatedTraffic();
    assert.ok(msgs.length > 30);
    for (const m of msgs) same(m);
  });

  it('byte mutations of conformance and generated messages', () => {
    const all = [...corpus, ...generatedTraffic()];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 6 }),
        (idx, edits) => {
          let b = Buffer.from(all[idx] as Buffer);
          for (const [pos, byte, op] of edits) {
            const p = b.length === 0 ? 0 : pos % b.length;
            if (op === 'set' && b.length > 0) b[p] = byte;
            else if (op === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)]);
            else b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
          }
          same(b);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('From, To, Via, Contact, Request-URI and credentials built from parameter fragments', () => {
    // A valid message whose structured values are random runs of parameter syntax: what the parameter scan picks
    // out (tag, branch, received, rport, expires, q) and the dictionaries built later must match the reference.
    const piece = fc.constantFrom(
      ';', ';tag=a1', ';TAG=b2', ';Tag', ';tag="q\\"x"', ';branch=z9hG4bK1', ';BRANCH', ';branch=', ';received=10.0.0.1',
      ';received', ';rport', ';rport=5060', ';rport=99999', ';rport=0x1', ';expires=60', ';Expires=99999999999',
      ';expires="7"', ';q=0.5', ';q=1.000', ';q=2', ';q', ';lr', ';x=', ';=v', ';;', ' ; tag = c3 ', ';tAg=d4;tag=e5',
      ';p="a,b;c"', ';p="unterminated', ';\u00e9=1', ';ta\u00e9=1', ';transport=TCP', ';user=phone', '?h=1', '?a=%41&b',
      '%41', ',', ' ', '\t', '"', '<', '>', 'username="u@d"', 'realm=r', ', realm="x,y"', ', USERNAME = bob ',
    );
    const run = fc.array(piece, { maxLength: 8 }).map((xs) => xs.join(''));
    fc.assert(
      fc.property(run, run, run, run, run, run, run, (fromP, toP, viaP, via2P, contactP, ruriP, authP) => {
        const text = [
          `INVITE sip:bob@example.com${ruriP} SIP/2.0`,
          `Via: SIP/2.0/UDP 10.0.0.1:5060${viaP}`,
          `Via: SIP/2.0/tcp [2001:db8::1]${via2P}, SIP/2.0/UDP h${viaP}`,
          `From: "A" <sip:alice@example.com${ruriP}>${fromP}`,
          `To: sip:bob@example.com${toP}`,
          'Call-ID: frag@x',
          'CSeq: 1 INVITE',
          `Contact: <sip:alice@10.0.0.1${ruriP}>${contactP}, *${contactP}, sip:c@d${contactP}`,
          `Authorization: Digest ${authP}`,
          `Proxy-Authorization: Digest username="p"${authP}`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        same(text);
        same(Buffer.from(text, 'latin1'));
      }),
      { numRuns: 2000 },
    );
  });

  it('SIP-ish fragments, as text and as latin1 bytes', () => {
    const frag = fc.constantFrom(
      'INVITE ', 'REGISTER ', 'ACK ', 'SIP/2.0', 'sip/2.0', ' 200 OK', ' 180 Ringing', '\r\n', '\n', ':', ';', ',', '"',
      '\\', '<', '>', '@', 'sip:', 'SIPS:', 'tel:', 'urn:x', '[', ']', '[2001:db8::1]', 'Via: ', 'v: SIP/2.0/UDP ',
      'VIA: sip / 2.0 / tcp h', 'f: ', 't: ', 'i: ', 'Call-Id: ', 'CSeq: 1 INVITE', 'cseq: 2 REGISTER', 'l: ', 'm: *',
      'Contact: <sip:a@b>;expires=60;q=0.5', ';tag=', ';branch=', ';rport', ';received=1.2.3.4', ';lr', '?Subject=x',
      '%', '%0', '%41', '%zz', ' ', '\t', '\r\n ', '\r\n\r\n', 'Content-Length: 5', 'Content-Type: application/sdp',
      'v=0\r\n', 'm=audio 1 RTP/AVP 0\r\n', 'a=rtpmap:', 'Authorization: Digest username="u@d", realm="r"',
      'P-Charging-Vector: icid-value=abc', 'X-CID: x', 'Max-Forwards: 70', 'Expires: 99999999999', 'Ünï', '\u00e9',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(frag, fc.string({ maxLength: 6 })), { maxLength: 50 }), fc.boolean(), (parts, bytes) => {
        const text = parts.join('');
        same(bytes ? Buffer.from(text, 'latin1') : text);
      }),
      { numRuns: 3000 },
    );
  });
});
