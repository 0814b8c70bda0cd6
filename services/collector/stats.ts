/**
 * Collector counters as plain numbers, bumped on the hot path and exported to Prometheus through collect callbacks
 * at scrape time, so a packet costs an array increment rather than a label lookup in prom-client. Each collect resets
 * and re-fills its metric from the totals, which are the source of truth.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from '../shared/metrics.ts';
import { TRANSPORTS, type Transport } from '../shared/hep/envelope.ts';
import { registerKernelUdpCounters } from './kernel-udp.ts';
import { ROUTE_KEYS, type DropReason } from './intake.ts';

/**
 * Shared with the publisher, which registers it for its own reasons (queue_full, spool_full, ...). The collector's
 * reasons (decode:*, auth, capture_id, source_not_allowed) join the same metric; see `registerDropped`.
 */
export const DROPPED_METRIC = 'tollgate_collector_dropped_total';
const DROPPED_HELP = 'HEP packets not delivered to Kafka, by reason: the collector\'s (decode:<reason>, auth, capture_id, '
  + 'source_not_allowed) and the publisher\'s (queue_full, spool_full, ...).';

export type StatsDropReason = DropReason;

const ROUTE_LABEL: Record<(typeof ROUTE_KEYS)[number], string> = {
  hepSip: 'sip', hepRtcp: 'rtcp', hepQos: 'qos', hepLog: 'log', hepOther: 'other',
};

/**
 * Malformed-packet counts per sender for the detectors, bounded: when full, the lower half by count is evicted, so
 * a spray of spoofed sources cannot grow memory while persistent offenders stay.
 */
export class MalformedSenders {
  readonly #counts = new Map<string, number>();
  evictions = 0;

  constructor(readonly capacity = 1024) {}

