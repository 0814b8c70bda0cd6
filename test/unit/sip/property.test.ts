/** Property-based round trip: generated requests and responses, written the many ways the wire allows (compact
 * or long names in any case, folding, header order, IPv4/IPv6/domain hosts, UTF-8 display names, escaped users,
 * bodies), parse back to exactly the generated fields. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSip } from '../../../services/analyzer/sip/index.ts';
import type { SipUri } from '../../../services/analyzer/sip/index.ts';

const tokenChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~';
const token = (max = 16): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...tokenChars.split('')), minLength: 1, maxLength: max });

type HostKind = { text: string; host: string };
const host: fc.Arbitrary<HostKind> = fc.oneof(
  fc.ipV4().map((h) => ({ text: h, host: h })),
  fc.ipV6().map((h) => ({ text: `[${h}]`, host: h })),
  fc.domain().map((h) => ({ text: h, host: h })),
);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });

/** User parts: plain unreserved, or any UTF-8 text %-escaped. */
const user = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9_.!~*'()+-]{1,20}$/).map((u) => ({ text: u, user: u })),
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 10 })
    .map((u) => ({ text: encodeURIComponent(u), user: u })),
);

const displayName = fc.option(
  fc.oneof(
    // quoted: any printable UTF-8, quotes and backslashes escaped
    fc
      .string({ unit: 'grapheme', maxLength: 20 })
      .filter((s) => !/[\x00-\x1f\x7f]/.test(s))
      .map((d) => ({ text: `"${d.replace(/[\\"]/g, (c) => `\\${c}`)}"`, name: d })),
    // unquoted token words
    fc.array(token(8), { minLength: 1, maxLength: 3 }).map((w) => ({ text: w.join(' '), name: w.join(' ') })),
  ),
  { nil: undefined },
);

const nameAddr = fc.record({ display: displayName, user, host, port, tag: fc.option(token(), { nil: undefined }) });
type NA = { display: { text: string; name: string } | undefined; user: { text: string; user: string }; host: HostKind; port: number | undefined; tag: string | undefined };

function writeNameAddr(n: NA): string {
  const hp = `${n.host.text}${n.port === undefined ? '' : `:${n.port}`}`;
  const d = n.display === undefined ? '' : `${n.display.text} `;
  return `${d}<sip:${n.user.text}@${hp}>${n.tag === undefined ? '' : `;tag=${n.tag}`}`;
}

const via = fc.record({
  transport: fc.constantFrom('UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'),
  host,
  port,
  branch: token(20).map((b) => `z9hG4bK${b}`),
});
type V = { transport: string; host: HostKind; port: number | undefined; branch: string };
const writeVia = (v: V): string =>
  `SIP/2.0/${v.transport} ${v.host.text}${v.port === undefined ? '' : `:${v.port}`};branch=${v.branch}`;

const nameForms: Record<string, [string, string | undefined]> = {
  'Call-ID': ['Call-ID', 'i'],
  From: ['From', 'f'],
  To: ['To', 't'],
  Via: ['Via', 'v'],
  'Content-Length': ['Content-Length', 'l'],
  'Content-Type': ['Content-Type', 'c'],
  Contact: ['Contact', 'm'],
  CSeq: ['CSeq', undefined],
  'Max-Forwards': ['Max-Forwards', undefined],
};

const style = fc.record({
  compact: fc.boolean(),
  caseMode: fc.constantFrom('as-is', 'lower', 'upper', 'random'),
  fold: fc.boolean(),
  spaceBeforeColon: fc.boolean(),
  seed: fc.nat(),
});
type Style = { compact: boolean; caseMode: string; fold: boolean; spaceBeforeColon: boolean; seed: number };

function writeName(canon: string, st: Style): string {
  const forms = nameForms[canon];
  let n = forms !== undefined && st.compact && forms[1] !== undefined ? forms[1] : canon;
  if (st.caseMode === 'lower') n = n.toLowerCase();
  else if (st.caseMode === 'upper') n = n.toUpperCase();
  else if (st.caseMode === 'random') n = [...n].map((c, i) => ((st.seed >> i % 30) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
  return n;
}

function writeHeader(canon: string, value: string, st: Style): string {
  // Folding: move the value to a continuation line and break again before each parameter.
  // (Only after the last `>`: a quoted display name may hold a `;` of its own.)
  const gt = value.lastIndexOf('>') + 1;
  const folded = value.slice(0, gt) + value.slice(gt).replace(/;/g, '\r\n\t;');
  const v = st.fold ? `\r\n   ${folded}` : ` ${value}`;
  return `${writeName(canon, st)}${st.spaceBeforeColon ? ' ' : ''}:${v}`;
}

const methods = fc.oneof(fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'INFO', 'UPDATE', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE'), token(12));

const message = fc.record({
  response: fc.option(fc.record({ code: fc.integer({ min: 100, max: 699 }), reason: fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\x00-\x1f\x7f]/g, '').trim()) }), { nil: undefined }),
  method: methods,
  ruri: fc.record({ user, host, port }),
  callId: fc.tuple(token(30), fc.option(fc.domain(), { nil: undefined })).map(([a, b]) => (b === undefined ? a : `${a}@${b}`)),
  seq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  from: nameAddr,
  to: nameAddr,
  vias: fc.array(via, { minLength: 1, maxLength: 4 }),
  viaInOneHeader: fc.boolean(),
  body: fc.uint8Array({ maxLength: 300 }),
  styles: fc.array(style, { minLength: 12, maxLength: 12 }),
  order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
});

