/** The guard's Prometheus metrics, registered on the registry the process gives. */
import { Counter, Gauge, Histogram, type Registry } from '../shared/metrics.ts';

export interface GuardMetrics {
  readonly events: Counter<'topic' | 'outcome'>;
  readonly findings: Counter<'detector' | 'rule' | 'severity'>;
  readonly alerts: Counter<'detector' | 'change'>;
  readonly firing: Gauge<'detector'>;
  readonly blocks: Counter<'detector' | 'action'>;
  readonly activeBlocks: Gauge;
  readonly edgeRequests: Counter<'proxy' | 'op' | 'outcome'>;
  readonly edgeSeconds: Histogram<'proxy' | 'op'>;
  readonly edgeUp: Gauge<'proxy'>;
  readonly edgeResyncs: Counter<'proxy' | 'reason'>;
  readonly edgePending: Gauge<'proxy'>;
  readonly webhookDeliveries: Counter<'receiver' | 'outcome'>;
  readonly detectionSeconds: Histogram<'detector'>;
}

export function guardMetrics(registry: Registry): GuardMetrics {
  const registers = [registry];
  return {
    events: new Counter({ name: 'tollgate_guard_events_total', help: 'Events read from sip.events / sip.quarantine, by outcome (ok, bad, duplicate).', labelNames: ['topic', 'outcome'], registers }),
    findings: new Counter({ name: 'tollgate_guard_findings_total', help: 'Detector findings (before alert de-duplication).', labelNames: ['detector', 'rule', 'severity'], registers }),
    alerts: new Counter({ name: 'tollgate_guard_alert_changes_total', help: 'Alert changes: opened, escalated, updated, resolved.', labelNames: ['detector', 'change'], registers }),
    firing: new Gauge({ name: 'tollgate_guard_alerts_firing', help: 'Alerts currently firing.', labelNames: ['detector'], registers }),
    blocks: new Counter({ name: 'tollgate_guard_blocks_total', help: 'Blocklist decisions: block, unblock, refused (allowlist), grace.', labelNames: ['detector', 'action'], registers }),
    activeBlocks: new Gauge({ name: 'tollgate_guard_blocks_active', help: 'Addresses blocked now.', registers }),
    edgeRequests: new Counter({ name: 'tollgate_guard_edge_requests_total', help: 'Requests to edge proxies (Kamailio JSON-RPC, OpenSIPS MI), by outcome.', labelNames: ['proxy', 'op', 'outcome'], registers }),
    edgeSeconds: new Histogram({ name: 'tollgate_guard_edge_request_seconds', help: 'Edge proxy request time.', labelNames: ['proxy', 'op'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5], registers }),
    edgeUp: new Gauge({ name: 'tollgate_guard_edge_up', help: '1 while the last request to the proxy succeeded.', labelNames: ['proxy'], registers }),
    edgeResyncs: new Counter({ name: 'tollgate_guard_edge_resyncs_total', help: 'Full re-pushes of the active set to a proxy, by reason (start, restarted, recovered).', labelNames: ['proxy', 'reason'], registers }),
    edgePending: new Gauge({ name: 'tollgate_guard_edge_pending', help: 'Ban changes waiting for a proxy.', labelNames: ['proxy'], registers }),
    webhookDeliveries: new Counter({ name: 'tollgate_guard_webhook_deliveries_total', help: 'Alert webhook attempts, by outcome (delivered, retry, dead).', labelNames: ['receiver', 'outcome'], registers }),
    detectionSeconds: new Histogram({ name: 'tollgate_guard_detection_lag_seconds', help: 'From the event that crossed a threshold (capture time) to the block decision.', labelNames: ['detector'], buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers }),
  };
}
