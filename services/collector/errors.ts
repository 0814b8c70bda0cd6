/** Error codes of the collector's own layers (intake, listeners, service wiring); the wire layer has TG_HEP_*. */
import { defineError } from '../shared/errors.ts';
import { EnvelopeErrors } from '../shared/hep/envelope.ts';

export const CollectorErrors = {
  badTlsConfig: defineError('TG_COLLECTOR_TLS_CONFIG',
    'HEP_TLS_PORT, HEP_TLS_CERT and HEP_TLS_KEY must be set together, and the files must be readable.'),
  badCidr: defineError('TG_COLLECTOR_BAD_CIDR', 'An entry of HEP_ALLOWED_SOURCES is not an IPv4 or IPv6 CIDR.'),
  bindFailed: defineError('TG_COLLECTOR_BIND_FAILED', 'A HEP listener could not bind its address and port.', true),
  /** Defined with the envelope, in the capture contract shared with the analyzer. */
  badEnvelope: EnvelopeErrors.badEnvelope,
  listenerFailed: defineError('TG_COLLECTOR_LISTENER_FAILED', 'A HEP listener socket failed after it was bound.', true),
} as const;
