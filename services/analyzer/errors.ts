/** Error codes of the analyzer (consumer, store writer, QoS parsers). */
import { defineError } from '../shared/errors.ts';

export const AnalyzerErrors = {
  badTenantMap: defineError('TG_ANALYZER_BAD_TENANT_MAP',
    'TENANT_DOMAINS has an entry that is not `domain=tenant` (a domain may start with `*.`).'),
  restoreFailed: defineError('TG_ANALYZER_RESTORE_FAILED',
    'Reading the ingest ledger or a tracker snapshot for an assigned partition failed; the partition is retried.', true),
  insertFailed: defineError('TG_ANALYZER_INSERT_FAILED',
    'A batch could not be written to ClickHouse; it is retried with backoff and its offsets are not committed.', true),
  aborted: defineError('TG_ANALYZER_ABORTED',
    'The analyzer stopped while a batch was in flight; its offsets were not committed and it will be replayed.'),
  retentionFailed: defineError('TG_ANALYZER_RETENTION_FAILED',
    'Applying a RETENTION_* setting with ALTER TABLE ... MODIFY TTL failed.', true),
  eventTopicUnknown: defineError('TG_ANALYZER_EVENT_TOPIC_UNKNOWN',
    'The cluster metadata has no partitions for an event topic (`sip.events` / `sip.quarantine`), so its containers cannot be routed; '
    + 'the publish is retried and the batch stays uncommitted.', true),
  rtcpInvalid: defineError('TG_ANALYZER_RTCP_INVALID', 'An RTCP payload is not a valid SR/RR compound packet.'),
  qosJsonInvalid: defineError('TG_ANALYZER_QOS_JSON_INVALID', 'A HEP QoS report is not a JSON object.'),
} as const;
