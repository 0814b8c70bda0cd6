/**
 * URI and name-addr parsing (RFC 3261 §19.1, §25.1), written for captured traffic: lenient where a careful
 * stack would still understand the sender, `null` where guessing would put wrong data into storage.
 */
import type { NameAddr, SipParams, SipParseWarning, SipUri, Uri } from './message.ts';

export type WarnSink = (w: SipParseWarning) => void;
const ignore: WarnSink = () => {};

const TOKEN = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~') TOKEN[c.charCodeAt(0)] = 1;

export function isTokenChar(code: number): boolean {
  return code < 256 && TOKEN[code] === 1;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

export function isWsp(code: number): boolean {
  return code === 32 || code === 9;
}

export function skipWs(s: string, i: number): number {
  while (i < s.length && isWsp(s.charCodeAt(i))) i++;
  return i;
}

/** Trims SP and HTAB only: String#trim would also eat 0xA0, which is half of a UTF-8 sequence in latin1 text. */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** %XX decoding into UTF-8. A `%` that does not start a valid escape stays as written (RFC 4475 esc02). */
export function decodePercent(s: string): string {
  if (s.indexOf('%') === -1) return s;
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let j = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number;
    if (c === 37 && i + 2 < src.length) {
      const h = hexVal(src[i + 1] as number);
      const l = hexVal(src[i + 2] as number);
      if (h >= 0 && l >= 0) {
        out[j++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[j++] = c;
  }
  return out.toString('utf8', 0, j);
}

function isSchemeChar(c: number, first: boolean): boolean {
  const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (first) return alpha;
  return alpha || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

/** Length of a valid `scheme:` prefix (without the colon), or -1. */
export function schemeLength(s: string): number {
  const colon = s.indexOf(':');
  if (colon <= 0) return -1;
  for (let i = 0; i < colon; i++) if (!isSchemeChar(s.charCodeAt(i), i === 0)) return -1;
  return colon;
}

function newParams(): Record<string, string | null> {
  return Object.create(null) as Record<string, string | null>;
}

/** Shared by every URI and header without parameters (most To headers, nearly every URI's `?headers`): a
 * null-prototype object is a dictionary-mode object in V8, the priciest thing to allocate per message. Frozen, so
 * a caller that tried to write into one would fail loudly instead of changing every message. */
export const NO_PARAMS: Record<string, string | null> = Object.freeze(newParams());
const NO_HEADERS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

/** Characters that never occur in a host or port; their presence means we would be guessing. */
function badHostChar(c: number): boolean {
  return c <= 32 || c === 34 || c === 60 || c === 62 || c === 64 || c === 44 || c === 127;
}

/** The port in `s[from, end)`: null unless 1-5 digits up to 65535. */
function parsePort(s: string, from: number, end: number): number | undefined | null {
  if (end === from || end - from > 5) return null;
  let n = 0;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    n = n * 10 + (c - 48);
  }
  return n > 65535 ? null : n;
}

function parseUriParams(s: string, into: Record<string, string | null>): void {
  let start = 0;
  while (start <= s.length) {
    let end = s.indexOf(';', start);
    if (end === -1) end = s.length;
    if (end > start) {
      const eq = s.indexOf('=', start);
      if (eq === -1 || eq > end) into[decodePercent(s.slice(start, end)).toLowerCase()] = null;
      else into[decodePercent(s.slice(start, eq)).toLowerCase()] = decodePercent(s.slice(eq + 1, end));
    }
    start = end + 1;
  }
}

/** A sip:/sips: URI whose text after the colon starts at `base` of `s`. Indices into `s` throughout: a slice only for
 * what the result keeps (user, host). */
function parseSipLike(scheme: 'sip' | 'sips', s: string, base: number): SipUri | null {
  // Userinfo may hold unescaped `;` and `?` (RFC 4475 intmeth, semiuri) while `@` is never legal after the
  // host, so the last `@` is the one that ends the userinfo. (The scheme before `base` holds no `@`.)
  const at = s.lastIndexOf('@');
  let user: string | undefined;
  let hp = base;
  if (at !== -1) {
    const colon = s.indexOf(':', base);
    const userEnd = colon === -1 || colon > at ? at : colon;
    user = userEnd > base ? decodePercent(s.slice(base, userEnd)) : undefined;
    hp = at + 1;
  }
  const n = s.length;
  let i = hp;
  let host: string;
  if (s.charCodeAt(hp) === 91 /* [ */) {
    const close = s.indexOf(']', hp);
    if (close - hp < 2) return null;
    for (let k = hp + 1; k < close; k++) {
      const c = s.charCodeAt(k);
      if (!(hexVal(c) >= 0 || c === 58 || c === 46)) return null;
    }
    host = s.slice(hp + 1, close);
    i = close + 1;
  } else {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 58 || c === 59 || c === 63) break;
      if (badHostChar(c)) return null;
      i++;
    }
    // An unbracketed IPv6 literal reads as a host (hex digits) up to its first colon, and only then can it be one:
    // so the check runs for hosts followed by a colon, not for every URI.
    if (s.charCodeAt(i) === 58 && unbracketedIpv6(s, hp)) {
      // `sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0` (seen from real IPv6 UAs; RFC 3261 wants brackets): eight groups
      // are the address, a ninth is the port. Stored as the address it is rather than quarantining the message.
      const end = hostPortEnd(s, hp);
      i = colonsIn(s, hp, end) === 8 ? s.lastIndexOf(':', end - 1) : end;
    } else if (i === hp) return null;
    host = s.slice(hp, i);
  }
  let port: number | undefined;
  if (s.charCodeAt(i) === 58 /* : */) {
    let j = i + 1;
    while (j < n && s.charCodeAt(j) !== 59 && s.charCodeAt(j) !== 63) j++;
    const p = parsePort(s, i + 1, j);
    if (p === null) return null;
    port = p;
    i = j;
  }
  let paramsAt = -1;
  let paramsEnd = -1;
  let headersAt = -1;
  if (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 59 && c !== 63) return null;
    const q = s.indexOf('?', i);
    if (c === 59) {
      paramsAt = i + 1;
      paramsEnd = q === -1 ? n : q;
    }
    if (q !== -1) headersAt = q + 1;
  }
  return new ParsedSipUri(scheme, user, host, port, s, paramsAt, paramsEnd, headersAt);
}

