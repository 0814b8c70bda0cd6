/**
 * Header names (compact and long forms) and the parsers for structured header values that are not name-addr.
 */
import type { SipAuthSummary, SipContact, SipCSeq, SipVia, Uri } from './message.ts';
// When tsx loads these modules as CommonJS (it can, depending on the entry script), every use of an imported name is then a getter call on the exporting module's
// exports object, which V8 does not inline here (measured ~3 µs per message across the parser in the analyzer's
// profile). Hot imports are bound once, at load.
import * as uri from './uri.ts';

const { isTokenChar, isWsp, nameAddrRead, paramsRead, paramsSeen, readHeaderParams, readNameAddr, readQuoted, scanHeaderParams, skipWs, splitList, trimLws } = uri;
const { LazyHeaderParams, ParsedNameAddr, nameIs, skipQuoted } = uri;
import type { WarnSink } from './uri.ts';

const CANONICAL_NAMES = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events',
  'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Diversion',
  'Error-Info', 'Event', 'Expires', 'From', 'History-Info', 'Identity', 'Identity-Info', 'In-Reply-To',
  'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Min-SE', 'Organization', 'P-Asserted-Identity',
  'P-Charging-Vector', 'P-Preferred-Identity', 'Path', 'Priority', 'Privacy', 'Proxy-Authenticate',
  'Proxy-Authorization', 'Proxy-Require', 'RAck', 'Reason', 'Record-Route', 'Refer-To', 'Referred-By',
  'Reject-Contact', 'Remote-Party-ID', 'Reply-To', 'Request-Disposition', 'Require', 'Retry-After', 'Route',
  'RSeq', 'Server', 'Service-Route', 'Session-Expires', 'Subject', 'Subscription-State', 'Supported',
  'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning', 'WWW-Authenticate', 'X-BroadWorks-Correlation-Info',
  'X-CID',
];

/** RFC 3261 §7.3.3 plus the IANA registry's later compact forms. */
const COMPACT: Record<string, string> = {
  a: 'Accept-Contact', b: 'Referred-By', c: 'Content-Type', d: 'Request-Disposition', e: 'Content-Encoding',
  f: 'From', i: 'Call-ID', j: 'Reject-Contact', k: 'Supported', l: 'Content-Length', m: 'Contact',
  n: 'Identity-Info', o: 'Event', r: 'Refer-To', s: 'Subject', t: 'To', u: 'Allow-Events', v: 'Via',
  x: 'Session-Expires', y: 'Identity',
};

/** lower-cased name as written → canonical long name. */
const CANON = new Map<string, string>();
for (const n of CANONICAL_NAMES) CANON.set(n.toLowerCase(), n);
for (const [k, v] of Object.entries(COMPACT)) CANON.set(k, v);

/** Names exactly as senders usually spell them, so the common case skips toLowerCase(). */
const EXACT = new Map<string, string>();
for (const n of CANONICAL_NAMES) EXACT.set(n, n);
for (const [k, v] of Object.entries(COMPACT)) {
  EXACT.set(k, v);
  EXACT.set(k.toUpperCase(), v);
}
EXACT.set('Call-Id', 'Call-ID');
EXACT.set('Cseq', 'CSeq');
EXACT.set('Www-Authenticate', 'WWW-Authenticate');

/** headerKey() of a known header → its canonical name. */
const CANONICAL_BY_KEY = new Map<string, string>();
for (const n of CANONICAL_NAMES) CANONICAL_BY_KEY.set(n.toLowerCase(), n);

/** The canonical name of the known header whose key (headerKey()) is `key`, `undefined` for any other key. Header
 * names are tokens, i.e. ASCII, so an unknown name never lower-cases to a known key. */
export function canonicalOfKey(key: string): string | undefined {
  return CANONICAL_BY_KEY.get(key);
}

/** Canonical long name for a known header, `undefined` for any other; `name` as written, any case. */
export function canonicalName(name: string): string | undefined {
  return EXACT.get(name) ?? CANON.get(name.toLowerCase());
}

/**
 * Known header names found straight from the input, without slicing the name: a hash of the lower-cased name's
 * char codes picks the candidates, a char-by-char case-insensitive compare confirms. Each entry holds the canonical
 * name and its lower-cased key, both constants.
 */
export interface KnownName {
  /** As written, lower-cased (`i` for the compact Call-ID). */
  readonly lower: string;
  readonly canonical: string;
  /** headerKey() of the name: the lower-cased canonical name. */
  readonly key: string;
}
const BY_HASH = new Map<number, KnownName[]>();