  add(sender: string): void {
    const n = this.#counts.get(sender);
    if (n !== undefined) {
      this.#counts.set(sender, n + 1);
      return;
    }
    if (this.#counts.size >= this.capacity) this.#evict();
    this.#counts.set(sender, 1);
  }

  get size(): number {
    return this.#counts.size;
  }

  top(n: number): Array<{ sender: string; count: number }> {
    return [...this.#counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([sender, count]) => ({ sender, count }));
  }

  #evict(): void {
    const sorted = [...this.#counts].sort((a, b) => a[1] - b[1]);
    const drop = Math.max(1, sorted.length >> 1);
    for (let i = 0; i < drop; i++) this.#counts.delete(sorted[i]![0]);
    this.evictions += drop;
  }
}

export class CollectorStats {
  /** [transport * routes + route] */
  readonly packets = new Float64Array(TRANSPORTS.length * ROUTE_KEYS.length);
  readonly dropped = new Map<string, number>();
  readonly decodeErrors = new Map<string, number>();
  readonly spooled = new Float64Array(1);
  /** Offers the sink refused; the publisher counts them under its own drop reasons, so they are not exported here. */
  publishDropped = 0;
  readonly connections: Record<Transport, number> = { udp: 0, tcp: 0, tls: 0 };
  readonly connectionsClosed = new Map<string, number>();
  readonly malformed: MalformedSenders;

  constructor(malformedCapacity = 1024) {
    this.malformed = new MalformedSenders(malformedCapacity);
  }

  accepted(transport: number, route: number): void {
    this.packets[transport * ROUTE_KEYS.length + route]!++;
  }

  drop(reason: StatsDropReason, sender?: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    if (reason.startsWith('decode:')) {
      const r = reason.slice(7);
      this.decodeErrors.set(r, (this.decodeErrors.get(r) ?? 0) + 1);
      if (sender !== undefined) this.malformed.add(sender);
    }
  }

  connectionClosed(transport: Transport, reason: string): void {
    const k = `${transport}|${reason}`;
    this.connectionsClosed.set(k, (this.connectionsClosed.get(k) ?? 0) + 1);
  }

  packetsTotal(): number {
    let n = 0;
    for (const v of this.packets) n += v;
    return n;
  }

  droppedTotal(): number {
    let n = 0;
    for (const v of this.dropped.values()) n += v;
    return n;
  }

  /** Registers the exported view on `registry`. Call once per registry. */
  register(registry: Registry, topSenders = 20): void {
    const stats = this;
    new Counter({
      name: 'tollgate_collector_packets_total',
      help: 'HEP packets accepted and offered to the publisher, by transport and payload route.',
      labelNames: ['transport', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        TRANSPORTS.forEach((t, ti) => ROUTE_KEYS.forEach((r, ri) => {
          const v = stats.packets[ti * ROUTE_KEYS.length + ri]!;
          if (v > 0) this.labels(t, ROUTE_LABEL[r]).inc(v);
        }));
      },
    });
    registerDropped(registry, () => stats.dropped);
    registerKernelUdpCounters(registry);
    new Counter({
      name: 'tollgate_collector_decode_errors_total',
      help: 'HEP packets that failed to decode, by decoder reason.',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, v] of stats.decodeErrors) this.labels(reason).inc(v);
      },
    });
    new Counter({
      name: 'tollgate_collector_spooled_total',
      help: 'Accepted packets the publisher had to spool to disk (Kafka slow or down).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats.spooled[0]!);
      },
    });
    new Gauge({
      name: 'tollgate_collector_connections',
      help: 'Open HEP stream connections, by transport.',
      labelNames: ['transport'],
      registers: [registry],
      collect() {
        this.set({ transport: 'tcp' }, stats.connections.tcp);
        this.set({ transport: 'tls' }, stats.connections.tls);
      },
    });
    new Counter({
      name: 'tollgate_collector_connections_closed_total',
      help: 'HEP stream connections closed or refused, by transport and reason (peer, idle, framing:<reason>, limit, source_not_allowed, shutdown, error).',
      labelNames: ['transport', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [k, v] of stats.connectionsClosed) {
          const [transport, reason] = k.split('|') as [string, string];
          this.labels(transport, reason).inc(v);
        }
      },
    });
    new Gauge({
      name: 'tollgate_collector_malformed_sender_packets',
      help: `Malformed HEP packets of the ${topSenders} worst senders currently tracked (bounded label set).`,
      labelNames: ['sender'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { sender, count } of stats.malformed.top(topSenders)) this.set({ sender }, count);
      },
    });
    new Gauge({
      name: 'tollgate_collector_malformed_senders_tracked',
      help: 'Senders in the bounded malformed-packet table (capacity-bound; evictions counted separately).',
      registers: [registry],
      collect() {
        this.set(stats.malformed.size);
      },
    });
    new Counter({
      name: 'tollgate_collector_malformed_sender_evictions_total',
      help: 'Senders evicted from the malformed-packet table to keep it bounded.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats.malformed.evictions);
      },
    });
  }
}


/**
 * Adds the collector's drop reasons to `tollgate_collector_dropped_total`, whichever side registers it first: if the
 * publisher already did, its collect callback is chained; otherwise the counter is created here and a publisher
 * registering later must chain the same way. Deltas (never resets) keep the other side's values intact.
 */
function registerDropped(registry: Registry, source: () => ReadonlyMap<string, number>): void {
  const reported = new Map<string, number>();
  const addDeltas = (c: Counter<string>): void => {
    for (const [reason, total] of source()) {
      const delta = total - (reported.get(reason) ?? 0);
      if (delta > 0) {
        c.inc({ reason }, delta);
        reported.set(reason, total);
      }
    }
  };
  const existing = registry.getSingleMetric(DROPPED_METRIC) as (Counter<string> & { collect?: () => unknown }) | undefined;
  if (existing === undefined) {
    new Counter({
      name: DROPPED_METRIC,
      help: DROPPED_HELP,
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        addDeltas(this);
      },
    });
    return;
  }
  // prom-client keeps the collect callback as an own property of the metric and calls it at scrape time.
  const theirs = existing.collect;
  existing.collect = function chained(this: Counter<string>) {
    const r = theirs?.call(this);
    addDeltas(existing);
    return r;
  };
}