/** `;params` of a URI: a dictionary, `NO_PARAMS` when `at` is -1. */
function uriParams(s: string, at: number, end: number): Record<string, string | null> {
  if (at === -1) return NO_PARAMS;
  const params = newParams();
  parseUriParams(s.slice(at, end), params);
  return params;
}

/** `?headers` of a URI: a dictionary, `NO_HEADERS` when `at` is -1. */
function uriHeaders(s: string, at: number): Record<string, string> {
  if (at === -1) return NO_HEADERS;
  const headers = Object.create(null) as Record<string, string>;
  for (const part of s.slice(at).split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq === -1) headers[decodePercent(part)] = '';
    else headers[decodePercent(part.slice(0, eq))] = decodePercent(part.slice(eq + 1));
  }
  return headers;
}

/**
 * A sip:, sips: or tel: URI. The parameters and `?headers` are checked for shape while parsing but built into
 * dictionaries only when first read: rows and trackers read user, host and port of every From, To and Request-URI,
 * and almost never a parameter, and a null-prototype dictionary is the dearest object a message can cost.
 * `toJSON` gives what the plain object it replaced serialised to, in the same key order.
 */
export class ParsedSipUri implements SipUri {
  readonly kind = 'sip' as const;
  readonly scheme: 'sip' | 'sips' | 'tel';
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  /** The text the parameters and headers are in, and where: `-1` when there are none. */
  readonly #text: string;
  readonly #paramsAt: number;
  readonly #paramsEnd: number;
  readonly #headersAt: number;
  #params: Record<string, string | null> | undefined;
  #headers: Record<string, string> | undefined;