function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** The hash `knownHeaderAt` computes; exported for the parser's single pass over the name. */
export function nameHashStep(h: number, c: number): number {
  return (Math.imul(h, 31) + lowerCode(c)) | 0;
}

for (const [lower, canonical] of CANON) {
  let h = 0;
  for (let i = 0; i < lower.length; i++) h = nameHashStep(h, lower.charCodeAt(i));
  const list = BY_HASH.get(h);
  const e = { lower, canonical, key: canonical.toLowerCase() };
  if (list === undefined) BY_HASH.set(h, [e]);
  else list.push(e);
}

/** The known header whose name is `s[start, end)` (any case, compact forms included), given `nameHashStep` folded
 * over those characters; undefined for any other name. Equivalent to `canonicalName(s.slice(start, end))`. */
export function knownHeaderAt(s: string, start: number, end: number, hash: number): KnownName | undefined {
  const list = BY_HASH.get(hash);
  if (list === undefined) return undefined;
  const n = end - start;
  for (const e of list) {
    if (e.lower.length !== n) continue;
    let k = 0;
    while (k < n && lowerCode(s.charCodeAt(start + k)) === e.lower.charCodeAt(k)) k++;
    if (k === n) return e;
  }
  return undefined;
}

/** Lookup key used internally: the lower-cased canonical name, so `i`, `Call-Id` and `CALL-ID` collide. */
export function headerKey(name: string): string {
  const cached = KEY_CACHE.get(name);
  if (cached !== undefined) return cached;
  const lower = name.toLowerCase();
  const canon = CANON.get(lower);
  const key = canon === undefined ? lower : canon.toLowerCase();
  // The names asked for are the accessors' and the configured link headers: a handful, so a bounded cache.
  if (KEY_CACHE.size < 512) KEY_CACHE.set(name, key);
  return key;
}

const KEY_CACHE = new Map<string, string>();

/** Methods as string constants: a method sliced from the input is replaced by the constant, so later Set/Map
 * lookups and comparisons hit a string whose hash is already computed and the slice dies young. */
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'UPDATE', 'INFO', 'REFER',
  'NOTIFY', 'SUBSCRIBE', 'MESSAGE', 'PUBLISH'];

export function internMethod(m: string): string {
  for (let i = 0; i < METHODS.length; i++) if (METHODS[i] === m) return METHODS[i] as string;
  return m;
}

/** `s[a, b)` as a method constant when it is one (case-sensitive, as methods are), without slicing it. */
export function methodAt(s: string, a: number, b: number): string {
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHODS[i] as string;
    if (m.length === b - a && s.startsWith(m, a)) return m;
  }
  return s.slice(a, b);
}

const MAX_CSEQ = 2 ** 31 - 1;

/** `1*DIGIT LWS Method`; RFC 3261 §8.1.1.5 caps the number below 2^31. */
export function parseCSeq(value: string): SipCSeq | null {
  const s = trimLws(value);
  let i = 0;
  let seq = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
    if (seq > MAX_CSEQ) return null;
    i++;
  }
  if (i === 0 || !isWsp(s.charCodeAt(i))) return null;
  i = skipWs(s, i);
  if (i >= s.length) return null;
  for (let k = i; k < s.length; k++) if (!isTokenChar(s.charCodeAt(k))) return null;
  return { seq, method: methodAt(s, i, s.length) };
}

function readToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i)) && s.charCodeAt(i) !== 47) i++;
  return i;
}

const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'];

/** Upper-cased `s[a, b)`, as a constant for the usual transports (any case: a token is ASCII, so ASCII case
 * folding is what toUpperCase does), without a slice for them. */
function upperPart(s: string, a: number, b: number): string {
  for (let i = 0; i < TRANSPORTS.length; i++) {
    const t = TRANSPORTS[i] as string;
    if (t.length !== b - a) continue;
    let k = 0;
    while (k < t.length) {
      const c = s.charCodeAt(a + k);
      if ((c >= 97 && c <= 122 ? c - 32 : c) !== t.charCodeAt(k)) break;
      k++;
    }
    if (k === t.length) return t;
  }
  return s.slice(a, b).toUpperCase();
}

/** Whether the last `parseViaElement` consumed its whole element without empty parameters. */
let viaClean = false;

/** One via-parm: `SIP / 2.0 / UDP host[:port] *(;param)`, LWS allowed around the slashes (RFC 4475 wsinv).
 * Whether it was read cleanly (to its end, no empty parameter) is left in `viaClean`. */