describe('property: generated messages round-trip', () => {
  it('requests and responses parse back to the generated fields', () => {
    fc.assert(
      fc.property(message, (g) => {
        const st = (i: number): Style => g.styles[i % g.styles.length] as Style;
        const fromNa: NA = { ...g.from, tag: g.from.tag ?? 'fromtag' };
        const headers: string[] = [
          writeHeader('Call-ID', g.callId, st(0)),
          writeHeader('CSeq', `${g.seq} ${g.method}`, st(1)),
          writeHeader('From', writeNameAddr(fromNa), st(2)),
          writeHeader('To', writeNameAddr(g.to), st(3)),
          writeHeader('Max-Forwards', '70', st(4)),
          writeHeader('Content-Length', String(g.body.length), st(5)),
        ];
        if (g.body.length > 0) headers.push(writeHeader('Content-Type', 'application/octet-stream', st(6)));
        // Via order matters; other headers may move around it freely.
        const viaLines = g.viaInOneHeader
          ? [writeHeader('Via', g.vias.map(writeVia).join(' , '), st(7))]
          : g.vias.map((v, i) => writeHeader('Via', writeVia(v), st(8 + i)));
        for (let i = headers.length - 1; i > 0; i--) {
          const j = (g.order[i] ?? 0) % (i + 1);
          [headers[i], headers[j]] = [headers[j] as string, headers[i] as string];
        }
        const insertAt = (g.order[0] ?? 0) % (headers.length + 1);
        headers.splice(insertAt, 0, ...viaLines);
        const ruriText = `sip:${g.ruri.user.text}@${g.ruri.host.text}${g.ruri.port === undefined ? '' : `:${g.ruri.port}`}`;
        const startLine = g.response === undefined ? `${g.method} ${ruriText} SIP/2.0` : `SIP/2.0 ${g.response.code} ${g.response.reason}`;
        const raw = Buffer.concat([Buffer.from(`${startLine}\r\n${headers.join('\r\n')}\r\n\r\n`, 'utf8'), Buffer.from(g.body)]);

        const r = parseSip(raw);
        assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}\n${raw.toString()}`);
        assert.deepEqual(r.warnings, []);
        const m = r.message;
        if (g.response === undefined) {
          assert.equal(m.kind, 'request');
          assert.equal(m.method, g.method);
          const ruri = m.requestUri as SipUri;
          assert.equal(ruri.user, g.ruri.user.user);
          assert.equal(ruri.host, g.ruri.host.host);
          assert.equal(ruri.port, g.ruri.port);
        } else {
          assert.equal(m.kind, 'response');
          assert.equal(m.statusCode, g.response.code);
          assert.equal(m.reasonPhrase, g.response.reason);
          assert.equal(m.method, g.method);
        }
        assert.equal(m.callId, g.callId);
        assert.deepEqual(m.cseq, { seq: g.seq, method: g.method });
        for (const [got, want] of [
          [m.from, fromNa],
          [m.to, g.to],
        ] as const) {
          assert.equal(got.displayName, want.display?.name);
          assert.equal(got.user, want.user.user);
          assert.equal(got.host, want.host.host);
          assert.equal(got.port, want.port);
          assert.equal(got.tag, want.tag);
        }
        assert.deepEqual(
          m.via.map((v) => [v.transport, v.host, v.port, v.branch]),
          g.vias.map((v) => [v.transport, v.host.host, v.port, v.branch]),
        );
        assert.equal(m.topVia?.branch, g.vias[0]?.branch);
        assert.equal(m.maxForwards, 70);
        assert.equal(m.contentLength, g.body.length);
        assert.deepEqual([...m.body], [...g.body]);
        assert.equal(m.headers.length, headers.length);
      }),
      { numRuns: 1500 },
    );
  });
});
