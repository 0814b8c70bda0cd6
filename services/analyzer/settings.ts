/** Settings of the analyzer: consumer group and batching, retention per table, tenants, correlation windows. */
import { s } from '../shared/config/settings.ts';

const DAY_FORM_MAX = 3650;

function retention(env: string, def: number, what: string) {
  return s.int(env, def, 1, DAY_FORM_MAX,
    `Days ${what} are kept, counted from the later of capture time and arrival (so a replayed old capture is kept too; `
    + 'ClickHouse TTL, applied at start with `ALTER TABLE ... MODIFY TTL` when it differs).');
}

export const analyzerSettings = {
  analyzerGroupId: s.string('ANALYZER_GROUP_ID', 'tollgate-analyzer',
    'Kafka consumer group of the analyzer; part of every ClickHouse deduplication token, so changing it starts a new ingest history.',
    /^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" or "-" (1-100)'),
  analyzerBatchMaxRows: s.int('ANALYZER_BATCH_MAX_ROWS', 20_000, 1, 1_000_000,
    'Most Kafka records per partition in one ClickHouse insert batch. Larger batches spread the fixed cost of a batch '
    + '(ledger row, one insert per table, event publish, commit) over more rows; `ANALYZER_BATCH_MAX_WAIT` still bounds the latency.'),
  analyzerInsertFormat: s.enumOf('ANALYZER_INSERT_FORMAT', ['rowbinary', 'json'] as const, 'rowbinary',
    'Body format of the analyzer\'s ClickHouse inserts: `rowbinary` (binary, written straight from the rows, times as Int64 µs) or '
    + '`json` (JSONCompactEachRow, times as text, the earlier format). Same columns, token and stored values; `rowbinary` costs '
    + 'less analyzer CPU per row (bench/PROFILE.md, "Binary inserts").'),
  analyzerBatchMaxWait: s.duration('ANALYZER_BATCH_MAX_WAIT', 500,
    'Longest a fetch waits for records before a partition\'s batch is written anyway (bounds ingest latency).', '500ms'),
  analyzerBatchMaxBytes: s.int('ANALYZER_BATCH_MAX_BYTES', 16 * 1024 * 1024, 65_536, 256 * 1024 * 1024,
    'Most bytes fetched per partition for one batch (a fetch returns at most four times this over all partitions).'),
  analyzerSessionTimeout: s.duration('ANALYZER_SESSION_TIMEOUT', 30_000,
    'Kafka group session timeout: how long a crashed analyzer keeps its partitions before the group hands them to another member '
    + '(the broker allows 6s-5m by default).', '30s'),
  analyzerSnapshotInterval: s.duration('ANALYZER_SNAPSHOT_INTERVAL', 5_000,
    'Least time between two saved correlation-tracker snapshots of a partition (taken after a committed batch; `0s`: after every batch). '
    + 'A restart replays, deduplicated, from the newest snapshot, so this bounds the replay work, not correctness.', '5s'),
  analyzerIdleAdvance: s.duration('ANALYZER_IDLE_ADVANCE', 500,
    'How often an idle SIP partition\'s correlation clock is moved on: it runs from the last record at wall-clock speed, '
    + 'less `DIALOG_REORDER_WINDOW`, so calls and registrations are written when traffic stops (a call about three reorder windows '
    + 'plus this after its last message). Each advance is recorded in `ingest_advances` and replayed identically after a restart. `0s` never: records '
    + 'then wait for more traffic on their partition.', '500ms'),
  analyzerSipEvents: s.bool('ANALYZER_SIP_EVENTS', true,
    'Publish normalized SIP events (`sip.events`) and quarantine events (`sip.quarantine`) for the detectors.'),
  analyzerSipEventsFormat: s.enumOf('ANALYZER_SIP_EVENTS_FORMAT', ['v2', 'v1'] as const, 'v2',
    'Record format of `sip.events` / `sip.quarantine`: `v2` packs a batch\'s events per target partition into few records '
    + '(newline-delimited JSON, same partitions, same event ids, only the fields the detectors read; far less analyzer CPU per message: bench/PROFILE.md), `v1` writes one '
    + 'event per record. The guard reads both; set `v1` only while an older guard (which reads `v1` alone) still consumes the topics.'),
  analyzerEventsKafkaClient: s.enumOf('ANALYZER_EVENTS_KAFKA_CLIENT', ['platformatic', 'kafkajs'] as const, 'platformatic',
    'Kafka client of the event producer (`ANALYZER_SIP_EVENTS`). Both are idempotent, acks=all, same key → partition mapping; '
    + '`platformatic` (@platformatic/kafka) costs less analyzer CPU per event (bench/README.md).'),
  retentionSipMessages: retention('RETENTION_SIP_MESSAGES', 30, 'captured SIP messages (`sip_messages`)'),
  retentionSipQuarantine: retention('RETENTION_SIP_QUARANTINE', 30, 'quarantined packets (`sip_quarantine`)'),
  retentionQos: retention('RETENTION_QOS', 30, 'RTCP and QoS reports (`qos`)'),
  retentionCalls: retention('RETENTION_CALLS', 180, 'call records (`calls`)'),
  retentionRegistrations: retention('RETENTION_REGISTRATIONS', 90, 'REGISTER transactions (`registrations`)'),
  tenantDomains: s.string('TENANT_DOMAINS', '',
    'Maps SIP domains to tenants: `domain=tenant` pairs separated by commas; `*.example.com` matches sub-domains. '
    + 'A message takes the tenant of the first of its From, To and Request-URI domains (To first for REGISTER) that is mapped.',
    /^\s*(\*\.)?[A-Za-z0-9.:\[\]_-]+\s*=\s*[A-Za-z0-9_.-]+(\s*,\s*(\*\.)?[A-Za-z0-9.:\[\]_-]+\s*=\s*[A-Za-z0-9_.-]+)*\s*$/,
    'a comma-separated list of domain=tenant'),
  defaultTenant: s.string('DEFAULT_TENANT', 'default', 'Tenant of rows whose domains are not in `TENANT_DOMAINS`.',
    /^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1-64)'),
  blegHeaders: s.string('BLEG_CORRELATION_HEADERS', 'X-CID',
    'Headers carrying the A-leg Call-ID on B-legs, in priority order (tried before the HEP correlation id and the P-Charging-Vector icid).',
    /^\s*[A-Za-z0-9!%*_+`'~.-]+(\s*,\s*[A-Za-z0-9!%*_+`'~.-]+)*\s*$/, 'a comma-separated list of header names'),
  dialogReorderWindow: s.duration('DIALOG_REORDER_WINDOW', 2_000,
    'How far out of capture-time order messages of a call may arrive; records are written this long after they close.', '2s'),
  dialogSetupTimeout: s.duration('DIALOG_SETUP_TIMEOUT', 180_000,
    'An INVITE without final response is closed (`no_final_response`) this long after its last message; also how long after a '
    + '401/407 challenge the authenticated retry (same Call-ID and From-tag, higher CSeq) still belongs to the same call.', '180s'),
  dialogAnsweredIdleTimeout: s.duration('DIALOG_ANSWERED_IDLE_TIMEOUT', 7_200_000,
    'An answered call without BYE is closed (`timeout_without_bye`) this long after its last message.', '2h'),
  dialogMaxDuration: s.duration('DIALOG_MAX_DURATION', 14_400_000,
    'An answered call without BYE is closed at answer + this, whatever its activity.', '4h'),
  registerTimeout: s.duration('REGISTER_TRANSACTION_TIMEOUT', 32_000,
    'A REGISTER without final response is recorded as `timeout` this long after it was sent.', '32s'),
} as const;

export function splitList(raw: string): string[] {
  return raw.split(',').map((x) => x.trim()).filter(Boolean);
}
