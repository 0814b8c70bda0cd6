/**
 * Domain types for a parsed SIP message. Type-only: the lazy implementation lives in `sip-message.ts`, the
 * framing in `parse.ts`. Everything here is what the analyzer is allowed to depend on.
 */
import type { SdpSummary } from './sdp.ts';

/** Parameters keyed by lower-cased name; `null` marks a flag parameter without `=value`. Null-prototype objects. */
export type SipParams = Readonly<Record<string, string | null>>;

/**
 * sip:, sips: and tel: URIs. The password of `user:password@host` is dropped on purpose: captured traffic must
 * not leak credentials into storage. For tel: the subscriber number is in `user` and `host` is ''.
 * IPv6 hosts are stored without their brackets. `user`, parameter names/values and header values are %-decoded.
 */
export interface SipUri {
  readonly kind: 'sip';
  readonly scheme: 'sip' | 'sips' | 'tel';
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: SipParams;
  readonly headers: Readonly<Record<string, string>>;
}

/** Any other absolute URI (http:, urn:, isbn:, ...): RFC 3261 allows them everywhere a URI may appear. */
export interface OtherUri {
  readonly kind: 'other';
  readonly scheme: string;
  readonly opaque: string;
}

export type Uri = SipUri | OtherUri;

/** A From/To/Contact/Route value: optional display name, URI, header parameters (tag, expires, q ...). */
export interface NameAddr {
  /** Unquoted and unescaped; `undefined` when absent, '' when written as `""`. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  /** Shortcuts into `uri` when it is a SIP/tel URI. */
  readonly user: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly tag: string | undefined;
  readonly params: SipParams;
}

export interface SipVia {
  /** e.g. `SIP/2.0`, upper-cased, whitespace removed. */
  readonly protocol: string;
  /** Upper-cased: UDP, TCP, TLS, SCTP, WS, WSS or whatever the sender wrote. */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly branch: string | undefined;
  readonly received: string | undefined;
  /** `true` when `rport` is present without a value (the request side of RFC 3581). */
  readonly rport: number | true | undefined;
  readonly params: SipParams;
}

export interface SipCSeq {
  readonly seq: number;
  readonly method: string;
}

export type SipContact =
  | { readonly wildcard: true; readonly expires: number | undefined }
  | (NameAddr & { readonly wildcard: false; readonly expires: number | undefined; readonly q: number | undefined });

/** Identity bits of an Authorization/Proxy-Authorization header. Nonce, response, cnonce are never exposed. */
export interface SipAuthSummary {
  readonly scheme: string;
  /** The `username` parameter as written (may be `user@domain`). */
  readonly username: string | undefined;
  /** `username` without a `@domain` suffix. */
  readonly user: string | undefined;
  readonly realm: string | undefined;
}

/** A header as it appeared: `name` in canonical long form for known headers (compact `i` becomes `Call-ID`),
 * as written otherwise; `value` unfolded (CRLF+LWS became one SP) and trimmed, otherwise untouched. */
export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

interface SipMessageBase {
  /** `SIP/2.0`. */
  readonly version: string;
  readonly headers: readonly SipHeader[];
  /** First value of a header, looked up case-insensitively; compact and long forms are interchangeable. */
  header(name: string): string | undefined;
  /** Every value of a header in order (repeated headers; comma lists are not split). */
  headerValues(name: string): string[];

