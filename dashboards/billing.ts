/**
 * Billing: CDRs and cost per interval, by destination and account, prepaid refusals and rating failures. Reads the
 * rating service's `cdrs` (sql/0006_rating.sql: one row per call leg and revision, ReplacingMergeTree by version, so
 * FINAL gives each leg's latest revision). CDRs carry no SIP domain, so there is no domain filter; `node` is the
 * FreeSWITCH node.
 */
import {
  apiUrlVariable, baseDashboard, bucket, finish, intervalVariable, ladderLink, NODE, seriesPanel, sqlSeries, sqlTable, stackedBars,
  statPanel, tablePanel, TENANT, tenantVariable,
} from './lib/common.ts';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { CLICKHOUSE } from './lib/common.ts';

export const UID = 'tollgate-billing';

const WHERE = `$__timeFilter(created_at) AND ${TENANT} AND ${NODE}`;
const REFUSED = "disposition = 'refused'";
/** CGRateS answered with an error; `pending`: CGRateS was away, the CDR waits in the retry queue. */
const RATING_FAILED = "rating_status = 'failed'";
const NOT_RATED = "rating_status IN ('failed', 'pending')";

const nodeVariable = () => new dashboard.QueryVariableBuilder('node')
  .label('Switch')
  .datasource(CLICKHOUSE)
  .query(`SELECT DISTINCT node FROM cdrs WHERE $__timeFilter(created_at) AND ${TENANT} AND node != '' AND match(node, '^[A-Za-z0-9._:@+-]+$') ORDER BY node`)
  .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
  .sort(dashboard.VariableSort.AlphabeticalAsc)
  .multi(true)
  .includeAll(true)
  .allowCustomValue(false)
  .current({ selected: true, text: ['All'], value: ['$__all'] });

export function build() {
  return finish(baseDashboard(UID, 'tollgate / Billing', 'CDRs, billed minutes and cost by destination and account; prepaid refusals; rating failures.', ['billing', 'cdr'])
    .time({ from: 'now-24h', to: 'now' })
    .withVariable(tenantVariable())
    .withVariable(nodeVariable())
    .withVariable(intervalVariable())
    .withVariable(apiUrlVariable())
    .withPanel(statPanel('CDRs', 'Call legs with a CDR created in the range.', sqlTable(`SELECT count() AS cdrs FROM cdrs FINAL WHERE ${WHERE}`), 'short', { w: 5, h: 4 }))
    .withPanel(statPanel('Billed minutes', 'Sum of billsec.', sqlTable(`SELECT sum(billsec) / 60 AS minutes FROM cdrs FINAL WHERE ${WHERE}`), 'short', { w: 5, h: 4 }))
    .withPanel(statPanel('Cost', 'Sum of the cost CGRateS rated, in the tariff currency.', sqlTable(`SELECT sum(ifNull(cost, 0)) AS cost_total FROM cdrs FINAL WHERE ${WHERE}`), 'none', { w: 5, h: 4 }))
    .withPanel(statPanel('Prepaid refusals', 'Prepaid calls refused before answer (no credit, or CGRateS unreachable).',
      sqlTable(`SELECT countIf(${REFUSED}) AS refused FROM cdrs FINAL WHERE ${WHERE}`), 'short', { w: 5, h: 4 }))
    .withPanel(statPanel('Rating failures', 'CDRs CGRateS could not rate yet (kept and re-rated).',
      sqlTable(`SELECT countIf(${RATING_FAILED}) AS failed FROM cdrs FINAL WHERE ${WHERE}`), 'short', { w: 4, h: 4 }))
    .withPanel(seriesPanel('CDRs and cost per interval', 'CDRs created and their cost per bucket.',
      [sqlSeries(`SELECT ${bucket('created_at')} AS time, count() AS cdrs, sum(ifNull(cost, 0)) AS cost_total
FROM cdrs FINAL WHERE ${WHERE} GROUP BY time ORDER BY time`)], 'short'))
    .withPanel(stackedBars('Prepaid refusals and rating failures', 'Per bucket.',
      sqlSeries(`SELECT ${bucket('created_at')} AS time, countIf(${REFUSED}) AS refused, countIf(${RATING_FAILED}) AS rating_failed
FROM cdrs FINAL WHERE ${WHERE} GROUP BY time ORDER BY time`), 'short'))
    .withPanel(tablePanel('Cost by destination', 'Destinations by cost.',
      sqlTable(`SELECT destination, count() AS cdrs, sum(billsec) / 60 AS minutes, sum(ifNull(cost, 0)) AS cost_total
FROM cdrs FINAL WHERE ${WHERE} GROUP BY destination ORDER BY cost_total DESC, destination LIMIT 20`)))
    .withPanel(tablePanel('Cost by account', 'Accounts by cost, with their refusals.',
      sqlTable(`SELECT account, request_type, count() AS cdrs, sum(billsec) / 60 AS minutes, sum(ifNull(cost, 0)) AS cost_total, countIf(${REFUSED}) AS refused
FROM cdrs FINAL WHERE ${WHERE} GROUP BY account, request_type ORDER BY cost_total DESC, account, request_type LIMIT 20`)))
    .withPanel(tablePanel('CDRs not rated', 'CDRs whose rating failed or waits for CGRateS, newest first; the Call-ID opens the SIP ladder.',
      sqlTable(`SELECT created_at, unique_id, sip_call_id AS call_id, account, destination, billsec, rating_status, rating_attempts, rating_error, node
FROM cdrs FINAL WHERE ${WHERE} AND ${NOT_RATED}
ORDER BY created_at DESC, unique_id LIMIT 200`), { w: 24, h: 9 }, [{ field: 'call_id', links: [ladderLink()] }])));
}
