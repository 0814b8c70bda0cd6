/**
 * Header names (compact and long forms) and the parsers for structured header values that are not name-addr.
 */
import type { SipAuthSummary, SipContact, SipCSeq, SipVia } from './message.ts';
import { isTokenChar, isWsp, parseHeaderParams, parseNameAddr, readQuoted, skipWs, splitList, trimLws } from './uri.ts';
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

/** Canonical long name for a known header, `undefined` for any other; `name` as written, any case. */
export function canonicalName(name: string): string | undefined {
  return EXACT.get(name) ?? CANON.get(name.toLowerCase());
}

/** Lookup key used internally: the lower-cased canonical name, so `i`, `Call-Id` and `CALL-ID` collide. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  const canon = CANON.get(lower);
  return canon === undefined ? lower : canon.toLowerCase();
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
  const method = s.slice(i);
  if (method.length === 0) return null;
  for (let k = 0; k < method.length; k++) if (!isTokenChar(method.charCodeAt(k))) return null;
  return { seq, method };
}

function readToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i)) && s.charCodeAt(i) !== 47) i++;
  return i;
}

/** One via-parm: `SIP / 2.0 / UDP host[:port] *(;param)`, LWS allowed around the slashes (RFC 4475 wsinv). */
export function parseViaElement(el: string): { via: SipVia; clean: boolean } | null {
  const s = trimLws(el);
  let i = 0;
  const parts: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (k > 0) {
      i = skipWs(s, i);
      if (s.charCodeAt(i) !== 47) return null;
      i = skipWs(s, i + 1);
    }
    const start = i;
    i = readToken(s, i);
    if (i === start) return null;
    parts.push(s.slice(start, i));
    if (k < 2) i = skipWs(s, i);
  }
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
  const p = parseHeaderParams(s, i);
  if (p === null) return null;
  const params = p.params;
  const rp = params['rport'];
  let rport: number | true | undefined;
  if (rp === null) rport = true;
  else if (rp !== undefined && rp.length > 0 && rp.length <= 5) {
    const v = Number(rp);
    if (Number.isInteger(v) && v >= 0 && /^\d+$/.test(rp)) rport = v;
  }
  const branch = params['branch'];
  const received = params['received'];
  return {
    via: {
      protocol: `${(parts[0] as string).toUpperCase()}/${parts[1] as string}`,
      transport: (parts[2] as string).toUpperCase(),
      host,
      port,
      branch: branch === null ? '' : branch,
      received: received === null ? undefined : received,
      rport,
      params,
    },
    clean: !p.empty && p.end === s.length,
  };
}

/** Every via-parm of one Via header value. Empty or broken elements are dropped and reported as malformed. */
export function parseViaValue(value: string, warn: WarnSink): SipVia[] {
  const out: SipVia[] = [];
  for (const el of splitList(value)) {
    const r = parseViaElement(el);
    if (r === null) {
      warn('malformed_via');
      continue;
    }
    if (!r.clean) warn('malformed_via');
    out.push(r.via);
  }
  return out;
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
  if (s.startsWith('*')) {
    const p = parseHeaderParams(s, 1);
    const ex = p?.params['expires'];
    return [{ wildcard: true, expires: typeof ex === 'string' ? parseDeltaSeconds(ex) : undefined }];
  }
  const out: SipContact[] = [];
  for (const el of splitList(s)) {
    const na = parseNameAddr(el, warn);
    if (na === null) {
      warn('malformed_contact');
      continue;
    }
    const ex = na.params['expires'];
    const q = na.params['q'];
    const qn = typeof q === 'string' && /^\s*[01](\.\d{0,3})?\s*$/.test(q) ? Number(q) : undefined;
    out.push({ ...na, wildcard: false, expires: typeof ex === 'string' ? parseDeltaSeconds(ex) : undefined, q: qn });
  }
  return out;
}

/** Scheme plus identity parameters of a credentials header; secrets are skipped while scanning. */
export function parseAuthValue(value: string): SipAuthSummary | undefined {
  const s = trimLws(value);
  let i = 0;
  while (i < s.length && !isWsp(s.charCodeAt(i))) i++;
  if (i === 0) return undefined;
  const scheme = s.slice(0, i);
  let username: string | undefined;
  let realm: string | undefined;
  for (const part of splitList(s.slice(i))) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = trimLws(part.slice(0, eq)).toLowerCase();
    if (name !== 'username' && name !== 'realm') continue;
    const raw = trimLws(part.slice(eq + 1));
    const text = raw.charCodeAt(0) === 34 ? (readQuoted(raw, 0)?.text ?? undefined) : raw;
    if (name === 'username') username = text;
    else realm = text;
  }
  const at = username === undefined ? -1 : username.indexOf('@');
  return { scheme, username, user: at === -1 ? username : username?.slice(0, at), realm };
}

/** RFC 3261 §25.1 SIP-date: rfc1123-date, always GMT. */
const SIP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export function isValidSipDate(value: string): boolean {
  return SIP_DATE.test(trimLws(value));
}