export function parseViaElement(el: string): SipVia | null {
  const s = trimLws(el);
  let i = 0;
  let p0 = 0;
  let p0End = 0;
  let p1 = 0;
  let p1End = 0;
  let p2 = 0;
  for (let k = 0; k < 3; k++) {
    if (k > 0) {
      i = skipWs(s, i);
      if (s.charCodeAt(i) !== 47) return null;
      i = skipWs(s, i + 1);
    }
    const start = i;
    i = readToken(s, i);
    if (i === start) return null;
    if (k === 0) {
      p0 = start;
      p0End = i;
    } else if (k === 1) {
      p1 = start;
      p1End = i;
    } else p2 = start;
    if (k < 2) i = skipWs(s, i);
  }
  const p2End = i;
  const after = i;
  i = skipWs(s, i);
  if (i === after) return null;
  let host: string;
  if (s.charCodeAt(i) === 91) {
    const close = s.indexOf(']', i);
    if (close === -1) return null;
    host = s.slice(i + 1, close);
    i = close + 1;
  } else {
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 58 || c === 59 || isWsp(c)) break;
      if (c < 32 || c === 34 || c === 60 || c === 62 || c === 64) return null;
      i++;
    }
    host = s.slice(start, i);
  }
  if (host.length === 0) return null;
  i = skipWs(s, i);
  let port: number | undefined;
  if (s.charCodeAt(i) === 58) {
    i = skipWs(s, i + 1);
    const start = i;
    let n = 0;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57 && i - start < 6) {
      n = n * 10 + s.charCodeAt(i) - 48;
      i++;
    }
    if (i === start || n > 65535) return null;
    port = n;
  }
  if (!scanHeaderParams(s, i)) return null;
  viaClean = !paramsRead.empty && paramsRead.end === s.length;
  const rp = paramsSeen.rport;
  let rport: number | true | undefined;
  if (rp === null) rport = true;
  else if (rp !== undefined && rp.length > 0 && rp.length <= 5) {
    const v = Number(rp);
    if (Number.isInteger(v) && v >= 0 && /^\d+$/.test(rp)) rport = v;
  }
  const branch = paramsSeen.branch;
  const received = paramsSeen.received;
  const isSip20 = p0End - p0 === 3 && p1End - p1 === 3 && (s.charCodeAt(p0) | 0x20) === 115 &&
    (s.charCodeAt(p0 + 1) | 0x20) === 105 && (s.charCodeAt(p0 + 2) | 0x20) === 112 && s.charCodeAt(p1) === 50 &&
    s.charCodeAt(p1 + 1) === 46 && s.charCodeAt(p1 + 2) === 48;
  return new ParsedVia(
    isSip20 ? 'SIP/2.0' : `${s.slice(p0, p0End).toUpperCase()}/${s.slice(p1, p1End)}`, upperPart(s, p2, p2End), host,
    port, branch === null ? '' : branch, received === null ? undefined : received, rport, s, i,
  );
}

/**
 * One via-parm. Branch, received and rport (what transactions, rows and the registration tracker read) were picked
 * out while the parameters were checked; the dictionary of all of them is built only when first read. `toJSON`
 * gives what the plain object it replaced serialised to, in the same key order.
 */
export class ParsedVia extends LazyHeaderParams implements SipVia {
  readonly protocol: string;
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly branch: string | undefined;
  readonly received: string | undefined;
  readonly rport: number | true | undefined;

  constructor(
    protocol: string, transport: string, host: string, port: number | undefined, branch: string | undefined,
    received: string | undefined, rport: number | true | undefined, text: string, paramsAt: number,
  ) {
    super(text, paramsAt);
    this.protocol = protocol;
    this.transport = transport;
    this.host = host;
    this.port = port;
    this.branch = branch;
    this.received = received;
    this.rport = rport;
  }

  toJSON(): object {
    return {
      protocol: this.protocol, transport: this.transport, host: this.host, port: this.port, branch: this.branch,
      received: this.received, rport: this.rport, params: this.params,
    };
  }
}

/** Every via-parm of one Via header value. Empty or broken elements are dropped and reported as malformed. */
export function parseViaValue(value: string, warn: WarnSink, out: SipVia[] = []): SipVia[] {
  if (value.indexOf(',') === -1) {
    // One via-parm per header line is the common case: no list to split.
    addVia(value, warn, out);
    return out;
  }
  for (const el of splitList(value)) addVia(el, warn, out);
  return out;
}

function addVia(el: string, warn: WarnSink, out: SipVia[]): void {
  const v = parseViaElement(el);
  if (v === null) {
    warn('malformed_via');
    return;
  }
  if (!viaClean) warn('malformed_via');
  out.push(v);
}

const MAX_DELTA = 2 ** 32 - 1;