  constructor(
    scheme: 'sip' | 'sips' | 'tel', user: string | undefined, host: string, port: number | undefined, text: string,
    paramsAt: number, paramsEnd: number, headersAt: number,
  ) {
    this.scheme = scheme;
    this.user = user;
    this.host = host;
    this.port = port;
    this.#text = text;
    this.#paramsAt = paramsAt;
    this.#paramsEnd = paramsEnd;
    this.#headersAt = headersAt;
  }

  get params(): SipParams {
    if (this.#params === undefined) this.#params = uriParams(this.#text, this.#paramsAt, this.#paramsEnd);
    return this.#params;
  }

  get headers(): Readonly<Record<string, string>> {
    if (this.#headers === undefined) this.#headers = uriHeaders(this.#text, this.#headersAt);
    return this.#headers;
  }

  toJSON(): object {
    return { kind: this.kind, scheme: this.scheme, user: this.user, host: this.host, port: this.port, params: this.params, headers: this.headers };
  }
}

/** Where host and port end: the first `;` or `?` from `from`, or the end. */
function hostPortEnd(s: string, from: number): number {
  let e = from;
  while (e < s.length && s.charCodeAt(e) !== 59 && s.charCodeAt(e) !== 63) e++;
  return e;
}

function colonsIn(s: string, from: number, end: number): number {
  let colons = 0;
  for (let k = from; k < end; k++) if (s.charCodeAt(k) === 58) colons++;
  return colons;
}

/** Seven or eight colons and nothing but hex digits, colons and dots before the parameters: an IPv6 literal
 * written without its brackets (with `::`, at most seven colons, so a port cannot be told apart and none is taken). */
function unbracketedIpv6(s: string, from: number): boolean {
  const end = hostPortEnd(s, from);
  let colons = 0;
  for (let k = from; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c === 58) colons++;
    else if (!(hexVal(c) >= 0 || c === 46)) return false;
  }
  const groups = colons + 1;
  if (groups === 8) return true;
  if (groups !== 9) return false;
  const dc = s.indexOf('::', from);
  return dc === -1 || dc + 2 > end;
}

/**
 * Parses any absolute URI. sip:/sips:/tel: are broken down; other schemes are kept opaque. Returns `null` when
 * there is no scheme or a SIP URI has no usable host or port.
 */
/** `sip`, `sips` or `tel` when the scheme of length `sl` is one of them (any case), without slicing it. */
export function knownScheme(s: string, sl: number): 'sip' | 'sips' | 'tel' | undefined {
  if (sl !== 3 && sl !== 4) return undefined;
  const c0 = s.charCodeAt(0) | 0x20;
  const c1 = s.charCodeAt(1) | 0x20;
  const c2 = s.charCodeAt(2) | 0x20;
  if (c0 === 115 && c1 === 105 && c2 === 112) {
    if (sl === 3) return 'sip';
    return (s.charCodeAt(3) | 0x20) === 115 ? 'sips' : undefined;
  }
  return sl === 3 && c0 === 116 && c1 === 101 && c2 === 108 ? 'tel' : undefined;
}

export function parseSipUri(s: string): Uri | null {
  const sl = schemeLength(s);
  if (sl === -1) return null;
  const known = knownScheme(s, sl);
  if (known === 'sip' || known === 'sips') return parseSipLike(known, s, sl + 1);
  if (known === 'tel') {
    const semi = s.indexOf(';', sl + 1);
    const numEnd = semi === -1 ? s.length : semi;
    if (numEnd === sl + 1) return null;
    return new ParsedSipUri('tel', decodePercent(s.slice(sl + 1, numEnd)), '', undefined, s, semi === -1 ? -1 : semi + 1, s.length, -1);
  }
  const rest = s.slice(sl + 1);
  const scheme = s.slice(0, sl).toLowerCase();
  for (let i = 0; i < rest.length; i++) if (rest.charCodeAt(i) <= 32) return null;
  return { kind: 'other', scheme, opaque: rest };
}

/** Index after the closing quote of the last successful `quotedText` (a second return value without an object). */
let quotedEnd = 0;

/** Reads a quoted-string starting at the opening quote: the unescaped text (the index after the closing quote in
 * `quotedEnd`), or null when it never closes. */
function quotedText(s: string, i: number): string | null {
  let out = '';
  let runStart = i + 1;
  for (let k = i + 1; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 92 /* \ */) {
      if (k + 1 >= s.length) return null;
      out += s.slice(runStart, k) + s.charAt(k + 1);
      k++;
      runStart = k + 1;
    } else if (c === 34) {
      quotedEnd = k + 1;
      return runStart === i + 1 ? s.slice(runStart, k) : out + s.slice(runStart, k);
    }
  }
  return null;
}

