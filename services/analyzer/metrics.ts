/** The analyzer's Prometheus metrics. Per-partition series are few (partitions × topics), never per message. */
import { Counter, Gauge, Histogram, type Registry } from '../shared/metrics.ts';

export class AnalyzerMetrics {
  readonly consumed: Counter<'topic'>;
  readonly rows: Counter<'table'>;
  readonly quarantined: Counter<'reason'>;
  readonly insertSeconds: Histogram<'table'>;
  readonly batchSeconds: Histogram;
  readonly insertFailures: Counter<'table'>;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly events: Counter<'topic'>;
  readonly replayedBatches: Counter;
  readonly restores: Counter<'source'>;
  readonly idleAdvances: Counter<'source'>;
  readonly deadLetters: Counter<'table'>;
  readonly notKept: Counter<'table' | 'reason'>;
  readonly oldCapture: Counter<'table'>;
  readonly unstorable: Counter<'table'>;
  readonly trackerDropped: Counter<'tracker' | 'reason'>;
  readonly lastCommitAt = { ms: 0 };

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.consumed = new Counter({ name: 'tollgate_analyzer_messages_consumed_total', help: 'Kafka records consumed', labelNames: ['topic'], registers });
    this.rows = new Counter({ name: 'tollgate_analyzer_rows_written_total', help: 'Rows inserted (acknowledged) per table', labelNames: ['table'], registers });
    this.quarantined = new Counter({ name: 'tollgate_analyzer_quarantined_total', help: 'Records quarantined, by reason', labelNames: ['reason'], registers });
    this.insertSeconds = new Histogram({
      name: 'tollgate_analyzer_insert_seconds', help: 'ClickHouse insert latency per table and batch', labelNames: ['table'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.batchSeconds = new Histogram({
      name: 'tollgate_analyzer_batch_seconds', help: 'Batch latency: ledger, inserts, events and commit', registers,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.insertFailures = new Counter({ name: 'tollgate_analyzer_insert_failures_total', help: 'Failed ClickHouse writes (each is retried)', labelNames: ['table'], registers });
    this.lag = new Gauge({ name: 'tollgate_analyzer_consumer_lag', help: 'High watermark minus the next offset to commit', labelNames: ['topic', 'partition'], registers });
    this.events = new Counter({ name: 'tollgate_analyzer_events_published_total', help: 'Events produced for the detectors', labelNames: ['topic'], registers });
    this.replayedBatches = new Counter({ name: 'tollgate_analyzer_replayed_batches_total', help: 'Batches cut at a ledger range (replays after a restart or rebalance)', registers });
    this.restores = new Counter({ name: 'tollgate_analyzer_partition_restores_total', help: 'Partition assignments by where the tracker state came from', labelNames: ['source'], registers });
    this.idleAdvances = new Counter({
      name: 'tollgate_analyzer_idle_advances_total',
      help: 'Idle SIP partitions whose capture clock was advanced (source idle: decided now; replay: a recorded one re-applied)',
      labelNames: ['source'], registers,
    });
    this.deadLetters = new Counter({
      name: 'tollgate_analyzer_store_refused_rows_total',
      help: 'Rows a table refused for good (non-retryable error), moved to sip_quarantine with reason store_refused; the partition moved on',
      labelNames: ['table'], registers,
    });
    this.notKept = new Counter({
      name: 'tollgate_analyzer_rows_not_kept_total',
      help: 'Rows written that the store drops by its retention at once: expired_on_arrival (older than the retention even counted from arrival) '
        + 'or capture_older_than_rollup_retention (per-minute rollups keep 400 days of capture time)',
      labelNames: ['table', 'reason'], registers,
    });
    this.oldCapture = new Counter({
      name: 'tollgate_analyzer_old_capture_rows_total',
      help: 'Rows whose capture time is older than the table retention, kept because retention counts from arrival (replayed or clock-skewed captures)',
      labelNames: ['table'], registers,
    });
    this.unstorable = new Counter({
      name: 'tollgate_analyzer_unstorable_rows_total',
      help: 'Refused rows that the quarantine refused too: logged, not stored anywhere',
      labelNames: ['table'], registers,
    });
    this.trackerDropped = new Counter({
      name: 'tollgate_analyzer_tracker_unattributed_total',
      help: 'SIP messages stored in sip_messages but not attributed to any call or REGISTER record, and records cut short, by tracker and reason '
        + '(unmatched: in-dialog request of a call never seen; orphans_dropped: waited for an INVITE that never came; late: after its record was written; '
        + 'evicted: open calls/transactions closed early at the memory bound)',
      labelNames: ['tracker', 'reason'], registers,
    });
    const last = this.lastCommitAt;
    new Gauge({
      name: 'tollgate_analyzer_last_commit_age_seconds', help: 'Seconds since the analyzer last committed offsets (-1: never)', registers,
      collect() {
        this.set(last.ms === 0 ? -1 : (Date.now() - last.ms) / 1000);
      },
    });
  }
}
