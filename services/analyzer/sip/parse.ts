/**
 * SIP message framing and the eager part of parsing: one message in (a HEP payload, a UDP datagram, a TCP frame),
 * one ParseResult out. Never throws.
 *
 * What fails and what only warns. A capture pipeline does not answer 400 like a UA would; it has to store what it
 * saw. So a defect only fails the message when a field the analyzer keys on would be missing or guessed:
 *   - failures: no start line or one we cannot read (bad method/URI/version/status), a header line without a colon
 *     or with a non-token name, a missing or unreadable Call-ID, CSeq (incl. a number ≥ 2^31), From or To, an
 *     unreadable top Via,
 *     a non-numeric Content-Length, a body shorter than Content-Length (truncated datagram), binary junk, oversize.
 *   - warnings (accepted, flagged): extra SP in the start line, headers in the Request-URI, bare LF line ends, no
 *     blank line after the headers, bytes after the declared body, conflicting Content-Length values, repeated
 *     single-value headers (first one wins), CSeq method ≠ request method, LWS inside `<...>`, unquoted display
 *     names with non-token characters, malformed top Via elements, no Via at all (RFC 5626's abbreviated
 *     examples; some capture points strip it) — transactions then match on Call-ID + CSeq; with `deep: true` also malformed Contact/Via
 *     elements elsewhere, an addr-spec with `?headers` outside `<>`, bad Max-Forwards/Expires/Date, a Request-URI
 *     whose sip: syntax cannot be read.
 * This matches what Kamailio and HOMER accept in practice: they are lenient on whitespace and repetition, strict
 * on the fields that identify a transaction.
 */
import { isAscii } from 'node:buffer';
import type { NameAddr, ParseOptions, ParseResult, SipCSeq, SipMessage, SipParseReason, SipParseWarning, SipVia } from './message.ts';
// When tsx loads these modules as CommonJS (it can, depending on the entry script), every use of an imported name is then a getter call on the exporting module's
// exports object, which V8 does not inline here (measured ~3 µs per message across the parser in the analyzer's
// profile). Hot imports are bound once, at load.
import * as headers from './headers.ts';
import * as sipMessage from './sip-message.ts';
import * as uri from './uri.ts';
import type { WarnSink } from './uri.ts';

const { knownHeaderAt, methodAt, nameHashStep, parseCSeq, parseViaValue } = headers;
const { ParsedSipMessage, latin1Utf8, valueAt } = sipMessage;
const { isToken, isTokenChar, isWsp, knownScheme, parseNameAddr, schemeLength, trimLws } = uri;

const DEFAULT_MAX_BYTES = 65535;
const SIP_2_0 = /^SIP\/2\.0$/i;
const SIP_ANY_VERSION = /^SIP\/\d+\.\d+$/i;

type Failure = Extract<ParseResult, { ok: false }>;

function fail(reason: SipParseReason, detail: string, callId?: string): Failure {
  return callId === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, callId };
}

const utf8 = latin1Utf8;

/** The value of 1 to 15 decimal digits (what `/^\d{1,15}$/` accepts), -1 for anything else. */
function digits(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let x = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    x = x * 10 + (c - 48);
  }
  return x;
}

function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Scratch for the header lines of the message being parsed (see parseUnsafe); written by index, never shrunk. */
const KEYS: string[] = [];
const SPANS: number[] = [];
const VALUES: Array<string | undefined> = [];

/** What the last successful `parseStartLine` read: one module-level record instead of an object per message
 * (parseSip is synchronous and never re-entered). */
const startRead: {
  kind: 'request' | 'response'; method: string; requestUriRaw: string | undefined; statusCode: number | undefined;
  reasonPhrase: string | undefined;
} = { kind: 'request', method: '', requestUriRaw: undefined, statusCode: undefined, reasonPhrase: undefined };

