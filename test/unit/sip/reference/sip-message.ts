/**
 * The parsed message. The framing pass (`parse.ts`) fills in only what every message needs — start line, header
 * list, Call-ID, CSeq, From, To, top Via, body — and everything else is parsed the first time it is read, then
 * cached.
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
import { parseSdp } from './sdp.ts';
import type { SdpSummary } from './sdp.ts';
import { headerKey, isValidSipDate, parseAuthValue, parseContactValue, parseDeltaSeconds, parseViaValue } from './headers.ts';
import { parseHeaderParams, parseSipUri, trimLws } from './uri.ts';
import type { WarnSink } from './uri.ts';

const UNSET: unique symbol = Symbol('unset');
type Lazy<T> = T | typeof UNSET;

const noWarn: WarnSink = () => {};

export interface SipMessageInit {
  kind: 'request' | 'response';
  method: string;
  requestUriRaw: string | undefined;
  statusCode: number | undefined;
  reasonPhrase: string | undefined;
  version: string;
  headers: SipHeader[];
  /** headerKey() of each entry of `headers`, same order. */
  keys: string[];
  body: Buffer;
  callId: string;
  cseq: SipCSeq;
  from: NameAddr;
  to: NameAddr;
  /** Parsed elements of the first Via header; its first element is the top Via. */
  firstVias: SipVia[];
  firstViaIndex: number;
}

export class ParsedSipMessage {
  readonly kind: 'request' | 'response';
  readonly method: string;
  readonly requestUriRaw: string | undefined;
  readonly statusCode: number | undefined;
  readonly reasonPhrase: string | undefined;
  readonly version: string;
  readonly headers: readonly SipHeader[];
  readonly body: Buffer;
  readonly callId: string;
  readonly cseq: SipCSeq;
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly topVia: SipVia | undefined;

  readonly #keys: string[];
  readonly #firstVias: SipVia[];
  readonly #firstViaIndex: number;
  #requestUri: Lazy<Uri | undefined> = UNSET;
  #via: Lazy<readonly SipVia[]> = UNSET;
  #contact: Lazy<readonly SipContact[]> = UNSET;
  #sdp: Lazy<SdpSummary | undefined> = UNSET;

  constructor(init: SipMessageInit) {
    this.kind = init.kind;
    this.method = init.method;
    this.requestUriRaw = init.requestUriRaw;
    this.statusCode = init.statusCode;
    this.reasonPhrase = init.reasonPhrase;
    this.version = init.version;
    this.headers = init.headers;
    this.body = init.body;
    this.callId = init.callId;
    this.cseq = init.cseq;
    this.from = init.from;
    this.to = init.to;
    this.topVia = init.firstVias[0];
    this.#keys = init.keys;
    this.#firstVias = init.firstVias;
    this.#firstViaIndex = init.firstViaIndex;
  }

  header(name: string): string | undefined {
    const key = headerKey(name);
    const i = this.#keys.indexOf(key);
    return i === -1 ? undefined : this.headers[i]?.value;
  }

  headerValues(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] === key) out.push((this.headers[i] as SipHeader).value);
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
      if (i === this.#firstViaIndex) out.push(...this.#firstVias);
      else out.push(...parseViaValue((this.headers[i] as SipHeader).value, warn));
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
      if (this.#keys[i] === 'contact') out.push(...parseContactValue((this.headers[i] as SipHeader).value, warn));
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
    const v = this.header('authorization');
    return v === undefined ? undefined : parseAuthValue(v);
  }

  get proxyAuthorization(): SipAuthSummary | undefined {
    const v = this.header('proxy-authorization');
    return v === undefined ? undefined : parseAuthValue(v);
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
      this.#sdp = this.mediaType === 'application/sdp' && this.body.length > 0 ? parseSdp(this.body) : undefined;
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
