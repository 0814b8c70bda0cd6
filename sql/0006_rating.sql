-- CDRs of the rating service: one row per FreeSWITCH call leg, keyed by the channel's Unique-ID. Every change of
-- a leg (written at hangup, rated, re-rated after a CGRateS outage, timing corrected by mod_json_cdr) is a new
-- revision with a larger `version`; ReplacingMergeTree keeps the latest, so replaying a revision (journal replay
-- after a restart, a retried insert) never makes a second row. Read with FINAL (or argMax by version).
CREATE TABLE IF NOT EXISTS cdrs (
  unique_id String COMMENT 'FreeSWITCH channel Unique-ID (CGRateS OriginID)',
  version UInt64 COMMENT 'revision; the largest wins',
  tenant LowCardinality(String),
  node LowCardinality(String) COMMENT 'FreeSWITCH node (FREESWITCH_ESL name)',
  origin_host LowCardinality(String) COMMENT 'CGRateS OriginHost',
  sip_call_id String COMMENT 'links the CDR to the captured SIP dialog (calls.call_id)',
  direction LowCardinality(String),
  caller String,
  callee String,
  account String,
  subject String,
  destination String,
  category LowCardinality(String),
  request_type LowCardinality(String),
  created_at DateTime64(6, 'UTC'),
  answered_at Nullable(DateTime64(6, 'UTC')),
  ended_at DateTime64(6, 'UTC'),
  duration_ms UInt64 COMMENT 'created → ended',
  billsec UInt32 COMMENT 'answered → ended, whole seconds (FreeSWITCH billsec)',
  billmsec UInt64 COMMENT 'answered → ended, milliseconds (the usage sent to CGRateS)',
  pdd_ms UInt32 COMMENT 'created → early media or answer',
  hangup_cause LowCardinality(String),
  hangup_cause_q850 UInt16,
  sip_hangup_disposition LowCardinality(String),
  disposition LowCardinality(String) COMMENT 'answered, busy, no_answer, cancelled, refused, failed',
  timing_source LowCardinality(String) COMMENT 'event (CHANNEL_HANGUP_COMPLETE), json_cdr (mod_json_cdr) or estimated',
  estimated Bool COMMENT 'billed to the last moment the call was known up: no final timing was received',
  decision LowCardinality(String) COMMENT 'park decision: credit, no_credit, fail_open, not_prepaid, cgrates_unavailable, ...',
  max_usage_ms UInt64 COMMENT 'authorized usage armed as cut-off (0: none)',
  rating_status LowCardinality(String) COMMENT 'rated, pending (CGRateS away), failed (CGRateS error), not_rated (*none), unanswered',
  rating_error String,
  rating_attempts UInt16,
  cost Nullable(Float64) COMMENT 'CGRateS cost of the *default run, currency units',
  cost_source LowCardinality(String),
  cgr_id String,
  rating_details String COMMENT 'CGRateS CostDetails (JSON)',
  session_terminated Bool COMMENT 'the CGRateS session was terminated (never terminated twice)',
  written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (tenant, unique_id);

-- Keyset pagination of GET /v1/cdrs walks ended_at, unique_id; a skip index keeps time-bounded scans short.
ALTER TABLE cdrs ADD INDEX IF NOT EXISTS cdrs_ended_at ended_at TYPE minmax GRANULARITY 4;
ALTER TABLE cdrs ADD INDEX IF NOT EXISTS cdrs_rating_status rating_status TYPE set(8) GRANULARITY 4;