function started(kind: 'request' | 'response', method: string, requestUriRaw: string | undefined,
  statusCode: number | undefined, reasonPhrase: string | undefined): undefined {
  startRead.kind = kind;
  startRead.method = method;
  startRead.requestUriRaw = requestUriRaw;
  startRead.statusCode = statusCode;
  startRead.reasonPhrase = reasonPhrase;
  return undefined;
}

/** Whether `s[from, s.length)` is `SIP/2.0` exactly: the common spelling, checked without a slice. */
function isSip20At(s: string, from: number, end: number): boolean {
  return end - from === 7 && s.startsWith('SIP/2.0', from);
}

/** The warnings of the message being parsed. parseSip is synchronous and never re-entered, so one module-level
 * sink replaces a closure per message. */
let pending: SipParseWarning[] = [];
const warn: WarnSink = (w) => {
  if (!pending.includes(w)) pending.push(w);
};

function isSipSlash(line: string): boolean {
  return line.length >= 4 && (line.charCodeAt(0) | 0x20) === 115 && (line.charCodeAt(1) | 0x20) === 105 &&
    (line.charCodeAt(2) | 0x20) === 112 && line.charCodeAt(3) === 47;
}

function isSip20(version: string): boolean {
  return version === 'SIP/2.0' || SIP_2_0.test(version);
}

/** Reads the start line into `startRead`; a Failure when it cannot be read. */
function parseStartLine(line: string, ascii: boolean): Failure | undefined {
  if (isSipSlash(line)) {
    const sp = line.indexOf(' ');
    const version = sp === 7 && line.startsWith('SIP/2.0') ? 'SIP/2.0' : sp === -1 ? line : line.slice(0, sp);
    if (!isSip20(version)) {
      return SIP_ANY_VERSION.test(version)
        ? fail('bad_version', `unsupported version ${clip(version)}`)
        : fail('bad_start_line', `unreadable status line ${clip(line)}`);
    }
    if (sp === -1) return fail('bad_status_code', 'status line without a status code');
    let i = sp + 1;
    if (isWsp(line.charCodeAt(i))) {
      warn('lws_in_start_line');
      while (isWsp(line.charCodeAt(i))) i++;
    }
    const start = i;
    let statusCode = 0;
    while (i < line.length && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) {
      statusCode = statusCode * 10 + line.charCodeAt(i) - 48;
      i++;
    }
    if (i - start !== 3 || (i < line.length && !isWsp(line.charCodeAt(i)))) {
      return fail('bad_status_code', `status code ${clip(line.slice(start).split(' ')[0] ?? '')}`);
    }
    if (statusCode < 100 || statusCode > 699) return fail('bad_status_code', `status code ${line.slice(start, i)} out of range`);
    const reason = trimLws(line.slice(i));
    return started('response', '', undefined, statusCode, ascii ? reason : utf8(reason));
  }

  let l = line;
  const trimmed = trimLws(l);
  if (trimmed.length !== l.length) {
    if (isWsp(l.charCodeAt(0))) return fail('bad_start_line', 'start line begins with whitespace');
    warn('lws_in_start_line');
    l = trimmed;
  }
  const sp1 = l.indexOf(' ');
  const spLast = l.lastIndexOf(' ');
  if (sp1 === -1 || sp1 === spLast) return fail('bad_start_line', `expected "METHOD URI SIP/2.0", got ${clip(l)}`);
  const method = methodAt(l, 0, sp1);
  if (!isToken(method)) return fail('bad_method', `method ${clip(method)} is not a token`);
  if (!isSip20At(l, spLast + 1, l.length)) {
    const version = l.slice(spLast + 1);
    if (!isSip20(version)) {
      return SIP_ANY_VERSION.test(version)
        ? fail('bad_version', `unsupported version ${clip(version)}`)
        : fail('bad_start_line', `no SIP version at the end of ${clip(l)}`);
    }
  }
  const uriPart = l.slice(sp1 + 1, spLast);
  const uri = trimLws(uriPart);
  if (uri.length !== uriPart.length) warn('lws_in_start_line');
  if (uri.length === 0) return fail('bad_request_uri', 'empty Request-URI');
  for (let k = 0; k < uri.length; k++) {
    const c = uri.charCodeAt(k);
    if (c <= 32 || c >= 127) return fail('bad_request_uri', `Request-URI contains whitespace or non-ASCII: ${clip(uri)}`);
  }
  const sl = schemeLength(uri);
  if (sl === -1) return fail('bad_request_uri', `Request-URI without a scheme: ${clip(uri)}`);
  // The URI is ASCII here, so knownScheme's case folding is toLowerCase's.
  const scheme = knownScheme(uri, sl);
  if ((scheme === 'sip' || scheme === 'sips') && uri.indexOf('?') !== -1) {
    // `?` is legal inside a user part (RFC 4475 intmeth), so only count it when it follows the host.
    const at = uri.lastIndexOf('@');
    if (uri.indexOf('?', at === -1 ? 0 : at) !== -1) warn('request_uri_headers');
  }
  return started('request', method, uri, undefined, undefined);
}

