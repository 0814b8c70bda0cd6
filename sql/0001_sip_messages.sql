-- SIP capture storage: one row per captured SIP message (HOMER-style search), the quarantine for what could not be
-- stored as SIP, and the per-minute message rollup the dashboards read.
--
-- Exactly-once: the analyzer inserts every batch with insert_deduplication_token, which a non-replicated MergeTree
-- only honours when `non_replicated_deduplication_window` is set. The window is the number of recent insert blocks
-- whose tokens are remembered; it must cover every block written between a crash and the replay of the same
-- offsets (a few batches per partition), 10,000 leaves a wide margin. Replicated tables (Replicated*MergeTree in a
-- cluster) use `replicated_deduplication_window` (default 1000 blocks) instead. Materialized-view target tables
-- carry the window too: with deduplicate_blocks_in_dependent_materialized_views a replayed block is dropped in the
-- rollup as well, so the rollups stay exact.
--
-- Retention: the TTLs below are defaults; the analyzer applies RETENTION_* settings at start with
-- ALTER TABLE ... MODIFY TTL when they differ.

CREATE TABLE IF NOT EXISTS sip_messages (
  ts DateTime64(6, 'UTC') COMMENT 'HEP capture time (µs)',
  received_at DateTime64(6, 'UTC') COMMENT 'collector receive time',
  tenant LowCardinality(String),
  domain LowCardinality(String) COMMENT 'SIP domain the tenant was derived from',
  kind Enum8('request' = 1, 'response' = 2),
  method LowCardinality(String) COMMENT 'request method, or the CSeq method of a response',
  status UInt16 COMMENT '0 for requests',
  reason String,
  call_id String,
  cseq_num UInt32,
  cseq_method LowCardinality(String),
  from_user String,
  from_domain LowCardinality(String),
  from_tag String,
  to_user String,
  to_domain LowCardinality(String),
  to_tag String,
  ruri_user String,
  ruri_domain LowCardinality(String),
  src_ip String,
  src_port UInt16,
  dst_ip String,
  dst_port UInt16,
  transport LowCardinality(String),
  via_branch String,
  user_agent String,
  auth_user String,
  capture_id UInt32,
  node LowCardinality(String),
  correlation_id String,
  warnings Array(LowCardinality(String)),
  -- The message decoded as UTF-8 for search and the ladder view; invalid UTF-8 becomes U+FFFD. The exact captured
  -- bytes stay in Kafka (hep.sip topic, kafka_partition/kafka_offset below) for the topic's retention.
  raw String CODEC(ZSTD(3)),
  kafka_partition UInt32,
  kafka_offset UInt64,
  INDEX idx_call_id call_id TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_from_user from_user TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_to_user to_user TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_ruri_user ruri_user TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_src_ip src_ip TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_dst_ip dst_ip TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toDate(ts)
-- Every API and dashboard query is scoped to one tenant and a time range, so those lead. Within an hour the rows of
-- one Call-ID are adjacent, which makes the ladder query (call_id + time window) read a granule or two; lookups by
-- user or IP without a Call-ID go through the bloom filters.
ORDER BY (tenant, toStartOfHour(ts), call_id, ts)
TTL toDateTime(ts) + toIntervalDay(30)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS sip_quarantine (
  ts DateTime64(6, 'UTC') COMMENT 'HEP capture time when the HEP header was readable, else receive time',
  received_at DateTime64(6, 'UTC'),
  tenant LowCardinality(String),
  domain LowCardinality(String),
  reason LowCardinality(String) COMMENT 'stable code: envelope_invalid, hep_<reason>, sip_<reason>, not_sip',
  detail String,
  call_id String,
  src_ip String,
  src_port UInt16,
  dst_ip String,
  dst_port UInt16,
  transport LowCardinality(String),
  capture_id UInt32,
  node LowCardinality(String),
  payload_type UInt8,
  raw_base64 String CODEC(ZSTD(3)) COMMENT 'the HEP payload, or the whole Kafka value when HEP could not be read',
  kafka_topic LowCardinality(String),
  kafka_partition UInt32,
  kafka_offset UInt64,
  INDEX idx_call_id call_id TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_src_ip src_ip TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toDate(ts)
-- Quarantine is read by reason ("what broke today") and then by sender.
ORDER BY (reason, ts)
TTL toDateTime(ts) + toIntervalDay(30)
SETTINGS non_replicated_deduplication_window = 10000;

-- Requests and responses per minute, by tenant, method and status (0 = request).
CREATE TABLE IF NOT EXISTS sip_messages_minute (
  minute DateTime('UTC'),
  tenant LowCardinality(String),
  kind Enum8('request' = 1, 'response' = 2),
  method LowCardinality(String),
  status UInt16,
  messages UInt64
) ENGINE = SummingMergeTree
PARTITION BY toDate(minute)
ORDER BY (tenant, minute, kind, method, status)
TTL minute + toIntervalDay(400)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS sip_messages_minute_mv TO sip_messages_minute AS
SELECT toStartOfMinute(ts) AS minute, tenant, kind, method, status, count() AS messages
FROM sip_messages
GROUP BY minute, tenant, kind, method, status;
