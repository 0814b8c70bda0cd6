/**
 * Grafana alert rules for the business signals, built with the SDK's alerting builders: each rule runs one
 * ClickHouse query over a recent window (one row per tenant: the row's string columns become the alert's labels) and
 * a threshold expression on its value. Provisioned from deploy/grafana/provisioning/alerting/.
 */
import * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import * as expr from '@grafana/grafana-foundation-sdk/expr';
import { ClickHouseQueryBuilder } from '../lib/clickhouse-query.ts';
import { CLICKHOUSE_UID, FOLDER_UID } from '../lib/common.ts';

export type Comparison = 'gt' | 'lt';

export interface BusinessRule {
  readonly uid: string;
  readonly title: string;
  /** Returns `tenant` (label) and `value`, one row per tenant; macros expand over the last `windowSeconds`. */
  readonly sql: string;
  readonly windowSeconds: number;
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly forDuration: string;
  readonly severity: 'warning' | 'critical';
  readonly summary: string;
  readonly description: string;
  readonly runbook: string;
}

/** A rate over too few calls is noise: ratio rules need this many attempts in the window. */
export const MIN_ATTEMPTS = 10;
const RUNBOOK = 'https://github.com/tollgate/tollgate/blob/main/dashboards/README.md#runbooks';
const ANSWERED = "state IN ('answered', 'timeout_without_bye')";

export const BUSINESS_RULES: readonly BusinessRule[] = [
  {
    uid: 'tollgate-asr-drop',
    title: 'ASR dropped',
    sql: `SELECT tenant, countIf(${ANSWERED}) / count() AS value
FROM calls WHERE $__timeFilter(setup_ts)
GROUP BY tenant HAVING count() >= ${MIN_ATTEMPTS} ORDER BY tenant`,
    windowSeconds: 900, comparison: 'lt', threshold: 0.3, forDuration: '10m', severity: 'warning',
    summary: 'ASR of tenant {{ $labels.tenant }} is {{ humanizePercentage $values.A.Value }} over 15 minutes',
    description: 'Fewer than 30% of call attempts were answered. Check the NOC overview for the failing SIP codes and destinations.',
    runbook: `${RUNBOOK}-asr-dropped`,
  },
  {
    uid: 'tollgate-pdd-rise',
    title: 'PDD rose',
    sql: `SELECT tenant, quantileExact(0.95)(pdd_ms) AS value
FROM calls WHERE $__timeFilter(setup_ts) AND pdd_ms IS NOT NULL
GROUP BY tenant HAVING count() >= ${MIN_ATTEMPTS} ORDER BY tenant`,
    windowSeconds: 900, comparison: 'gt', threshold: 5000, forDuration: '10m', severity: 'warning',
    summary: 'PDD p95 of tenant {{ $labels.tenant }} is {{ $values.A.Value }} ms over 15 minutes',
    description: 'Callers wait more than 5 s for ringing. Look for slow routes or carriers and for DNS or auth delays.',
    runbook: `${RUNBOOK}-pdd-rose`,
  },
  {
    uid: 'tollgate-registration-failures',
    title: 'Registration failure spike',
    sql: `SELECT tenant, countIf(outcome IN ('auth_failed', 'failed', 'timeout')) / countIf(outcome != 'challenge') AS value
FROM registrations WHERE $__timeFilter(ts)
GROUP BY tenant HAVING countIf(outcome != 'challenge') >= ${MIN_ATTEMPTS} ORDER BY tenant`,
    windowSeconds: 300, comparison: 'gt', threshold: 0.5, forDuration: '5m', severity: 'warning',
    summary: 'More than half of the REGISTERs of tenant {{ $labels.tenant }} fail',
    description: 'Digest challenges are not counted. A spike is a registrar or database fault, or credential brute force: see Security and fraud.',
    runbook: `${RUNBOOK}-registration-failure-spike`,
  },
  {
    uid: 'tollgate-fraud-critical',
    title: 'Fraud or attack: critical alert firing',
    sql: `SELECT tenant, toFloat64(count()) AS value
FROM alerts FINAL WHERE $__timeFilter(last_seen) AND severity = 'critical' AND state = 'firing'
GROUP BY tenant ORDER BY tenant`,
    windowSeconds: 300, comparison: 'gt', threshold: 0, forDuration: '0s', severity: 'critical',
    summary: '{{ $values.A.Value }} critical guard alert(s) firing for tenant {{ $labels.tenant }}',
    description: 'The guard raised a critical alert (toll fraud, brute force, flood or scanner). Open Security and fraud; the sources may already be blocked.',
    runbook: `${RUNBOOK}-fraud-or-attack-critical-alert-firing`,
  },
  {
    uid: 'tollgate-rating-failures',
    title: 'Rating failures',
    sql: `SELECT tenant, toFloat64(count()) AS value
FROM cdrs FINAL WHERE $__timeFilter(created_at) AND rating_status IN ('failed', 'pending')
GROUP BY tenant ORDER BY tenant`,
    windowSeconds: 900, comparison: 'gt', threshold: 0, forDuration: '15m', severity: 'critical',
    summary: '{{ $values.A.Value }} CDR(s) of tenant {{ $labels.tenant }} could not be rated for 15 minutes',
    description: 'CGRateS failed (failed) or could not be reached (pending) for these CDRs; they are kept and re-rated. A persistent count means CGRateS is down or a tariff is missing.',
    runbook: `${RUNBOOK}-rating-failures`,
  },
];

function ruleBuilder(r: BusinessRule): alerting.RuleBuilder {
  const query = new ClickHouseQueryBuilder(r.sql).refId('A').datasource(CLICKHOUSE_UID).table();
  const threshold = new expr.TypeThresholdBuilder().refId('B').expression('A')
    .datasource({ type: '__expr__', uid: '__expr__' })
    .conditions([{ evaluator: { type: r.comparison, params: [r.threshold] } }]);
  return new alerting.RuleBuilder(r.title)
    .uid(r.uid)
    .queries([
      new alerting.QueryBuilder('A').datasourceUid(CLICKHOUSE_UID).relativeTimeRange({ from: r.windowSeconds, to: 0 }).model(query),
      new alerting.QueryBuilder('B').datasourceUid('__expr__').model(threshold),
    ])
    .condition('B')
    .forDuration(r.forDuration)
    .noDataState('OK')
    .execErrState('Error')
    .labels({ severity: r.severity, team: 'noc', source: 'tollgate' })
    .annotations({ summary: r.summary, description: r.description, runbook_url: r.runbook });
}

export const RULE_GROUP = 'tollgate-business';

export function buildRuleGroup(): alerting.RuleGroup {
  return new alerting.RuleGroupBuilder(RULE_GROUP).folderUid(FOLDER_UID).interval(60)
    .rules(BUSINESS_RULES.map(ruleBuilder)).build();
}

/** Grafana's file-provisioning shape (`apiVersion: 1`, `groups[].rules[]`) for the SDK's rule group. */
export function provisioningDocument(): Record<string, unknown> {
  const g = buildRuleGroup();
  return {
    apiVersion: 1,
    groups: [{
      orgId: 1,
      name: g.title,
      folder: 'tollgate',
      interval: `${g.interval}s`,
      rules: (g.rules ?? []).map((r) => ({
        uid: r.uid,
        title: r.title,
        condition: r.condition,
        data: JSON.parse(JSON.stringify(r.data)) as unknown,
        noDataState: r.noDataState,
        execErrState: r.execErrState,
        for: r.for,
        labels: r.labels,
        annotations: r.annotations,
        isPaused: false,
      })),
    }],
  };
}