export function parseSip(raw: Buffer | string, options: ParseOptions = {}): ParseResult {
  try {
    return parseUnsafe(raw, options);
  } catch (err) {
    // A bug here must cost one message, never the stream.
    return fail('internal_error', clip(err instanceof Error ? err.message : String(err), 200));
  }
}

function parseUnsafe(raw: Buffer | string, options: ParseOptions): ParseResult {
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (buf.length > maxBytes) return fail('too_large', `${buf.length} bytes, limit ${maxBytes}`);
  const s = buf.toString('latin1');
  const n = s.length;

  // RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives on stream transports).
  let pos = 0;
  while (pos < n && (s.charCodeAt(pos) === 13 || s.charCodeAt(pos) === 10)) pos++;
  if (pos >= n) return fail('empty', n === 0 ? 'no bytes' : 'only line breaks (keep-alive)');

  const warnings: SipParseWarning[] = [];
  pending = warnings;
  // Most captures are pure ASCII: then no header value needs the UTF-8 re-read (one native scan instead of a
  // regular expression per value).
  const ascii = isAscii(buf);

  let nl = s.indexOf('\n', pos);
  let lineEnd = nl === -1 ? n : nl;
  if (lineEnd > pos && s.charCodeAt(lineEnd - 1) === 13) lineEnd--;
  else if (nl !== -1) warn('bare_lf');
  for (let k = pos; k < lineEnd; k++) {
    const c = s.charCodeAt(k);
    if ((c < 32 && c !== 9) || c === 127) return fail('binary_junk', `control byte 0x${c.toString(16).padStart(2, '0')} in the start line`);
  }
  const startLine = s.slice(pos, lineEnd);
  pos = nl === -1 ? n : nl + 1;

  // Header block: one pass over the lines, unfolding continuation lines as we go.
  // Per header line: its key, its name's and value's spans of `s` (name start, name end, value start, value end) and
  // its value once sliced (or unfolded). Values are sliced when first read: most headers are never asked for. Written
  // into the module's scratch arrays (no growth per message); the message gets exact-size copies.
  const keys = KEYS;
  const spans = SPANS;
  const values = VALUES;
  let count = 0;
  let folded: string[] | undefined;
  // The last header line's value as written (untrimmed), which a continuation line is joined to.
  let rawStart = 0;
  let rawEnd = 0;
  let bodyStart = -1;
  let headerError: Failure | undefined;
  while (pos < n) {
    nl = s.indexOf('\n', pos);
    lineEnd = nl === -1 ? n : nl;
    if (lineEnd > pos && s.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    else if (nl !== -1) warn('bare_lf');
    const next = nl === -1 ? n : nl + 1;
    if (lineEnd === pos) {
      bodyStart = next;
      break;
    }
    const c0 = s.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) {
      const last = count - 1;
      if (last < 0) {
        headerError = fail('header_without_colon', 'continuation line before the first header');
        break;
      }
      if (folded === undefined || folded.length === 0) folded = [s.slice(rawStart, rawEnd)];
      folded.push(trimLws(s.slice(pos, lineEnd)));
      values[last] = trimLws(folded.join(' '));
      pos = next;
      continue;
    }
    folded = undefined;
    const colon = s.indexOf(':', pos);
    if (colon === -1 || colon > lineEnd) {
      headerError = fail('header_without_colon', `header line without a colon: ${clip(utf8(s.slice(pos, lineEnd)))}`);
      break;
    }
    let ne = colon;
    while (ne > pos && isWsp(s.charCodeAt(ne - 1))) ne--;
    // One pass over the name: token check and the hash that finds a known name without slicing it.
    let hash = 0;
    let token = ne > pos;
    for (let k = pos; k < ne; k++) {
      const c = s.charCodeAt(k);
      if (!isTokenChar(c)) {
        token = false;
        break;
      }
      hash = nameHashStep(hash, c);
    }
    if (!token) {
      headerError = fail('bad_header_name', `header name ${clip(JSON.stringify(utf8(s.slice(pos, ne))))} is not a token`);
      break;
    }
    const known = knownHeaderAt(s, pos, ne, hash);
    keys[count] = known !== undefined ? known.key : s.slice(pos, ne).toLowerCase();
    // Trimmed by index, not sliced.
    let vs = colon + 1;
    let ve = lineEnd;
    while (vs < ve && isWsp(s.charCodeAt(vs))) vs++;
    while (ve > vs && isWsp(s.charCodeAt(ve - 1))) ve--;
    const at = 4 * count;
    spans[at] = pos;
    spans[at + 1] = ne;
    spans[at + 2] = vs;
    spans[at + 3] = ve;
    values[count] = undefined;
    count++;
    rawStart = colon + 1;
    rawEnd = lineEnd;
    pos = next;
  }
  if (bodyStart === -1) {
    bodyStart = n;
    if (headerError === undefined) warn('unterminated_headers');
  }

  // Header bytes were read as latin1; values holding non-ASCII are re-read as UTF-8 when read (`valueAt`). The
  // unfolded text of folded headers is already in `values`: re-read it now, like every later read.
  if (!ascii) for (let i = 0; i < count; i++) if (values[i] !== undefined) values[i] = utf8(values[i] as string);
  let callIdIdx = -1;
  let cseqIdx = -1;
  let fromIdx = -1;
  let toIdx = -1;
  let viaIdx = -1;
  let clFirst = -1;
  for (let i = 0; i < count; i++) {
    switch (keys[i]) {
      case 'call-id':
        if (callIdIdx === -1) callIdIdx = i;
        else if (valueAt(s, ascii, spans, values, callIdIdx) !== valueAt(s, ascii, spans, values, i)) warn('duplicate_header');
        break;
      case 'cseq':
        if (cseqIdx === -1) cseqIdx = i;
        else if (valueAt(s, ascii, spans, values, cseqIdx) !== valueAt(s, ascii, spans, values, i)) warn('duplicate_header');
        break;
      case 'from':
        if (fromIdx === -1) fromIdx = i;
        else if (valueAt(s, ascii, spans, values, fromIdx) !== valueAt(s, ascii, spans, values, i)) warn('duplicate_header');
        break;
      case 'to':
        if (toIdx === -1) toIdx = i;
        else if (valueAt(s, ascii, spans, values, toIdx) !== valueAt(s, ascii, spans, values, i)) warn('duplicate_header');
        break;
      case 'via':
        if (viaIdx === -1) viaIdx = i;
        break;
      case 'content-length':
        if (clFirst === -1) clFirst = i;
        break;
      default:
        break;
    }
  }
  const callId = callIdIdx === -1 ? undefined : valueAt(s, ascii, spans, values, callIdIdx);
  const knownCallId = callId !== undefined && callId.length > 0 ? callId : undefined;

  const startFailure = parseStartLine(startLine, ascii);
  if (startFailure !== undefined) return knownCallId === undefined ? startFailure : { ...startFailure, callId: knownCallId };
  if (headerError !== undefined) return knownCallId === undefined ? headerError : { ...headerError, callId: knownCallId };
  const kind = startRead.kind;

  if (knownCallId === undefined) return fail('missing_call_id', callIdIdx === -1 ? 'no Call-ID header' : 'empty Call-ID');
  if (cseqIdx === -1) return fail('missing_cseq', 'no CSeq header', knownCallId);
  const cseq: SipCSeq | null = parseCSeq(valueAt(s, ascii, spans, values, cseqIdx));
  if (cseq === null) return fail('bad_cseq', `CSeq ${clip(valueAt(s, ascii, spans, values, cseqIdx))}`, knownCallId);
  if (fromIdx === -1) return fail('missing_from', 'no From header', knownCallId);
  const from: NameAddr | null = parseNameAddr(valueAt(s, ascii, spans, values, fromIdx), warn);
  if (from === null) return fail('bad_from', `From ${clip(valueAt(s, ascii, spans, values, fromIdx))}`, knownCallId);
  if (toIdx === -1) return fail('missing_to', 'no To header', knownCallId);
  const to: NameAddr | null = parseNameAddr(valueAt(s, ascii, spans, values, toIdx), warn);
  if (to === null) return fail('bad_to', `To ${clip(valueAt(s, ascii, spans, values, toIdx))}`, knownCallId);
  let firstVias: SipVia[] = [];
  if (viaIdx === -1) warn('missing_via');
  else {
    firstVias = parseViaValue(valueAt(s, ascii, spans, values, viaIdx), warn);
    if (firstVias.length === 0) return fail('bad_via', `Via ${clip(valueAt(s, ascii, spans, values, viaIdx))}`, knownCallId);
  }
  if (kind === 'request' && cseq.method !== startRead.method) warn('cseq_method_mismatch');

  // The body is a span of the input as well; the message makes the Buffer view when it is first read.
  let bodyEnd = bodyStart;
  const available = n - bodyStart;
  if (clFirst === -1) {
    // Optional over UDP (RFC 3261 §18.3): the datagram ends the body.
    bodyEnd = n;
  } else {
    let cl = -1;
    let conflict = false;
    for (let i = clFirst; i < count; i++) {
      if (keys[i] !== 'content-length') continue;
      const v = valueAt(s, ascii, spans, values, i);
      const x = digits(v);
      if (x === -1) return fail('bad_content_length', `Content-Length ${clip(v)}`, knownCallId);
      if (cl === -1) cl = x;
      else if (x !== cl) conflict = true;
    }
    if (conflict) {
      // No way to know which one is right (RFC 4475 §3.3.9): keep every byte we got.
      warn('conflicting_content_length');
      bodyEnd = n;
    } else if (cl > available) {
      return fail('content_length_mismatch', `Content-Length ${cl} but ${available} bytes follow the headers`, knownCallId);
    } else {
      if (cl < available) {
        // Stray CRLFs after a body are keep-alive noise; anything else is a second message or garbage.
        for (let k = bodyStart + cl; k < n; k++) {
          const c = s.charCodeAt(k);
          if (c !== 13 && c !== 10) {
            warn('trailing_bytes');
            break;
          }
        }
      }
      bodyEnd = bodyStart + cl;
    }
  }

  const msg = new ParsedSipMessage(
    kind, kind === 'request' ? startRead.method : cseq.method, startRead.requestUriRaw, startRead.statusCode,
    startRead.reasonPhrase, keys.slice(0, count), s, ascii, spans.slice(0, 4 * count), values.slice(0, count), buf, bodyStart, bodyEnd, knownCallId, cseq, from, to,
    firstVias, viaIdx,
  );
  if (options.deep === true) msg.deepCheck(warn);
  return { ok: true, message: msg as unknown as SipMessage, warnings };
}
