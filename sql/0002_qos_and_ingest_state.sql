-- RTCP and HEP QoS reports, and the analyzer's own exactly-once bookkeeping (ingest ledger, tracker snapshots).

-- One row per RTCP report block (HEP type 5, SR/RR) or per HEP QoS JSON report (types 32, 34, 35).
CREATE TABLE IF NOT EXISTS qos (
  ts DateTime64(6, 'UTC'),
  received_at DateTime64(6, 'UTC'),
  tenant LowCardinality(String),
  domain LowCardinality(String),
  call_id String COMMENT 'HEP correlation id: the Call-ID of the call the media belongs to',
  report LowCardinality(String) COMMENT 'rtcp_sr, rtcp_rr, hep_32, hep_34 or hep_35',
  src_ip String,
  src_port UInt16,
  dst_ip String,
  dst_port UInt16,
  capture_id UInt32,
  node LowCardinality(String),
  reporter_ssrc UInt32 COMMENT 'SSRC of the RTCP sender (the receiver of the reported stream)',
  source_ssrc UInt32 COMMENT 'SSRC of the reported stream',
  direction LowCardinality(String) COMMENT 'src_ip:src_port>dst_ip:dst_port of the report packet',
  fraction_lost Nullable(Float32) COMMENT 'RTCP fraction lost as 0..1',
  cumulative_lost Nullable(Int32),
  highest_seq Nullable(UInt32),
  jitter_ts_units Nullable(UInt32) COMMENT 'RTCP interarrival jitter in RTP timestamp units',
  sr_ntp_ts Nullable(UInt64),
  sr_packets Nullable(UInt32),
  sr_octets Nullable(UInt32),
  mos Nullable(Float32),
  r_factor Nullable(Float32),
  jitter_ms Nullable(Float32),
  packets_lost Nullable(Int64),
  packets_sent Nullable(UInt64),
  packets_received Nullable(UInt64),
  delay_ms Nullable(Float32),
  raw_json String CODEC(ZSTD(3)) COMMENT 'QoS JSON report as sent; empty for RTCP',
  kafka_topic LowCardinality(String),
  kafka_partition UInt32,
  kafka_offset UInt64,
  INDEX idx_call_id call_id TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toDate(ts)
-- QoS is read per call (the call's media quality) and per time range for dashboards.
ORDER BY (tenant, toStartOfHour(ts), call_id, ts)
TTL toDateTime(ts) + toIntervalDay(30)
SETTINGS non_replicated_deduplication_window = 10000;

-- The batch ranges the analyzer has started to insert, written before the data. On partition assignment the
-- analyzer reads the ranges from its resume offset on and cuts its next batches exactly there, so a replayed
-- batch carries the same insert_deduplication_token as the interrupted one and ClickHouse drops it.
CREATE TABLE IF NOT EXISTS ingest_ledger (
  consumer_group String,
  topic String,
  partition UInt32,
  first_offset UInt64,
  last_offset UInt64,
  rows UInt32,
  written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(written_at)
ORDER BY (consumer_group, topic, partition, first_offset)
-- A range is only needed until its offsets are committed and a newer snapshot exists; a week outlives any
-- realistic outage while keeping the table small.
TTL toDateTime(written_at) + toIntervalDay(7);

-- Per-partition correlation tracker state after a committed batch: `offset` is the next offset to read.
CREATE TABLE IF NOT EXISTS analyzer_snapshots (
  consumer_group String,
  topic String,
  partition UInt32,
  offset UInt64,
  format UInt16 COMMENT 'snapshot layout version written by the analyzer',
  state String CODEC(ZSTD(3)),
  written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(written_at)
ORDER BY (consumer_group, topic, partition, offset)
TTL toDateTime(written_at) + toIntervalDay(3);