/** Reads a quoted-string starting at the opening quote. Returns the unescaped text and the index after the
 * closing quote, or null when it never closes. */
export function readQuoted(s: string, i: number): { text: string; end: number } | null {
  const text = quotedText(s, i);
  return text === null ? null : { text, end: quotedEnd };
}

/** Index where the last `readHeaderParams` stopped, and whether it met an empty parameter name (`;;`). An object,
 * not two exported `let`s: importers read it through one binding. */
export const paramsRead = { end: 0, empty: false };

/**
 * Header parameters after a name-addr or Via sent-by: `;name = value` with LWS allowed around `=` and quoted
 * values. Parsing stops at the first character that cannot start a parameter and reports where.
 */
export function parseHeaderParams(
  s: string,
  i: number,
): { params: Record<string, string | null>; end: number; empty: boolean } | null {
  const params = readHeaderParams(s, i);
  return params === null ? null : { params, end: paramsRead.end, empty: paramsRead.empty };
}

/** `parseHeaderParams` without the result object: the parameters (the shared frozen `NO_PARAMS` when there are
 * none), with where it stopped and whether it met an empty name in `paramsRead`. */
export function readHeaderParams(s: string, i: number): Record<string, string | null> | null {
  const params = walkHeaderParams(s, i, true);
  return params === false ? null : params;
}

/** Index after the closing quote of a quoted-string that starts at `i`, or -1 when it never closes; what
 * `quotedText` accepts, without building the text. */
export function skipQuoted(s: string, i: number): number {
  for (let k = i + 1; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 92 /* \ */) {
      if (k + 1 >= s.length) return -1;
      k++;
    } else if (c === 34) return k + 1;
  }
  return -1;
}

/** Whether `s[start, end)` lower-cased is `name` (a lower-case ASCII constant): what `slice().toLowerCase() ===
 * name` says, without the slice for ASCII names. */
export function nameIs(s: string, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    let c = s.charCodeAt(start + k);
    if (c >= 128) return s.slice(start, end).toLowerCase() === name;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(k)) return false;
  }
  return true;
}

/** Which of the parameters readers ask for `s[start, end)` names (any case), 0 for any other. */
const WANT_TAG = 1;
const WANT_BRANCH = 2;
const WANT_RECEIVED = 3;
const WANT_RPORT = 4;
const WANT_EXPIRES = 5;
const WANT_Q = 6;
function wantedParam(s: string, start: number, end: number): number {
  switch (end - start) {
    case 1: return nameIs(s, start, end, 'q') ? WANT_Q : 0;
    case 3: return nameIs(s, start, end, 'tag') ? WANT_TAG : 0;
    case 5: return nameIs(s, start, end, 'rport') ? WANT_RPORT : 0;
    case 6: return nameIs(s, start, end, 'branch') ? WANT_BRANCH : 0;
    case 7: return nameIs(s, start, end, 'expires') ? WANT_EXPIRES : 0;
    case 8: return nameIs(s, start, end, 'received') ? WANT_RECEIVED : 0;
    default: return 0;
  }
}

/** What the last `scanHeaderParams` found of the parameters readers ask for: `undefined` when absent, `null` for a
 * flag without `=value`, the last one when repeated (as in the dictionary `readHeaderParams` builds). */