  readonly callId: string;
  readonly cseq: SipCSeq;
  readonly from: NameAddr;
  readonly to: NameAddr;
  /** Top-most Via, parsed eagerly because the branch identifies the transaction. Undefined only for messages
   * without any Via (abbreviated examples, stripped captures; flagged `missing_via`). */
  readonly topVia: SipVia | undefined;
  /** All Vias, repeated headers and comma-separated values alike, top first. Elements that cannot be parsed are
   * skipped (see the `malformed_via` warning in deep mode). */
  readonly via: readonly SipVia[];
  /** Unparseable Contact elements are skipped. */
  readonly contact: readonly SipContact[];
  readonly maxForwards: number | undefined;
  /** The Expires header in seconds; overlarge values are clamped to 2^32-1 as RFC 3261 asks. */
  readonly expires: number | undefined;
  readonly userAgent: string | undefined;
  readonly server: string | undefined;
  /** The Content-Type header as written. */
  readonly contentType: string | undefined;
  /** `type/subtype` of Content-Type, lower-cased, without parameters. */
  readonly mediaType: string | undefined;
  /** The Content-Length header value, if present and numeric. */
  readonly contentLength: number | undefined;
  readonly authorization: SipAuthSummary | undefined;
  readonly proxyAuthorization: SipAuthSummary | undefined;
  /** Correlation helpers for B2BUAs that hide the A-leg Call-ID. */
  readonly xCid: string | undefined;
  readonly icid: string | undefined;
  readonly broadworksCorrelation: string | undefined;
  /** A view on the input, not a copy: hold on to it and you hold the whole input buffer. */
  readonly body: Buffer;
  /** Summary of an `application/sdp` body; undefined for other bodies (multipart is not unpacked). */
  readonly sdp: SdpSummary | undefined;
}

export interface SipRequest extends SipMessageBase {
  readonly kind: 'request';
  readonly method: string;
  readonly requestUriRaw: string;
  /** Undefined only when a sip:/sips: Request-URI is syntactically broken beyond repair. */
  readonly requestUri: Uri | undefined;
  readonly statusCode: undefined;
  readonly reasonPhrase: undefined;
}

export interface SipResponse extends SipMessageBase {
  readonly kind: 'response';
  /** For a response: the CSeq method, i.e. the method of the request it answers. */
  readonly method: string;
  readonly requestUriRaw: undefined;
  readonly requestUri: undefined;
  readonly statusCode: number;
  /** UTF-8 decoded, may be ''. */
  readonly reasonPhrase: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Stable failure codes: the analyzer stores them with quarantined messages and counts them by code. */
export const SIP_PARSE_REASONS = [
  'empty',
  'too_large',
  'binary_junk',
  'bad_start_line',
  'bad_method',
  'bad_request_uri',
  'bad_version',
  'bad_status_code',
  'header_without_colon',
  'bad_header_name',
  'missing_call_id',
  'missing_cseq',
  'bad_cseq',
  'missing_from',
  'bad_from',
  'missing_to',
  'bad_to',
  'bad_via',
  'bad_content_length',
  'content_length_mismatch',
  'internal_error',
] as const;
export type SipParseReason = (typeof SIP_PARSE_REASONS)[number];

/** Stable warning codes: the message was accepted but bent a rule. Each appears at most once per result. */
export const SIP_PARSE_WARNINGS = [
  'bare_lf',
  'lws_in_start_line',
  'request_uri_headers',
  'unterminated_headers',
  'trailing_bytes',
  'conflicting_content_length',
  'duplicate_header',
  'cseq_method_mismatch',
  'lws_in_addr_spec',
  'unquoted_display_name',
  'malformed_via',
  'missing_via',
  // The rest are only reported with `deep: true`, because they need headers the hot path never parses.
  'malformed_contact',
  'unbracketed_uri_with_headers',
  'bad_max_forwards',
  'bad_expires',
  'bad_date',
  'bad_request_uri_syntax',
] as const;
export type SipParseWarning = (typeof SIP_PARSE_WARNINGS)[number];

export type ParseResult =
  | { readonly ok: true; readonly message: SipMessage; readonly warnings: SipParseWarning[] }
  | {
      readonly ok: false;
      readonly reason: SipParseReason;
      readonly detail: string;
      /** Present when the header block could be read far enough to find one: enough to file the quarantined
       * message next to its dialog. */
      readonly callId?: string;
    };

export interface ParseOptions {
  /** Inputs above this many bytes fail with `too_large` before any work. Default 65535 (a UDP datagram). */
  readonly maxBytes?: number;
  /** Also parse every structured header now and report the defects found as warnings. Costs a few times the
   * lazy parse; meant for quarantine diagnostics and tests, not the hot path. */
  readonly deep?: boolean;
}
