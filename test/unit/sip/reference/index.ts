export { parseSip } from './parse.ts';
export { parseSipUri, parseNameAddr, decodePercent } from './uri.ts';
export { parseSdp, effectiveDirection } from './sdp.ts';
export { canonicalName } from './headers.ts';
export { SIP_PARSE_REASONS, SIP_PARSE_WARNINGS } from './message.ts';
export type {
  NameAddr,
  OtherUri,
  ParseOptions,
  ParseResult,
  SipAuthSummary,
  SipContact,
  SipCSeq,
  SipHeader,
  SipMessage,
  SipParams,
  SipParseReason,
  SipParseWarning,
  SipRequest,
  SipResponse,
  SipUri,
  SipVia,
  Uri,
} from './message.ts';
export type { SdpConnection, SdpDirection, SdpMedia, SdpOrigin, SdpRtpMap, SdpSummary } from './sdp.ts';
