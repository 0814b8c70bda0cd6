-- Analyzer: idle-partition clock advances (recorded so that a replay makes the same ones), and what 0001-0003
-- need for issue-level fixes, as ALTERs.

-- An idle SIP partition's capture clock still moves (the analyzer's idle watermark, ANALYZER_IDLE_ADVANCE), so
-- calls and registrations are written when traffic stops. Each advance is recorded here before its rows are
-- inserted: `at_offset` is the partition's next offset when it was taken (every record below it was processed,
-- none at or above it), `advance_to_us` the capture time the trackers were moved to. A replay applies the
-- recorded advances at the same place in the record sequence, so the trackers emit the same records and their
-- rows carry the same deduplication tokens (`<group>:<topic>:<partition>:idle@<at_offset>:<advance_to_us>:<table>`).
CREATE TABLE IF NOT EXISTS ingest_advances (
  consumer_group String,
  topic String,
  partition UInt32,
  at_offset UInt64,
  advance_to_us Int64,
  rows UInt32 COMMENT 'records the advance emitted (calls + registrations)',
  written_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(written_at)
ORDER BY (consumer_group, topic, partition, at_offset, advance_to_us)
-- Same life as the ingest ledger: needed until a newer snapshot exists.
TTL toDateTime(written_at) + toIntervalDay(7);

-- Retention counts from arrival, not from capture time. A capture replayed years later (a pcap import, an agent
-- whose clock is years behind) used to be dropped by the store at insert, because `TTL ts + N days` had already
-- passed: 81 messages acknowledged, 0 kept, nothing said. Now a row lives N days from the later of its capture time
-- and the time it reached the pipeline. The capture time itself is kept as captured (ladders, durations and PDD
-- of an old capture stay true); rows whose capture time alone is older than the retention are counted
-- (`tollgate_analyzer_old_capture_rows_total`), and the per-minute rollups, which only know the capture minute,
-- still keep 400 days of capture time (what they leave out is counted in `tollgate_analyzer_rows_not_kept_total`).
-- The analyzer re-applies these expressions with RETENTION_* days at start (services/analyzer/store/retention.ts).
ALTER TABLE calls ADD COLUMN IF NOT EXISTS received_at DateTime64(6, 'UTC') DEFAULT setup_ts
  COMMENT 'when the record that completed the call reached Kafka (retention counts from the later of this and setup_ts)';
ALTER TABLE registrations ADD COLUMN IF NOT EXISTS received_at DateTime64(6, 'UTC') DEFAULT ts
  COMMENT 'when the record that completed the transaction reached Kafka (retention counts from the later of this and ts)';
ALTER TABLE sip_messages MODIFY TTL toDateTime(greatest(ts, received_at)) + toIntervalDay(30);
ALTER TABLE sip_quarantine MODIFY TTL toDateTime(greatest(ts, received_at)) + toIntervalDay(30);
ALTER TABLE qos MODIFY TTL toDateTime(greatest(ts, received_at)) + toIntervalDay(30);
ALTER TABLE calls MODIFY TTL toDateTime(greatest(setup_ts, received_at)) + toIntervalDay(180);
ALTER TABLE registrations MODIFY TTL toDateTime(greatest(ts, received_at)) + toIntervalDay(90);
