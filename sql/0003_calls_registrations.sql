-- Dialog and registration records from the analyzer's correlation trackers, and their per-minute rollups.
-- Deduplication windows and retention work as described in 0001_sip_messages.sql.

-- One row per INVITE dialog (Call-ID + caller From-tag), written once the call is final.
CREATE TABLE IF NOT EXISTS calls (
  setup_ts DateTime64(6, 'UTC') COMMENT 'earliest copy of the first INVITE',
  tenant LowCardinality(String),
  domain LowCardinality(String),
  call_id String,
  from_tag String,
  to_tag String,
  from_user String,
  from_domain LowCardinality(String),
  from_display String,
  to_user String,
  to_domain LowCardinality(String),
  ruri_user String,
  ruri_domain LowCardinality(String),
  src_ip String,
  src_port UInt16,
  dst_ip String,
  dst_port UInt16,
  transport LowCardinality(String),
  user_agent String,
  first_provisional_ts Nullable(DateTime64(6, 'UTC')),
  ring_ts Nullable(DateTime64(6, 'UTC')),
  pdd_ms Nullable(Float64),
  answer_ts Nullable(DateTime64(6, 'UTC')),
  ack_seen Bool,
  end_ts DateTime64(6, 'UTC'),
  duration_ms Nullable(Float64),
  final_status Nullable(UInt16),
  final_reason String,
  state LowCardinality(String),
  end_reason LowCardinality(String),
  hangup_side LowCardinality(String),
  attempts UInt16,
  auth_challenges UInt16,
  redirects UInt16,
  reinvites UInt16,
  linked_call_id String,
  linked_source LowCardinality(String),
  capture_ids Array(UInt32),
  nodes Array(LowCardinality(String)),
  hops UInt16,
  retransmissions UInt32,
  messages UInt32,
  kafka_partition UInt32,
  INDEX idx_call_id call_id TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_linked linked_call_id TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_from_user from_user TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_ruri_user ruri_user TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_src_ip src_ip TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toDate(setup_ts)
-- CDR-style queries: one tenant, a time range, then a state ("failed calls today"); the Call-ID last so the
-- link from a message search to its call row stays cheap within the hour.
ORDER BY (tenant, toStartOfHour(setup_ts), state, call_id)
TTL toDateTime(setup_ts) + toIntervalDay(180)
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per REGISTER transaction (Call-ID + CSeq).
CREATE TABLE IF NOT EXISTS registrations (
  ts DateTime64(6, 'UTC'),
  response_ts Nullable(DateTime64(6, 'UTC')),
  tenant LowCardinality(String),
  domain LowCardinality(String),
  call_id String,
  cseq UInt32,
  aor_user String,
  aor_domain LowCardinality(String),
  contacts Array(String),
  expires_requested Nullable(UInt32),
  expires_granted Nullable(UInt32),
  status Nullable(UInt16),
  reason String,
  outcome LowCardinality(String),
  challenged Bool,
  deregistration Bool,
  auth_user String,
  user_agent String,
  src_ip String,
  src_port UInt16,
  dst_ip String,
  dst_port UInt16,
  transport LowCardinality(String),
  capture_id UInt32,
  node LowCardinality(String),
  contact_host String,
  nat_private_contact Bool,
  nat_contact_mismatch Bool,
  via_received String,
  via_rport Nullable(UInt16),
  behind_nat Bool,
  hops UInt16,
  retransmissions UInt32,
  messages UInt32,
  kafka_partition UInt32,
  INDEX idx_aor_user aor_user TYPE bloom_filter(0.01) GRANULARITY 4,
  INDEX idx_src_ip src_ip TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toDate(ts)
-- Registration views group by outcome per tenant over time; brute-force investigations filter by user or IP
-- through the bloom filters.
ORDER BY (tenant, toStartOfHour(ts), outcome, aor_user)
TTL toDateTime(ts) + toIntervalDay(90)
SETTINGS non_replicated_deduplication_window = 10000;

-- Calls per minute (by setup time) and tenant. Definitions (also in the kpi view below):
--   attempts  every call record (one INVITE dialog, auth retries and followed redirects included)
--   answered  a 2xx was seen (states answered and timeout_without_bye)
--   ASR       answered / attempts
--   ACD       sum(duration) / answered calls with a known duration
--   NER       (answered + calls the user ended: busy 486/600, no answer 408/480, declined 603, cancelled by the
--             caller / 487) / attempts: network effectiveness, i.e. failures the network is not to blame for
--             count as effective (after ITU-T E.411)
--   PDD       setup → first 18x (else → answer, else → final), quantiles 0.5/0.9/0.99
CREATE TABLE IF NOT EXISTS calls_minute (
  minute DateTime('UTC'),
  tenant LowCardinality(String),
  attempts SimpleAggregateFunction(sum, UInt64),
  answered SimpleAggregateFunction(sum, UInt64),
  effective SimpleAggregateFunction(sum, UInt64),
  with_duration SimpleAggregateFunction(sum, UInt64),
  duration_ms_sum SimpleAggregateFunction(sum, Float64),
  pdd_ms AggregateFunction(quantiles(0.5, 0.9, 0.99), Float64)
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (tenant, minute)
TTL minute + toIntervalDay(400)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS calls_minute_mv TO calls_minute AS
SELECT
  toStartOfMinute(setup_ts) AS minute,
  tenant,
  toUInt64(count()) AS attempts,
  toUInt64(countIf(state IN ('answered', 'timeout_without_bye'))) AS answered,
  toUInt64(countIf(state IN ('answered', 'timeout_without_bye', 'cancelled')
    OR ifNull(final_status, 0) IN (486, 600, 408, 480, 603, 487))) AS effective,
  toUInt64(countIf(duration_ms IS NOT NULL)) AS with_duration,
  sumIf(ifNull(duration_ms, 0), duration_ms IS NOT NULL) AS duration_ms_sum,
  quantilesStateIf(0.5, 0.9, 0.99)(ifNull(pdd_ms, 0), pdd_ms IS NOT NULL) AS pdd_ms
FROM calls
GROUP BY minute, tenant;

CREATE VIEW IF NOT EXISTS calls_minute_kpi AS
SELECT
  minute,
  tenant,
  sum(c.attempts) AS call_attempts,
  sum(c.answered) AS calls_answered,
  if(call_attempts = 0, 0, calls_answered / call_attempts) AS asr,
  if(sum(c.with_duration) = 0, 0, sum(c.duration_ms_sum) / sum(c.with_duration)) AS acd_ms,
  if(call_attempts = 0, 0, sum(c.effective) / call_attempts) AS ner,
  quantilesMerge(0.5, 0.9, 0.99)(c.pdd_ms) AS pdd_ms_quantiles
FROM calls_minute AS c
GROUP BY minute, tenant;

-- REGISTER transactions per minute: a 401/407 challenge is the normal first half of digest auth, so it is counted
-- apart from failures (wrong credentials, other errors, timeouts).
CREATE TABLE IF NOT EXISTS registrations_minute (
  minute DateTime('UTC'),
  tenant LowCardinality(String),
  attempts UInt64,
  success UInt64,
  challenges UInt64,
  failure UInt64
) ENGINE = SummingMergeTree
PARTITION BY toDate(minute)
ORDER BY (tenant, minute)
TTL minute + toIntervalDay(400)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS registrations_minute_mv TO registrations_minute AS
SELECT
  toStartOfMinute(ts) AS minute,
  tenant,
  toUInt64(count()) AS attempts,
  toUInt64(countIf(outcome IN ('registered', 'deregistered', 'query'))) AS success,
  toUInt64(countIf(outcome = 'challenge')) AS challenges,
  toUInt64(countIf(outcome IN ('auth_failed', 'failed', 'timeout'))) AS failure
FROM registrations
GROUP BY minute, tenant;