export const paramsSeen: {
  tag: string | null | undefined; branch: string | null | undefined; received: string | null | undefined;
  rport: string | null | undefined; expires: string | null | undefined; q: string | null | undefined;
} = { tag: undefined, branch: undefined, received: undefined, rport: undefined, expires: undefined, q: undefined };

/**
 * `readHeaderParams` without the dictionary: the same walk and the same verdict (false where it gives null), with
 * where it stopped and whether it met an empty name in `paramsRead`, and the values of tag, branch, received, rport,
 * expires and q in `paramsSeen`. The dictionary is built later, from the same text, only if someone reads it.
 */
export function scanHeaderParams(s: string, i: number): boolean {
  return walkHeaderParams(s, i, false) !== false;
}

/** The walk behind both: false when a quoted value never closes; otherwise, with `build`, the dictionary of every
 * parameter (`NO_PARAMS` when there are none), without it `NO_PARAMS` and no slice but the wanted values. */
function walkHeaderParams(s: string, i: number, build: boolean): Record<string, string | null> | false {
  const seen = paramsSeen;
  seen.tag = undefined;
  seen.branch = undefined;
  seen.received = undefined;
  seen.rport = undefined;
  seen.expires = undefined;
  seen.q = undefined;
  let params = NO_PARAMS;
  let empty = false;
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length || s.charCodeAt(i) !== 59) {
      paramsRead.end = i;
      paramsRead.empty = empty;
      return params;
    }
    i = skipWs(s, i + 1);
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 59 || c === 61 || c === 44 || c === 34 || isWsp(c)) break;
      i++;
    }
    const nameEnd = i;
    const want = i === start ? 0 : wantedParam(s, start, i);
    const keep = want !== 0 || build;
    i = skipWs(s, i);
    let value: string | null = null;
    if (s.charCodeAt(i) === 61 /* = */) {
      i = skipWs(s, i + 1);
      if (s.charCodeAt(i) === 34) {
        if (keep) {
          const q = quotedText(s, i);
          if (q === null) return false;
          value = q;
          i = quotedEnd;
        } else {
          i = skipQuoted(s, i);
          if (i === -1) return false;
        }
      } else {
        const vs = i;
        while (i < s.length) {
          const c = s.charCodeAt(i);
          if (c === 59 || c === 44 || isWsp(c)) break;
          i++;
        }
        if (keep) value = s.slice(vs, i);
      }
    }
    if (nameEnd === start) empty = true;
    else if (build) {
      if (params === NO_PARAMS) params = newParams();
      params[s.slice(start, nameEnd).toLowerCase()] = value;
    }
    switch (want) {
      case WANT_TAG: seen.tag = value; break;
      case WANT_BRANCH: seen.branch = value; break;
      case WANT_RECEIVED: seen.received = value; break;
      case WANT_RPORT: seen.rport = value; break;
      case WANT_EXPIRES: seen.expires = value; break;
      case WANT_Q: seen.q = value; break;
      default: break;
    }
  }
}

