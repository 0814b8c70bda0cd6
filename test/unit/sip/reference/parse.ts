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
import type { NameAddr, ParseOptions, ParseResult, SipCSeq, SipHeader, SipMessage, SipParseReason, SipParseWarning, SipVia } from './message.ts';
import { canonicalName, parseCSeq, parseViaValue } from './headers.ts';
import { ParsedSipMessage } from './sip-message.ts';
import { isToken, isWsp, parseNameAddr, schemeLength, trimLws } from './uri.ts';

const DEFAULT_MAX_BYTES = 65535;
const HIGH = /[\x80-\xff]/;
const SIP_2_0 = /^SIP\/2\.0$/i;
const SIP_ANY_VERSION = /^SIP\/\d+\.\d+$/i;
const KEY_OF = new Map<string, string>();
const EMPTY_BODY: Buffer = Buffer.alloc(0);

type Failure = Extract<ParseResult, { ok: false }>;

function fail(reason: SipParseReason, detail: string, callId?: string): Failure {
  return callId === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, callId };
}

/** Header bytes were read as latin1 so indices equal byte offsets; values holding non-ASCII are re-read as UTF-8. */
function utf8(v: string): string {
  return HIGH.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
}

function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

interface StartLine {
  kind: 'request' | 'response';
  method: string;
  requestUriRaw: string | undefined;
  statusCode: number | undefined;
  reasonPhrase: string | undefined;
}

