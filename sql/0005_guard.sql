-- The guard's records: alerts (one row per alert version; the latest version is the alert), the blocklist audit
-- trail (every block, unblock, expiry and refusal, with reason and actor) and alert webhook deliveries (the
-- dead-letter record is the row with outcome 'dead'). The live blocklist itself is a compacted Kafka topic
-- (services/guard/README.md says why); these tables are its history.

CREATE TABLE IF NOT EXISTS alerts (
  id String COMMENT 'stable while the alert is ongoing; notifications and API use it',
  version UInt64 COMMENT 'grows with every change; the highest version is the current state',
  detector LowCardinality(String),
  rule LowCardinality(String),
  severity LowCardinality(String) COMMENT 'warning | critical',
  state LowCardinality(String) COMMENT 'firing | resolved',
  subject_kind LowCardinality(String) COMMENT 'ip | account | prefix | tenant',
  subject String,
  tenant LowCardinality(String),
  first_seen DateTime64(3, 'UTC'),
  last_seen DateTime64(3, 'UTC'),
  resolved_at Nullable(DateTime64(3, 'UTC')),
  findings UInt64 COMMENT 'detector findings folded into this alert',
  blocked Array(String) COMMENT 'sources blocked because of it',
  evidence String COMMENT 'JSON: count, threshold, window_ms, detail, call_ids, extra',
  node LowCardinality(String),
  INDEX idx_subject subject TYPE bloom_filter(0.01) GRANULARITY 4
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(first_seen)
ORDER BY (tenant, detector, id)
TTL toDateTime(first_seen) + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS blocklist_audit (
  ts DateTime64(3, 'UTC'),
  ip String,
  action LowCardinality(String) COMMENT 'block | unblock | expire | refuse',
  reason String,
  detector LowCardinality(String) COMMENT 'the detector, or manual',
  actor String COMMENT 'guard node or API key name',
  alert_id String,
  ttl_s UInt32,
  offences UInt32,
  expires_at Nullable(DateTime64(3, 'UTC')),
  node LowCardinality(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (ip, ts)
TTL toDateTime(ts) + toIntervalDay(400);

CREATE TABLE IF NOT EXISTS alert_deliveries (
  ts DateTime64(3, 'UTC'),
  receiver String COMMENT 'receiver URL without credentials',
  shape LowCardinality(String) COMMENT 'webhook | slack | alertmanager',
  delivery_id String COMMENT 'Standard Webhooks webhook-id, the same on every retry',
  alert_ids Array(String),
  outcome LowCardinality(String) COMMENT 'delivered | retry | dead',
  attempt UInt16,
  http_status UInt16,
  error String,
  payload String COMMENT 'kept on dead rows so a delivery can be replayed by hand',
  node LowCardinality(String)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (receiver, ts)
TTL toDateTime(ts) + toIntervalDay(90);
