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
