/** Error codes of the guard. */
import { defineError } from '../shared/errors.ts';

export const GuardErrors = {
  badRules: defineError('TG_GUARD_BAD_RULES', 'The guard rules file or an override has a wrong key or value.'),
  badPrefixList: defineError('TG_GUARD_BAD_PREFIX_LIST', 'A line of the high-risk destination list is not an E.164 prefix.'),
  badEvent: defineError('TG_GUARD_BAD_EVENT', 'A record on sip.events / sip.quarantine is not a versioned event the guard understands.'),
  allowlisted: defineError('TG_GUARD_ALLOWLISTED', 'A block was refused because the address is on the allowlist.'),
  badAddress: defineError('TG_GUARD_BAD_ADDRESS', 'A value is not an IPv4 or IPv6 address.'),
  edgeFailed: defineError('TG_GUARD_EDGE_FAILED', 'An edge proxy (Kamailio JSON-RPC, OpenSIPS MI) refused, answered garbage or timed out.', true),
  webhookFailed: defineError('TG_GUARD_WEBHOOK_FAILED', 'An alert receiver refused or did not answer.', true),
  badReceiver: defineError('TG_GUARD_BAD_RECEIVER', 'An ALERT_WEBHOOKS entry is not a URL of a known receiver shape.'),
} as const;
