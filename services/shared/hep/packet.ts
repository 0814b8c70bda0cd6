/**
 * The HEP domain type shared by the collector's wire layer and everything downstream, plus the error raised when
 * bytes cannot become one. Nothing here touches sockets.
 */
import { TollgateError, defineError, type ErrorSpec } from '../errors.ts';

/** Payload protocol types we branch on; any other value is kept as its number. */
export const HepPayloadType = {
  SIP: 1,
  RTCP: 5,
  QOS_REPORT: 32,
  QOS_RTPAGENT: 34,
  QOS_RTCPXR: 35,
  DNS: 53,
  LOG: 100,
} as const;

export interface HepVendorChunk {
  readonly vendor: number;
  readonly type: number;
  /** A view into the received datagram or frame, not a copy. */
  readonly value: Buffer;
}

export interface HepPacket {
  /** HEPv1 carries no timestamp, so it is rejected rather than given an invented one. */
  version: 2 | 3;
  ipFamily: 4 | 6;
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP...). */
  protocol: number;
  /** Dotted quad for IPv4, RFC 5952 text for IPv6; empty when the sender sent no address. */
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  timestampSec: number;
  timestampUsec: number;
  /** See {@link HepPayloadType}. */
  payloadType: number;
  captureId: number;
  authKey?: string;
  /**
   * The captured bytes exactly as sent. Decoding returns a view into the input buffer: keep the input alive and
   * unmodified as long as the payload is used, or copy it.
   */
  payload: Buffer;
  correlationId?: string;
  nodeName?: string;
  vlan?: number;
  mos?: number;
  keepAliveTimer?: number;
  /** True when the payload arrived in chunk 16 (compressed); it is kept compressed. */
  compressed?: boolean;
  vendorChunks?: HepVendorChunk[];
  /** Generic (vendor 0) chunks of a type we do not know; skipped, counted so operators can notice new senders. */
  unknownChunks?: number;
}

/** Chunk type numbers of the generic (vendor 0) HEPv3 chunks. */
export const HepChunk = {
  IP_FAMILY: 1,
  IP_PROTOCOL: 2,
  IPV4_SRC: 3,
  IPV4_DST: 4,
  IPV6_SRC: 5,
  IPV6_DST: 6,
  SRC_PORT: 7,
  DST_PORT: 8,
  TIMESTAMP_SEC: 9,
  TIMESTAMP_USEC: 10,
  PAYLOAD_TYPE: 11,
  CAPTURE_ID: 12,
  KEEP_ALIVE: 13,
  AUTH_KEY: 14,
  PAYLOAD: 15,
  COMPRESSED_PAYLOAD: 16,
  CORRELATION_ID: 17,
  VLAN: 18,
  NODE_NAME: 19,
  MOS: 32,
} as const;

/** HEP's 16-bit length field puts a hard ceiling on a packet. */
export const HEP_MAX_PACKET_SIZE = 0xffff;
export const HEP3_HEADER_SIZE = 6;
export const HEP_CHUNK_HEADER_SIZE = 6;

export type HepDecodeReason =
  | 'bad_magic'
  | 'bad_length'
  | 'too_large'
  | 'truncated_header'
  | 'truncated_chunk'
  | 'bad_chunk_length'
  | 'missing_payload'
  | 'unsupported_version'
  | 'bad_ip_family'
  | 'truncated_stream'
  | 'hepjs_rejected';

/** One registered code per reason; `reason` is the short form used as a metrics label. */
export const HepErrors = {
  bad_magic: defineError('TG_HEP_BAD_MAGIC', 'Neither a HEPv3 magic nor a HEPv2 version byte'),
  bad_length: defineError('TG_HEP_BAD_LENGTH', 'HEP total length field disagrees with the datagram or frame'),
  too_large: defineError('TG_HEP_TOO_LARGE', 'HEP packet larger than the configured maximum'),
  truncated_header: defineError('TG_HEP_TRUNCATED_HEADER', 'Packet shorter than its fixed header'),
  truncated_chunk: defineError('TG_HEP_TRUNCATED_CHUNK', 'HEP chunk runs past the end of the packet'),
  bad_chunk_length: defineError('TG_HEP_BAD_CHUNK_LENGTH', 'HEP chunk length below 6 or wrong for a fixed-size chunk'),
  missing_payload: defineError('TG_HEP_MISSING_PAYLOAD', 'HEP packet without a payload chunk'),
  unsupported_version: defineError('TG_HEP_UNSUPPORTED_VERSION', 'HEP version other than 2 or 3'),
  bad_ip_family: defineError('TG_HEP_BAD_IP_FAMILY', 'HEPv2 address family neither AF_INET nor AF_INET6'),
  truncated_stream: defineError('TG_HEP_TRUNCATED_STREAM', 'HEP stream ended in the middle of a packet'),
  hepjs_rejected: defineError('TG_HEP_HEPJS_REJECTED', 'hep-js could not decode the packet (it gives no reason)'),
} as const satisfies Record<HepDecodeReason, ErrorSpec>;

export class HepDecodeError extends TollgateError {
  readonly reason: HepDecodeReason;
  /** The generic chunk type at fault, for chunk-level reasons. */
  readonly chunkType: number | undefined;

  constructor(reason: HepDecodeReason, message: string, details: Record<string, unknown> = {}) {
    super(HepErrors[reason], message, details);
    this.name = 'HepDecodeError';
    this.reason = reason;
    const ct = details['chunkType'];
    this.chunkType = typeof ct === 'number' ? ct : undefined;
  }
}

export type HepEncodeReason = 'bad_field' | 'too_large';

export const HepEncodeErrors = {
  bad_field: defineError('TG_HEP_ENCODE_BAD_FIELD', 'A HepPacket field cannot be represented on the wire'),
  too_large: defineError('TG_HEP_ENCODE_TOO_LARGE', 'Encoded HEP packet would exceed 65535 bytes'),
} as const satisfies Record<HepEncodeReason, ErrorSpec>;

export class HepEncodeError extends TollgateError {
  readonly reason: HepEncodeReason;

  constructor(reason: HepEncodeReason, message: string, details: Record<string, unknown> = {}) {
    super(HepEncodeErrors[reason], message, details);
    this.name = 'HepEncodeError';
    this.reason = reason;
  }
}