/** delta-seconds; RFC 3261 §20.19 / §21.4.x treat overlarge values as 2^32-1. */
export function parseDeltaSeconds(value: string): number | undefined {
  const s = trimLws(value);
  if (!/^\d+$/.test(s)) return undefined;
  if (s.length > 10) return MAX_DELTA;
  return Math.min(Number(s), MAX_DELTA);
}

export function parseContactValue(value: string, warn: WarnSink): SipContact[] {
  const s = trimLws(value);
  if (s.charCodeAt(0) === 42 /* * */) {
    const p = readHeaderParams(s, 1);
    const ex = p?.['expires'];
    return [{ wildcard: true, expires: typeof ex === 'string' ? parseDeltaSeconds(ex) : undefined }];
  }
  const out: SipContact[] = [];
  if (s.indexOf(',') === -1) addContact(s, warn, out);
  else for (const el of splitList(s)) addContact(el, warn, out);
  return out;
}

const Q_VALUE = /^\s*[01](\.\d{0,3})?\s*$/;

function addContact(el: string, warn: WarnSink, out: SipContact[]): void {
  if (!readNameAddr(el, warn)) {
    warn('malformed_contact');
    return;
  }
  const r = nameAddrRead;
  const { tag, expires: ex, q } = paramsSeen;
  out.push(new ParsedContact(
    r.displayName, r.uri, typeof tag === 'string' ? tag : undefined, r.text, r.paramsAt,
    typeof ex === 'string' ? parseDeltaSeconds(ex) : undefined,
    typeof q === 'string' && Q_VALUE.test(q) ? Number(q) : undefined,
  ));
}

/** A Contact binding: a name-addr (parameters built on first read) with its expires and q picked out. */
export class ParsedContact extends ParsedNameAddr {
  readonly wildcard = false as const;
  readonly expires: number | undefined;
  readonly q: number | undefined;

  constructor(
    displayName: string | undefined, uri: Uri, tag: string | undefined, text: string, paramsAt: number,
    expires: number | undefined, q: number | undefined,
  ) {
    super(displayName, uri, tag, text, paramsAt);
    this.expires = expires;
    this.q = q;
  }

  override toJSON(): object {
    return {
      displayName: this.displayName, uri: this.uri, user: this.user, host: this.host, port: this.port, tag: this.tag,
      params: this.params, wildcard: this.wildcard, expires: this.expires, q: this.q,
    };
  }
}

/** Scheme plus identity parameters of a credentials header; secrets are skipped while scanning. */
export function parseAuthValue(value: string): SipAuthSummary | undefined {
  const s = trimLws(value);
  let i = 0;
  while (i < s.length && !isWsp(s.charCodeAt(i))) i++;
  if (i === 0) return undefined;
  const scheme = s.slice(0, i);
  authRead.username = undefined;
  authRead.realm = undefined;
  // The parts `splitList(s.slice(i))` would give, walked by index: only username and realm are sliced.
  let depth = 0;
  let start = i;
  for (let k = i; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 34) {
      const end = skipQuoted(s, k);
      if (end === -1) break;
      k = end - 1;
    } else if (c === 60) depth++;
    else if (c === 62 && depth > 0) depth--;
    else if (c === 44 && depth === 0) {
      authPart(s, start, k);
      start = k + 1;
    }
  }
  authPart(s, start, s.length);
  const username = authRead.username as string | undefined;
  const at = username === undefined ? -1 : username.indexOf('@');
  return { scheme, username, user: at === -1 ? username : username?.slice(0, at), realm: authRead.realm as string | undefined };
}

/** What `authPart` found so far in the credentials being read. */
const authRead: { username: string | undefined; realm: string | undefined } = { username: undefined, realm: undefined };

/** One `name = value` part of credentials, `s[from, to)`: kept in `authRead` when it is username or realm. */
function authPart(s: string, from: number, to: number): void {
  const eq = s.indexOf('=', from);
  if (eq === -1 || eq >= to) return;
  let a = from;
  let b = eq;
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  const username = nameIs(s, a, b, 'username');
  if (!username && !nameIs(s, a, b, 'realm')) return;
  const raw = trimLws(s.slice(eq + 1, to));
  const text = raw.charCodeAt(0) === 34 ? (readQuoted(raw, 0)?.text ?? undefined) : raw;
  if (username) authRead.username = text;
  else authRead.realm = text;
}

/** RFC 3261 §25.1 SIP-date: rfc1123-date, always GMT. */
const SIP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export function isValidSipDate(value: string): boolean {
  return SIP_DATE.test(trimLws(value));
}
