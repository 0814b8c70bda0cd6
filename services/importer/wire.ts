/**
 * The HEP wire layer and capture envelope as the importer uses them, imported in this one place (the package is
 * moving from the collector to services/shared/hep; only these lines follow it).
 */
export { decodeHep, encodeHep, formatIpv4, formatIpv6, HepDecodeError, type HepPacket } from '../shared/hep/index.ts';
export { decodeEnvelope } from '../shared/hep/envelope.ts';
