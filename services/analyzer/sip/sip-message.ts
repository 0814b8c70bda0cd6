/**
 * The parsed message. The framing pass (`parse.ts`) fills in only what every message needs — start line, where
 * each header and the body are, Call-ID, CSeq, From, To, top Via — and everything else (other header values, the
 * header list, the body view, every parameter dictionary) is made the first time it is read, then cached.
 */
import type {
  NameAddr,
  SipAuthSummary,
  SipContact,
  SipCSeq,
  SipHeader,
  SipVia,
  Uri,
} from './message.ts';
import * as sdp from './sdp.ts';
import type { SdpSummary } from './sdp.ts';
// When tsx loads these modules as CommonJS (it can, depending on the entry script), every use of an imported name is then a getter call on the exporting module's
// exports object, which V8 does not inline here (measured ~3 µs per message across the parser in the analyzer's
// profile). Hot imports are bound once, at load.
import * as headers from './headers.ts';
import * as uri from './uri.ts';

const { parseSdp } = sdp;
const { canonicalOfKey, headerKey, isValidSipDate, parseAuthValue, parseContactValue, parseDeltaSeconds, parseViaValue } = headers;
const { parseHeaderParams, parseSipUri, trimLws } = uri;
import type { WarnSink } from './uri.ts';

const UNSET: unique symbol = Symbol('unset');
const HIGH = /[\x80-\xff]/;
const EMPTY_BODY: Buffer = Buffer.alloc(0);

/** Header bytes are read as latin1 so indices equal byte offsets; values holding non-ASCII are re-read as UTF-8. */
export function latin1Utf8(v: string): string {
  return HIGH.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
}

/** Header `i`'s value: `values[i]` once read, else sliced from its span of the head `s` (latin1; `spans` holds name
 * start, name end, value start and value end per header), re-read as UTF-8 unless the input is all ASCII, and kept
 * in `values`. */
export function valueAt(s: string, ascii: boolean, spans: readonly number[], values: Array<string | undefined>, i: number): string {
  let v = values[i];
  if (v === undefined) {
    v = s.slice(spans[4 * i + 2] as number, spans[4 * i + 3] as number);
    if (!ascii) v = latin1Utf8(v);
    values[i] = v;
  }
  return v;
}
type Lazy<T> = T | typeof UNSET;

const noWarn: WarnSink = () => {};

export class ParsedSipMessage {
  readonly kind: 'request' | 'response';
  readonly method: string;
  readonly requestUriRaw: string | undefined;
  readonly statusCode: number | undefined;
  readonly reasonPhrase: string | undefined;
  readonly version = 'SIP/2.0';
  readonly callId: string;
  readonly cseq: SipCSeq;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly topVia: SipVia | undefined;

  /** Header keys (headerKey()), and the names and values as spans of the head `#src` (see `valueAt`): a value is
   * sliced on first read into `#values`, a name only if the `headers` list is asked for. */
  readonly #keys: string[];
  readonly #src: string;
  readonly #ascii: boolean;
  readonly #spans: number[];
  readonly #values: Array<string | undefined>;
  /** The input and where the body is in it: the Buffer view is made on first read. */
  readonly #input: Buffer;
  readonly #bodyStart: number;
  readonly #bodyEnd: number;
  #body: Buffer | undefined;
  readonly #firstVias: SipVia[];
  readonly #firstViaIndex: number;
  #headers: SipHeader[] | undefined;
  #requestUri: Lazy<Uri | undefined> = UNSET;
  #via: Lazy<readonly SipVia[]> = UNSET;
  #contact: Lazy<readonly SipContact[]> = UNSET;
  #sdp: Lazy<SdpSummary | undefined> = UNSET;
  /** Cached: the row and the registration tracker both read the credentials of every REGISTER. */
  #authorization: Lazy<SipAuthSummary | undefined> = UNSET;
  #proxyAuthorization: Lazy<SipAuthSummary | undefined> = UNSET;

  /** Positional rather than an options object: one object fewer per message. `firstVias` are the parsed elements
   * of the first Via header (index `firstViaIndex`); its first element is the top Via. */
  constructor(
    kind: 'request' | 'response', method: string, requestUriRaw: string | undefined, statusCode: number | undefined,
    reasonPhrase: string | undefined, keys: string[], src: string, ascii: boolean, spans: number[],
    values: Array<string | undefined>, input: Buffer, bodyStart: number, bodyEnd: number, callId: string, cseq: SipCSeq,
    from: NameAddr, to: NameAddr, firstVias: SipVia[], firstViaIndex: number,
  ) {
    this.kind = kind;
    this.method = method;
    this.requestUriRaw = requestUriRaw;
    this.statusCode = statusCode;
    this.reasonPhrase = reasonPhrase;
    this.callId = callId;
    this.cseq = cseq;
    this.from = from;
    this.to = to;
    this.topVia = firstVias[0];
    this.#keys = keys;
    this.#src = src;
    this.#ascii = ascii;
    this.#spans = spans;
    this.#values = values;
    this.#input = input;
    this.#bodyStart = bodyStart;
    this.#bodyEnd = bodyEnd;
    this.#firstVias = firstVias;
    this.#firstViaIndex = firstViaIndex;
  }

  /** A view on the input, made on first read: the analyzer stores the whole payload, not the body. */
  get body(): Buffer {
    if (this.#body === undefined) {
      this.#body = this.#bodyEnd > this.#bodyStart ? this.#input.subarray(this.#bodyStart, this.#bodyEnd) : EMPTY_BODY;
    }
    return this.#body;
  }

