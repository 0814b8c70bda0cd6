/**
 * Publisher metrics. Counters and gauges are read from the publisher's own plain-number tallies when Prometheus
 * scrapes (collect callbacks), so the per-record path never touches prom-client; the two histograms are observed
 * once per batch.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export type Outcome = 'acked' | 'spooled' | 'dropped';
export type DropReason = 'queue_full' | 'spool_full' | 'spool_error' | 'closed' | 'shutdown';
export type BatchSource = 'memory' | 'spool';

export interface TopicTally {
  acked: number;
  spooled: number;
  dropped: number;
  /** Records acknowledged by Kafka when replayed from the spool (their first outcome was `spooled`). */
  replayed: number;
}

export interface MetricsSnapshot {
  readonly topics: ReadonlyMap<string, Readonly<TopicTally>>;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly sendFailures: number;
  readonly queueRecords: number;
  readonly queueBytes: number;
  readonly spoolRecords: number;
  readonly spoolBytes: number;
  readonly spoolCorruptions: number;
}

const OUTCOMES: readonly Outcome[] = ['acked', 'spooled', 'dropped'];

export class PublisherMetrics {
  readonly #sendSeconds: Histogram<'source'>;
  readonly #receiveToAck: Histogram<'source'>;
  #source: (() => MetricsSnapshot) | undefined;

  constructor(registry: Registry) {
    const snap = (): MetricsSnapshot | undefined => this.#source?.();
    // Deltas against what was last reported keep the counters monotonic while the truth lives in the publisher.
    const reported = new Map<string, number>();
    const incTo = (c: Counter<string>, labels: Record<string, string>, total: number): void => {
      const id = JSON.stringify(labels);
      const delta = total - (reported.get(id) ?? 0);
      if (delta > 0) {
        c.inc(labels, delta);
        reported.set(id, total);
      }
    };
    new Counter({
      name: 'tollgate_collector_records_total',
      help: 'Capture records by first outcome: acked (straight from memory), spooled (written to the disk spool), dropped.',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
      collect() {
        const s = snap();
        if (s === undefined) return;
        for (const [topic, t] of s.topics) for (const outcome of OUTCOMES) incTo(this, { topic, outcome }, t[outcome]);
      },
    });
    new Counter({
      name: 'tollgate_collector_spool_replayed_total',
      help: 'Spooled records later acknowledged by Kafka.',
      labelNames: ['topic'],
      registers: [registry],
      collect() {
        const s = snap();
        if (s === undefined) return;
        for (const [topic, t] of s.topics) incTo(this, { topic }, t.replayed);
      },
    });
    new Counter({
      name: 'tollgate_collector_dropped_total',
      help: 'Capture records dropped, by reason.',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        const s = snap();
        if (s === undefined) return;
        for (const [reason, n] of Object.entries(s.dropped)) incTo(this, { reason }, n);
      },
    });
    new Counter({
      name: 'tollgate_collector_kafka_send_failures_total',
      help: 'Batches Kafka did not acknowledge after the producer retries.',
      registers: [registry],
      collect() {
        const s = snap();
        if (s !== undefined) incTo(this, {}, s.sendFailures);
      },
    });
    new Counter({
      name: 'tollgate_collector_spool_corruptions_total',
      help: 'Torn or corrupt spool frames found (and cut off) at recovery or replay.',
      registers: [registry],
      collect() {
        const s = snap();
        if (s !== undefined) incTo(this, {}, s.spoolCorruptions);
      },
    });
    const gauge = (name: string, help: string, pick: (s: MetricsSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const s = snap();
          if (s !== undefined) this.set(pick(s));
        },
      });
    };
    gauge('tollgate_collector_queue_records', 'Records held in memory on their way to Kafka or the spool.', (s) => s.queueRecords);
    gauge('tollgate_collector_queue_bytes', 'Bytes (spool encoding) held in memory on their way to Kafka or the spool.', (s) => s.queueBytes);
    gauge('tollgate_collector_spool_records', 'Records in the disk spool not yet acknowledged by Kafka.', (s) => s.spoolRecords);
    gauge('tollgate_collector_spool_bytes', 'Bytes in the disk spool not yet acknowledged by Kafka.', (s) => s.spoolBytes);
    this.#sendSeconds = new Histogram({
      name: 'tollgate_collector_kafka_send_seconds',
      help: 'Time for Kafka to acknowledge one batch.',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.#receiveToAck = new Histogram({
      name: 'tollgate_collector_receive_to_ack_seconds',
      help: 'Receive to Kafka acknowledgement, sampled once per batch with its oldest record.',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600, 3600],
      registers: [registry],
    });
  }

  /** The publisher registers where its tallies come from; one publisher per metrics instance. */
  bind(source: () => MetricsSnapshot): void {
    this.#source = source;
  }

  observeBatch(source: BatchSource, sendSeconds: number, oldestReceiveToAckSeconds: number): void {
    this.#sendSeconds.observe({ source }, sendSeconds);
    this.#receiveToAck.observe({ source }, oldestReceiveToAckSeconds);
  }
}