/** Splits a header value on commas that are outside quotes and `<...>`. Empty elements are kept. */
export function splitList(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      if (quotedText(s, i) === null) break;
      i = quotedEnd - 1;
    } else if (c === 60) depth++;
    else if (c === 62 && depth > 0) depth--;
    else if (c === 44 && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function displayIsTokens(d: string): boolean {
  for (let i = 0; i < d.length; i++) {
    const c = d.charCodeAt(i);
    if (!isWsp(c) && TOKEN[c] !== 1 && c < 128) return false;
  }
  return true;
}

/** Where the last successful `readNameAddr` put what it read: the display name and URI, and the text and index
 * its header parameters start at (their tag, expires and q are in `paramsSeen`). */
export const nameAddrRead: { displayName: string | undefined; uri: Uri; text: string; paramsAt: number } = {
  displayName: undefined, uri: { kind: 'other', scheme: '', opaque: '' }, text: '', paramsAt: 0,
};

/**
 * `[display-name] <uri> *(;param)` or a bare `addr-spec *(;param)`. In the bare form the first `;` ends the URI,
 * so its parameters belong to the header (RFC 3261 §20.10). Returns null for what cannot be read safely:
 * unterminated quotes, a missing `>`, an unparseable URI.
 */
export function parseNameAddr(input: string, warn: WarnSink = ignore): NameAddr | null {
  if (!readNameAddr(input, warn)) return null;
  const r = nameAddrRead;
  const tag = paramsSeen.tag;
  return new ParsedNameAddr(r.displayName, r.uri, typeof tag === 'string' ? tag : undefined, r.text, r.paramsAt);
}

/** `parseNameAddr` without the result object: false where it gives null, otherwise the parts in `nameAddrRead`
 * and `paramsSeen` (Contact builds its own object from them). */
export function readNameAddr(input: string, warn: WarnSink): boolean {
  const s = trimLws(input);
  let displayName: string | undefined;
  let uriText: string;
  let i: number;
  if (s.charCodeAt(0) === 34) {
    const q = quotedText(s, 0);
    if (q === null) return false;
    displayName = q;
    i = skipWs(s, quotedEnd);
    if (s.charCodeAt(i) !== 60) return false;
  } else {
    i = s.indexOf('<');
    if (i !== -1) {
      const d = trimLws(s.slice(0, i));
      if (d.length > 0) {
        if (!displayIsTokens(d)) warn('unquoted_display_name');
        displayName = d;
      }
    }
  }
  if (i !== -1) {
    const close = s.indexOf('>', i + 1);
    if (close === -1) return false;
    const inner = s.slice(i + 1, close);
    uriText = trimLws(inner);
    if (uriText.length !== inner.length) warn('lws_in_addr_spec');
    i = close + 1;
  } else {
    let end = 0;
    while (end < s.length && s.charCodeAt(end) !== 59 && !isWsp(s.charCodeAt(end))) end++;
    uriText = s.slice(0, end);
    if (uriText.indexOf('?') !== -1) warn('unbracketed_uri_with_headers');
    i = end;
  }
  const uri = parseSipUri(uriText);
  if (uri === null) return false;
  if (!scanHeaderParams(s, i)) return false;
  const r = nameAddrRead;
  r.displayName = displayName;
  r.uri = uri;
  r.text = s;
  r.paramsAt = i;
  return true;
}

/** The header parameters of a name-addr or Via: checked while parsing (`scanHeaderParams`), built into a dictionary
 * from the same text on the first read of `params`. */
export class LazyHeaderParams {
  readonly #text: string;
  readonly #paramsAt: number;
  #params: SipParams | undefined;

  constructor(text: string, paramsAt: number) {
    this.#text = text;
    this.#paramsAt = paramsAt;
  }

  get params(): SipParams {
    // The text was read once already, so this cannot fail.
    if (this.#params === undefined) this.#params = readHeaderParams(this.#text, this.#paramsAt) as SipParams;
    return this.#params;
  }
}

/**
 * A From / To / Contact / Route value. The header parameters are built into a dictionary only when first read:
 * the tag, the one every reader wants, was picked out while the parameters were checked. `toJSON` gives what the
 * plain object it replaced serialised to, in the same key order.
 */
export class ParsedNameAddr extends LazyHeaderParams implements NameAddr {
  readonly displayName: string | undefined;
  readonly uri: Uri;
  readonly user: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly tag: string | undefined;

  constructor(displayName: string | undefined, uri: Uri, tag: string | undefined, text: string, paramsAt: number) {
    super(text, paramsAt);
    this.displayName = displayName;
    this.uri = uri;
    const sip = uri.kind === 'sip';
    this.user = sip ? uri.user : undefined;
    this.host = sip && uri.scheme !== 'tel' ? uri.host : undefined;
    this.port = sip ? uri.port : undefined;
    this.tag = tag;
  }

  toJSON(): object {
    return { displayName: this.displayName, uri: this.uri, user: this.user, host: this.host, port: this.port, tag: this.tag, params: this.params };
  }
}