  /** As `headers` shows it: the canonical name of a known header, an unknown one as written. */
  #name(i: number): string {
    return canonicalOfKey(this.#keys[i] as string) ?? this.#src.slice(this.#spans[4 * i] as number, this.#spans[4 * i + 1] as number);
  }

  #value(i: number): string {
    return valueAt(this.#src, this.#ascii, this.#spans, this.#values, i);
  }

  /** Built on first use: the analyzer's hot path reads headers by name, never the list. */
  get headers(): readonly SipHeader[] {
    if (this.#headers === undefined) {
      const n = this.#keys.length;
      const list = new Array<SipHeader>(n);
      for (let i = 0; i < n; i++) list[i] = { name: this.#name(i), value: this.#value(i) };
      this.#headers = list;
    }
    return this.#headers;
  }

  header(name: string): string | undefined {
    const i = this.#keys.indexOf(headerKey(name));
    return i === -1 ? undefined : this.#value(i);
  }

  headerValues(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] === key) out.push(this.#value(i));
    return out;
  }

  get requestUri(): Uri | undefined {
    if (this.#requestUri === UNSET) {
      this.#requestUri = this.requestUriRaw === undefined ? undefined : (parseSipUri(this.requestUriRaw) ?? undefined);
    }
    return this.#requestUri;
  }

  /** Parses all Vias, reporting defects to `warn`; used by the getter and by deep mode. */
  collectVias(warn: WarnSink): SipVia[] {
    const out: SipVia[] = [];
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#keys[i] !== 'via') continue;
      if (i === this.#firstViaIndex) for (const v of this.#firstVias) out.push(v);
      else parseViaValue(this.#value(i), warn, out);
    }
    return out;
  }

  get via(): readonly SipVia[] {
    if (this.#via === UNSET) this.#via = this.collectVias(noWarn);
    return this.#via;
  }

  collectContacts(warn: WarnSink): SipContact[] {
    const out: SipContact[] = [];
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#keys[i] === 'contact') for (const c of parseContactValue(this.#value(i), warn)) out.push(c);
    }
    return out;
  }

  get contact(): readonly SipContact[] {
    if (this.#contact === UNSET) this.#contact = this.collectContacts(noWarn);
    return this.#contact;
  }

  get maxForwards(): number | undefined {
    const v = this.header('max-forwards');
    if (v === undefined) return undefined;
    const s = trimLws(v);
    if (!/^\d{1,10}$/.test(s)) return undefined;
    const n = Number(s);
    return n > 255 ? undefined : n;
  }

  get expires(): number | undefined {
    const v = this.header('expires');
    return v === undefined ? undefined : parseDeltaSeconds(v);
  }

  get userAgent(): string | undefined {
    return this.header('user-agent');
  }

  get server(): string | undefined {
    return this.header('server');
  }

  get contentType(): string | undefined {
    return this.header('content-type');
  }

  get mediaType(): string | undefined {
    const ct = this.contentType;
    if (ct === undefined) return undefined;
    const semi = ct.indexOf(';');
    return trimLws(semi === -1 ? ct : ct.slice(0, semi)).replace(/[ \t]+/g, '').toLowerCase();
  }

  get contentLength(): number | undefined {
    const v = this.header('content-length');
    if (v === undefined) return undefined;
    const s = trimLws(v);
    return /^\d{1,15}$/.test(s) ? Number(s) : undefined;
  }

  get authorization(): SipAuthSummary | undefined {
    if (this.#authorization === UNSET) {
      const v = this.header('authorization');
      this.#authorization = v === undefined ? undefined : parseAuthValue(v);
    }
    return this.#authorization;
  }

  get proxyAuthorization(): SipAuthSummary | undefined {
    if (this.#proxyAuthorization === UNSET) {
      const v = this.header('proxy-authorization');
      this.#proxyAuthorization = v === undefined ? undefined : parseAuthValue(v);
    }
    return this.#proxyAuthorization;
  }

  get xCid(): string | undefined {
    return this.header('x-cid');
  }

  /** icid-value of P-Charging-Vector (RFC 7315 §4.6): the IMS-wide charging correlation id. */
  get icid(): string | undefined {
    const v = this.header('p-charging-vector');
    if (v === undefined) return undefined;
    const p = parseHeaderParams(`;${v.replace(/^[ \t]*;/, '')}`, 0);
    const id = p?.params['icid-value'];
    return typeof id === 'string' ? id : undefined;
  }

  get broadworksCorrelation(): string | undefined {
    return this.header('x-broadworks-correlation-info');
  }

  get sdp(): SdpSummary | undefined {
    if (this.#sdp === UNSET) {
      this.#sdp = this.mediaType === 'application/sdp' && this.#bodyEnd > this.#bodyStart ? parseSdp(this.body) : undefined;
    }
    return this.#sdp;
  }

  /** Parses what the hot path leaves alone and reports every defect found (ParseOptions.deep). */
  deepCheck(warn: WarnSink): void {
    this.#via = this.collectVias(warn);
    this.#contact = this.collectContacts(warn);
    const mf = this.header('max-forwards');
    if (mf !== undefined && this.maxForwards === undefined) warn('bad_max_forwards');
    const ex = this.header('expires');
    if (ex !== undefined && (this.expires === undefined || trimLws(ex).length > 10)) warn('bad_expires');
    const date = this.header('date');
    if (date !== undefined && !isValidSipDate(date)) warn('bad_date');
    if (this.kind === 'request' && this.requestUri === undefined) warn('bad_request_uri_syntax');
  }
}
