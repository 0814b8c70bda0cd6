/**
 * The capture contract between the collector and the analyzer: the HEP wire layer (decode, encode, stream framing)
 * and the capture envelope every Kafka record carries. Both services import it from here; neither reaches into
 * the other.
 */
export {
  HEP3_HEADER_SIZE,
  HEP_CHUNK_HEADER_SIZE,
  HEP_MAX_PACKET_SIZE,
  HepChunk,
  HepDecodeError,
  HepEncodeError,
  HepEncodeErrors,
  HepErrors,
  HepPayloadType,
} from './packet.ts';
export type { HepDecodeReason, HepEncodeReason, HepPacket, HepVendorChunk } from './packet.ts';
export { decodeHep, hepJsDecode } from './decode.ts';
export type { DecodeOptions } from './decode.ts';
export { encodeHep, encodeHepV2 } from './encode.ts';
export { HepStreamFramer } from './framing.ts';
export type { FramerOutput, HepStreamFramerOptions } from './framing.ts';
export { formatIpv4, formatIpv6, parseIpv4, writeIpv6 } from './ip.ts';
export {
  decodeEnvelope, encodeEnvelope, envelopeHeaderSize, EnvelopeErrors, senderFromSocket,
  ENVELOPE_MAGIC, ENVELOPE_VERSION, FLAG_TS_FIXED, TRANSPORTS,
} from './envelope.ts';
export type { Envelope, EnvelopeSender, Transport } from './envelope.ts';
export { withoutChunk } from './strip.ts';
export { HepView, scanHep } from './scan.ts';
