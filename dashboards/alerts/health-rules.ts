/**
 * Prometheus alerting rules for tollgate's own health, over the metrics its processes export (default labels
 * `service` and `node`). Written out as deploy/prometheus/rules/tollgate.rules.yml; unit-tested with
 * `promtool test rules` (test/integration/dashboards-prometheus.test.ts). Summaries name labels only, never `$value`,
 * so the notification text is stable and testable.
 */

export interface PrometheusRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
  readonly description: string;
  readonly runbook: string;
}

const RUNBOOK = 'https://github.com/tollgate/tollgate/blob/main/dashboards/README.md#runbooks';
const anchor = (s: string) => `${RUNBOOK}-${s.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

export const HEALTH_RULES: readonly PrometheusRule[] = [
  {
    alert: 'TollgateCaptureDrops',
    expr: 'sum by (node, reason) (increase(tollgate_collector_dropped_total[5m])) > 0',
    for: '0m', severity: 'critical',
    summary: 'Collector {{ $labels.node }} is dropping HEP records ({{ $labels.reason }})',
    description: 'Captured SIP is being lost: the in-memory queue or the disk spool is full, or the spool failed. Kafka is slow or down, or the spool disk is full.',
    runbook: anchor('capture drops'),
  },
  {
    alert: 'TollgateKernelUdpDrops',
    expr: 'sum by (node) (rate(tollgate_collector_kernel_udp_rcvbuf_errors[5m])) > 0',
    for: '5m', severity: 'warning',
    summary: 'Host of collector {{ $labels.node }} drops UDP datagrams for full receive buffers',
    description: 'HEP over UDP is lost in the kernel before the collector reads it. Raise HEP_UDP_RECV_BUFFER and net.core.rmem_max, or add collectors.',
    runbook: anchor('kernel udp drops'),
  },
  {
    alert: 'TollgateSpoolGrowing',
    expr: '(sum by (node) (deriv(tollgate_collector_spool_bytes[10m])) > 0) and on (node) (sum by (node) (tollgate_collector_spool_bytes) > 0)',
    for: '10m', severity: 'warning',
    summary: 'Disk spool of collector {{ $labels.node }} has been growing for 10 minutes',
    description: 'Kafka does not keep up or is unreachable; capture is safe on disk until the spool is full, then it is dropped.',
    runbook: anchor('spool growing'),
  },
  {
    alert: 'TollgateConsumerLag',
    expr: 'sum by (node, topic) (tollgate_analyzer_consumer_lag) > 10000',
    for: '10m', severity: 'warning',
    summary: 'Analyzer {{ $labels.node }} is more than 10000 records behind on {{ $labels.topic }}',
    description: 'Dashboards, detectors and the API see capture late. ClickHouse inserts are slow or the analyzers need more partitions or members.',
    runbook: anchor('consumer lag'),
  },
  {
    alert: 'TollgateAnalyzerStalled',
    expr: '(max by (node) (tollgate_analyzer_last_commit_age_seconds) > 300) and on (node) (sum by (node) (tollgate_analyzer_consumer_lag) > 0)',
    for: '5m', severity: 'critical',
    summary: 'Analyzer {{ $labels.node }} has not committed for 5 minutes while records wait',
    description: 'The analyzer is stuck: a ClickHouse insert keeps failing, or the consumer lost its group. Check its /healthz and log.',
    runbook: anchor('analyzer stalled'),
  },
  {
    alert: 'TollgateKafkaUnreachable',
    expr: 'sum by (node) (increase(tollgate_collector_kafka_send_failures_total[5m])) > 0',
    for: '5m', severity: 'critical',
    summary: 'Collector {{ $labels.node }} cannot write to Kafka',
    description: 'Kafka batches fail after the producer retries; capture goes to the disk spool. Check the brokers and the network to them.',
    runbook: anchor('kafka unreachable'),
  },
  {
    alert: 'TollgateClickHouseUnreachable',
    expr: 'sum by (node) (increase(tollgate_analyzer_insert_failures_total[5m])) > 0',
    for: '5m', severity: 'critical',
    summary: 'Analyzer {{ $labels.node }} cannot write to ClickHouse',
    description: 'Inserts fail and are retried; nothing is lost (offsets are not committed) but storage lags. Check ClickHouse health and disk.',
    runbook: anchor('clickhouse unreachable'),
  },
  {
    alert: 'TollgateEdgeProxyUnreachable',
    expr: 'min by (node, proxy) (tollgate_guard_edge_up) == 0',
    for: '2m', severity: 'critical',
    summary: 'Guard {{ $labels.node }} cannot push blocks to edge proxy {{ $labels.proxy }}',
    description: 'Blocks and unblocks queue up for this proxy and attackers are not stopped there. Check the proxy and its JSON-RPC / MI listener; the guard resyncs when it answers again.',
    runbook: anchor('edge proxy unreachable'),
  },
  {
    alert: 'TollgateFreeswitchDisconnected',
    expr: 'max by (node) (tollgate_rating_esl_connected) == 0',
    for: '1m', severity: 'critical',
    summary: 'Rating has lost the event socket of FreeSWITCH {{ $labels.node }}',
    description: 'Prepaid calls on this switch are not authorized or cut off while the socket is down. Check FreeSWITCH and mod_event_socket; the rating service reconnects and resyncs on its own.',
    runbook: anchor('freeswitch disconnected'),
  },
  {
    alert: 'TollgateCgratesUnreachable',
    expr: 'sum by (node) (tollgate_rating_retry_queue) > 0',
    for: '15m', severity: 'warning',
    summary: 'CDRs of rating {{ $labels.node }} have waited 15 minutes to be rated',
    description: 'CGRateS does not answer or keeps failing: prepaid calls follow the unavailability policy and postpaid CDRs queue for rating.',
    runbook: anchor('cgrates unreachable'),
  },
  {
    alert: 'TollgateProcessDown',
    expr: 'up{job="tollgate"} == 0',
    for: '2m', severity: 'critical',
    summary: 'tollgate target {{ $labels.instance }} is down',
    description: 'Prometheus cannot scrape this tollgate process: it is stopped, crashed, or its metrics port is unreachable.',
    runbook: anchor('process down'),
  },
];

export const RULE_GROUP_NAME = 'tollgate-health';

export function rulesDocument(): Record<string, unknown> {
  return {
    groups: [{
      name: RULE_GROUP_NAME,
      interval: '30s',
      rules: HEALTH_RULES.map((r) => ({
        alert: r.alert,
        expr: r.expr,
        for: r.for,
        labels: { severity: r.severity, source: 'tollgate' },
        annotations: { summary: r.summary, description: r.description, runbook_url: r.runbook },
      })),
    }],
  };
}

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or durations. */
export function metricNames(promql: string): string[] {
  const KEYWORDS = new Set(['by', 'on', 'and', 'or', 'unless', 'ignoring', 'without', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);
  const stripped = promql
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const n = m[1]!;
    if (!KEYWORDS.has(n.toLowerCase())) names.add(n);
  }
  return [...names].sort();
}
