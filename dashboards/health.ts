/**
 * tollgate health, from Prometheus scraping every tollgate process's `/metrics` (default labels `service`, `node`):
 * capture rates and drops, kernel UDP drops, spool, Kafka lag, analyzer throughput and insert latency, guard decisions
 * and edge proxies, rating decision latency, process resources. Every metric name used here is checked against the live `/metrics` of running services in the tests.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import { baseDashboard, finish, PROMETHEUS, seriesPanel, statPanel } from './lib/common.ts';

export const UID = 'tollgate-health';

const SEL = 'node=~"$node"';

export const prom = (expr: string, legend = '__auto', refId = 'A') =>
  new prometheus.DataqueryBuilder().datasource(PROMETHEUS).expr(expr).legendFormat(legend).refId(refId).range();

const nodeVariable = () => new dashboard.QueryVariableBuilder('node')
  .label('Node')
  .datasource(PROMETHEUS)
  .query({ query: 'label_values(tollgate_process_start_time_seconds, node)', refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 })
  .definition('label_values(tollgate_process_start_time_seconds, node)')
  .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
  .sort(dashboard.VariableSort.AlphabeticalAsc)
  .multi(true)
  .includeAll(true)
  .allValue('.*')
  .current({ selected: true, text: ['All'], value: ['$__all'] });

export function build() {
  return finish(baseDashboard(UID, 'tollgate / health', 'Capture, spool, Kafka lag, analyzer throughput and latency, process resources.', ['health', 'ops'])
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .withVariable(nodeVariable())
    .withPanel(statPanel('Processes up', 'tollgate processes Prometheus scrapes successfully.',
      prom('sum(up{job="tollgate"})'), 'short', { w: 6, h: 4 }, PROMETHEUS))
    .withPanel(statPanel('Capture drops (1h)', 'HEP records the collector dropped in the last hour, any reason.',
      prom(`sum(increase(tollgate_collector_dropped_total{${SEL}}[1h]))`), 'short', { w: 6, h: 4 }, PROMETHEUS))
    .withPanel(statPanel('Spool', 'Bytes waiting in the collectors\' disk spool for Kafka.',
      prom(`sum(tollgate_collector_spool_bytes{${SEL}})`), 'bytes', { w: 6, h: 4 }, PROMETHEUS))
    .withPanel(statPanel('Consumer lag', 'Records the analyzers are behind, all topics.',
      prom(`sum(tollgate_analyzer_consumer_lag{${SEL}})`), 'short', { w: 6, h: 4 }, PROMETHEUS))
    .withPanel(seriesPanel('Capture packets/s', 'HEP packets accepted, by transport and payload route.',
      [prom(`sum by (transport, type) (rate(tollgate_collector_packets_total{${SEL}}[$__rate_interval]))`, '{{transport}} {{type}}')], 'pps', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Drops by reason', 'Records dropped by the publisher (queue or spool full, shutdown) and HEP that failed to decode.',
      [prom(`sum by (reason) (rate(tollgate_collector_dropped_total{${SEL}}[$__rate_interval]))`, 'dropped {{reason}}'),
        prom(`sum by (reason) (rate(tollgate_collector_decode_errors_total{${SEL}}[$__rate_interval]))`, 'decode {{reason}}', 'B')], 'pps', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Kernel UDP drops/s', 'Datagrams the kernel dropped for a full receive buffer (host-wide): HEP lost before the collector read it.',
      [prom(`sum by (node, family) (rate(tollgate_collector_kernel_udp_rcvbuf_errors{${SEL}}[$__rate_interval]))`, '{{node}} {{family}}')], 'pps', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Spool and queue', 'Bytes in the disk spool and in memory on their way to Kafka.',
      [prom(`sum by (node) (tollgate_collector_spool_bytes{${SEL}})`, 'spool {{node}}'),
        prom(`sum by (node) (tollgate_collector_queue_bytes{${SEL}})`, 'queue {{node}}', 'B')], 'bytes', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Kafka consumer lag', 'Analyzer lag per topic.',
      [prom(`sum by (topic) (tollgate_analyzer_consumer_lag{${SEL}})`, '{{topic}}')], 'short', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Analyzer rows/s', 'Rows written to ClickHouse per table.',
      [prom(`sum by (table) (rate(tollgate_analyzer_rows_written_total{${SEL}}[$__rate_interval]))`, '{{table}}')], 'short', undefined, PROMETHEUS))
    .withPanel(seriesPanel('ClickHouse insert latency p95', 'Per table.',
      [prom(`histogram_quantile(0.95, sum by (le, table) (rate(tollgate_analyzer_insert_seconds_bucket{${SEL}}[$__rate_interval])))`, '{{table}}')], 's', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Capture to Kafka p99', 'Receive to Kafka acknowledgement, from memory and from the spool.',
      [prom(`histogram_quantile(0.99, sum by (le, source) (rate(tollgate_collector_receive_to_ack_seconds_bucket{${SEL}}[$__rate_interval])))`, '{{source}}')], 's', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Write failures/s', 'Kafka batches not acknowledged and ClickHouse inserts that failed (both retried).',
      [prom(`sum(rate(tollgate_collector_kafka_send_failures_total{${SEL}}[$__rate_interval]))`, 'kafka send'),
        prom(`sum by (table) (rate(tollgate_analyzer_insert_failures_total{${SEL}}[$__rate_interval]))`, 'clickhouse {{table}}', 'B')], 'short', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Guard decisions/s', 'Detector findings and blocklist decisions (block, unblock, refused by the allowlist).',
      [prom(`sum by (detector) (rate(tollgate_guard_findings_total{${SEL}}[$__rate_interval]))`, 'finding {{detector}}'),
        prom(`sum by (detector, action) (rate(tollgate_guard_blocks_total{${SEL}}[$__rate_interval]))`, '{{action}} {{detector}}', 'B')], 'short', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Edge proxies', '1 while the last push to a Kamailio or OpenSIPS proxy succeeded; ban changes waiting.',
      [prom(`min by (proxy) (tollgate_guard_edge_up{${SEL}})`, 'up {{proxy}}'),
        prom(`sum by (proxy) (tollgate_guard_edge_pending{${SEL}})`, 'pending {{proxy}}', 'B')], 'short', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Rating decision latency', 'CHANNEL_PARK to the decision written to FreeSWITCH, p50 and p99.',
      [prom(`histogram_quantile(0.5, sum by (le) (rate(tollgate_rating_park_decision_seconds_bucket{${SEL}}[$__rate_interval])))`, 'p50'),
        prom(`histogram_quantile(0.99, sum by (le) (rate(tollgate_rating_park_decision_seconds_bucket{${SEL}}[$__rate_interval])))`, 'p99', 'B')], 's', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Rating: park decisions and retry queue', 'Decisions by action and reason per second; CDRs waiting to be (re-)rated.',
      [prom(`sum by (action, reason) (rate(tollgate_rating_park_decisions_total{${SEL}}[$__rate_interval]))`, '{{action}} {{reason}}'),
        prom(`sum(tollgate_rating_retry_queue{${SEL}})`, 'retry queue', 'B')], 'short', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Process memory', 'Resident memory per process.',
      [prom(`tollgate_process_resident_memory_bytes{${SEL}}`, '{{service}} {{node}}')], 'bytes', undefined, PROMETHEUS))
    .withPanel(seriesPanel('Event-loop lag p99', 'A busy or blocked event loop delays capture and inserts.',
      [prom(`tollgate_nodejs_eventloop_lag_p99_seconds{${SEL}}`, '{{service}} {{node}}')], 's', undefined, PROMETHEUS)));
}