function parseStartLine(line: string, warn: (w: SipParseWarning) => void): StartLine | Failure {
  if (line.length >= 4 && line.slice(0, 4).toUpperCase() === 'SIP/') {
    const sp = line.indexOf(' ');
    const version = sp === -1 ? line : line.slice(0, sp);
    if (!SIP_2_0.test(version)) {
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
    while (i < line.length && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) i++;
    const code = line.slice(start, i);
    if (code.length !== 3 || (i < line.length && !isWsp(line.charCodeAt(i)))) {
      return fail('bad_status_code', `status code ${clip(line.slice(start).split(' ')[0] ?? '')}`);
    }
    const statusCode = Number(code);
    if (statusCode < 100 || statusCode > 699) return fail('bad_status_code', `status code ${code} out of range`);
    return { kind: 'response', method: '', requestUriRaw: undefined, statusCode, reasonPhrase: utf8(trimLws(line.slice(i))) };
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
  const method = l.slice(0, sp1);
  if (!isToken(method)) return fail('bad_method', `method ${clip(method)} is not a token`);
  const version = l.slice(spLast + 1);
  if (!SIP_2_0.test(version)) {
    return SIP_ANY_VERSION.test(version)
      ? fail('bad_version', `unsupported version ${clip(version)}`)
      : fail('bad_start_line', `no SIP version at the end of ${clip(l)}`);
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
  const scheme = uri.slice(0, sl).toLowerCase();
  if ((scheme === 'sip' || scheme === 'sips') && uri.indexOf('?') !== -1) {
    // `?` is legal inside a user part (RFC 4475 intmeth), so only count it when it follows the host.
    const at = uri.lastIndexOf('@');
    if (uri.indexOf('?', at === -1 ? 0 : at) !== -1) warn('request_uri_headers');
  }
  return { kind: 'request', method, requestUriRaw: uri, statusCode: undefined, reasonPhrase: undefined };
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
  const warn = (w: SipParseWarning): void => {
    if (!warnings.includes(w)) warnings.push(w);
  };

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
  const names: string[] = [];
  const keys: string[] = [];
  const values: string[] = [];
  let folded: string[] | undefined;
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
      const last = values.length - 1;
      if (last < 0) {
        headerError = fail('header_without_colon', 'continuation line before the first header');
        break;
      }
      if (folded === undefined || folded.length === 0) folded = [values[last] as string];
      folded.push(trimLws(s.slice(pos, lineEnd)));
      values[last] = folded.join(' ');
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
    const name = s.slice(pos, ne);
    if (!isToken(name)) {
      headerError = fail('bad_header_name', `header name ${clip(JSON.stringify(utf8(name)))} is not a token`);
      break;
    }
    const canon = canonicalName(name);
    if (canon !== undefined && !KEY_OF.has(canon)) KEY_OF.set(canon, canon.toLowerCase());
    names.push(canon ?? name);
    keys.push(canon === undefined ? name.toLowerCase() : (KEY_OF.get(canon) as string));
    values.push(s.slice(colon + 1, lineEnd));
    pos = next;
  }
  if (bodyStart === -1) {
    bodyStart = n;
    if (headerError === undefined) warn('unterminated_headers');
  }

  const headHasHigh = HIGH.test(s.slice(0, bodyStart));
  const count = values.length;
  const headers: SipHeader[] = new Array<SipHeader>(count);
  let callIdIdx = -1;
  let cseqIdx = -1;
  let fromIdx = -1;
  let toIdx = -1;
  let viaIdx = -1;
  const clIdx: number[] = [];
  for (let i = 0; i < count; i++) {
    const tv = trimLws(values[i] as string);
    const v = headHasHigh ? utf8(tv) : tv;
    values[i] = v;
    headers[i] = { name: names[i] as string, value: v };
    switch (keys[i]) {
      case 'call-id':
        if (callIdIdx === -1) callIdIdx = i;
        else if (values[callIdIdx] !== v) warn('duplicate_header');
        break;
      case 'cseq':
        if (cseqIdx === -1) cseqIdx = i;
        else if (values[cseqIdx] !== v) warn('duplicate_header');
        break;
      case 'from':
        if (fromIdx === -1) fromIdx = i;
        else if (values[fromIdx] !== v) warn('duplicate_header');
        break;
      case 'to':
        if (toIdx === -1) toIdx = i;
        else if (values[toIdx] !== v) warn('duplicate_header');
        break;
      case 'via':
        if (viaIdx === -1) viaIdx = i;
        break;
      case 'content-length':
        clIdx.push(i);
        break;
      default:
        break;
    }
  }
  const callId = callIdIdx === -1 ? undefined : values[callIdIdx];
  const knownCallId = callId !== undefined && callId.length > 0 ? callId : undefined;

  const start = parseStartLine(startLine, warn);
  if ('ok' in start) return knownCallId === undefined ? start : { ...start, callId: knownCallId };
  if (headerError !== undefined) return knownCallId === undefined ? headerError : { ...headerError, callId: knownCallId };

  if (knownCallId === undefined) return fail('missing_call_id', callIdIdx === -1 ? 'no Call-ID header' : 'empty Call-ID');
  if (cseqIdx === -1) return fail('missing_cseq', 'no CSeq header', knownCallId);
  const cseq: SipCSeq | null = parseCSeq(values[cseqIdx] as string);
  if (cseq === null) return fail('bad_cseq', `CSeq ${clip(values[cseqIdx] as string)}`, knownCallId);
  if (fromIdx === -1) return fail('missing_from', 'no From header', knownCallId);
  const from: NameAddr | null = parseNameAddr(values[fromIdx] as string, warn);
  if (from === null) return fail('bad_from', `From ${clip(values[fromIdx] as string)}`, knownCallId);
  if (toIdx === -1) return fail('missing_to', 'no To header', knownCallId);
  const to: NameAddr | null = parseNameAddr(values[toIdx] as string, warn);
  if (to === null) return fail('bad_to', `To ${clip(values[toIdx] as string)}`, knownCallId);
  let firstVias: SipVia[] = [];
  if (viaIdx === -1) warn('missing_via');
  else {
    firstVias = parseViaValue(values[viaIdx] as string, warn);
    if (firstVias.length === 0) return fail('bad_via', `Via ${clip(values[viaIdx] as string)}`, knownCallId);
  }
  if (start.kind === 'request' && cseq.method !== start.method) warn('cseq_method_mismatch');

  let body: Buffer = EMPTY_BODY;
  const available = n - bodyStart;
  if (clIdx.length === 0) {
    // Optional over UDP (RFC 3261 §18.3): the datagram ends the body.
    if (available > 0) body = buf.subarray(bodyStart);
  } else {
    let cl = -1;
    let conflict = false;
    for (const i of clIdx) {
      const v = values[i] as string;
      if (!/^\d{1,15}$/.test(v)) return fail('bad_content_length', `Content-Length ${clip(v)}`, knownCallId);
      const x = Number(v);
      if (cl === -1) cl = x;
      else if (x !== cl) conflict = true;
    }
    if (conflict) {
      // No way to know which one is right (RFC 4475 §3.3.9): keep every byte we got.
      warn('conflicting_content_length');
      if (available > 0) body = buf.subarray(bodyStart);
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
      if (cl > 0) body = buf.subarray(bodyStart, bodyStart + cl);
    }
  }

  const msg = new ParsedSipMessage({
    kind: start.kind,
    method: start.kind === 'request' ? start.method : cseq.method,
    requestUriRaw: start.requestUriRaw,
    statusCode: start.statusCode,
    reasonPhrase: start.reasonPhrase,
    version: 'SIP/2.0',
    headers,
    keys,
    body,
    callId: knownCallId,
    cseq,
    from,
    to,
    firstVias,
    firstViaIndex: viaIdx,
  });
  if (options.deep === true) msg.deepCheck(warn);
  return { ok: true, message: msg as unknown as SipMessage, warnings };
}
