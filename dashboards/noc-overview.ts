/**
 * NOC overview: call volume and quality (ASR, ACD, NER, PDD), final responses by SIP code, registrations, and where
 * traffic goes and comes from, per tenant and node. Reads the `calls` and `registrations` detail tables (the
 * per-minute rollups carry neither node nor domain); KPI definitions are those of `calls_minute_kpi` (sql/0003).
 */
import {
  apiUrlVariable, baseDashboard, bucket, CALL_NODE, DOMAIN, domainVariable, finish, guardAlertAnnotation, intervalVariable, NODE, nodeVariable,
  seriesPanel, sqlSeries, sqlTable, stackedBars, statPanel, tablePanel, TENANT, tenantVariable,
} from './lib/common.ts';

export const UID = 'tollgate-noc';

const CALLS = `$__timeFilter(setup_ts) AND ${TENANT} AND ${CALL_NODE} AND ${DOMAIN}`;
const REGS = `$__timeFilter(ts) AND ${TENANT} AND ${NODE} AND ${DOMAIN}`;
/** Answered: a 2xx was seen (sql/0003). */
const ANSWERED = "state IN ('answered', 'timeout_without_bye')";
/** Effective for NER: answered, or ended by the user (busy, no answer, declined, cancelled). */
const EFFECTIVE = `(${ANSWERED} OR state = 'cancelled' OR ifNull(final_status, 0) IN (486, 600, 408, 480, 603, 487))`;
const ASR = `if(count() = 0, 0, countIf(${ANSWERED}) / count())`;
const NER = `if(count() = 0, 0, countIf(${EFFECTIVE}) / count())`;
const ACD_S = 'if(countIf(duration_ms IS NOT NULL) = 0, 0, sumIf(duration_ms, duration_ms IS NOT NULL) / countIf(duration_ms IS NOT NULL) / 1000)';
const REG_FAILED = "outcome IN ('auth_failed', 'failed', 'timeout')";

export function build() {
  return finish(baseDashboard(UID, 'tollgate / NOC overview',
    'Call volume, ASR, ACD, NER, PDD, SIP final responses, registrations and top destinations and sources, per tenant and node.',
    ['noc', 'calls'])
    .withVariable(tenantVariable())
    .withVariable(nodeVariable())
    .withVariable(domainVariable())
    .withVariable(intervalVariable())
    .withVariable(apiUrlVariable())
    .annotation(guardAlertAnnotation())
    .withPanel(statPanel('Call attempts', 'INVITE dialogs set up in the range (auth retries and followed redirects are one attempt).',
      sqlTable(`SELECT count() AS call_attempts FROM calls WHERE ${CALLS}`), 'short'))
    .withPanel(statPanel('ASR', 'Answer-seizure ratio: answered calls / attempts.',
      sqlTable(`SELECT ${ASR} AS asr FROM calls WHERE ${CALLS}`), 'percentunit'))
    .withPanel(statPanel('ACD', 'Average call duration of answered calls with a known duration.',
      sqlTable(`SELECT ${ACD_S} AS acd FROM calls WHERE ${CALLS}`), 's'))
    .withPanel(statPanel('NER', 'Network effectiveness ratio (ITU-T E.411): answered or ended by the user (busy, no answer, declined, cancelled) / attempts.',
      sqlTable(`SELECT ${NER} AS ner FROM calls WHERE ${CALLS}`), 'percentunit'))
    .withPanel(statPanel('PDD p50 / p95', 'Post-dial delay: INVITE to first 18x (else answer, else final response).',
      sqlTable(`SELECT q[1] AS pdd_p50, q[2] AS pdd_p95 FROM (SELECT quantilesExact(0.5, 0.95)(pdd_ms) AS q FROM calls WHERE ${CALLS})`), 'ms'))
    .withPanel(statPanel('Active registrations', 'Contacts whose last REGISTER succeeded and has not expired at the end of the range (REGISTERs of the last day).',
      sqlTable(`SELECT count() AS active FROM (
  SELECT argMax(outcome, ts) AS last_outcome, max(ts) AS last_ts, argMax(ifNull(expires_granted, 0), ts) AS expires
  FROM registrations
  WHERE ts <= $__toTime AND ts > $__toTime - INTERVAL 1 DAY AND ${TENANT} AND ${NODE} AND ${DOMAIN}
    AND outcome IN ('registered', 'deregistered')
  GROUP BY tenant, aor_user, aor_domain)
WHERE last_outcome = 'registered' AND last_ts + toIntervalSecond(expires) > $__toTime`), 'short'))
    .withPanel(seriesPanel('Calls per interval', 'Attempts and answered calls per bucket of the Interval variable.',
      [sqlSeries(`SELECT ${bucket('setup_ts')} AS time, count() AS call_attempts, countIf(${ANSWERED}) AS answered
FROM calls WHERE ${CALLS} GROUP BY time ORDER BY time`)], 'short'))
    .withPanel(seriesPanel('ASR and NER', 'Per bucket.',
      [sqlSeries(`SELECT ${bucket('setup_ts')} AS time, ${ASR} AS asr, ${NER} AS ner
FROM calls WHERE ${CALLS} GROUP BY time ORDER BY time`)], 'percentunit'))
    .withPanel(stackedBars('Final responses by SIP code', 'Calls by the final status of their last attempt (none: no final response seen).',
      sqlSeries(`SELECT ${bucket('setup_ts')} AS time, if(final_status IS NULL, 'none', toString(final_status)) AS code, count() AS calls
FROM calls WHERE ${CALLS} GROUP BY time, code ORDER BY time, code`), 'short'))
    .withPanel(seriesPanel('PDD per interval', 'Post-dial delay p50 and p95 per bucket.',
      [sqlSeries(`SELECT ${bucket('setup_ts')} AS time, quantileExact(0.5)(pdd_ms) AS pdd_p50, quantileExact(0.95)(pdd_ms) AS pdd_p95
FROM calls WHERE ${CALLS} AND pdd_ms IS NOT NULL GROUP BY time ORDER BY time`)], 'ms'))
    .withPanel(stackedBars('Registrations', 'REGISTER transactions by outcome: success, challenge (normal first half of digest auth), failure.',
      sqlSeries(`SELECT ${bucket('ts')} AS time,
  countIf(outcome IN ('registered', 'deregistered', 'query')) AS success,
  countIf(outcome = 'challenge') AS challenge,
  countIf(${REG_FAILED}) AS failure
FROM registrations WHERE ${REGS} GROUP BY time ORDER BY time`), 'short'))
    .withPanel(tablePanel('Registration failures by user and source', 'Failed REGISTERs (wrong credentials, errors, timeouts): who and from where.',
      sqlTable(`SELECT aor_user, aor_domain, src_ip AS source, count() AS failures, max(ts) AS last_failure
FROM registrations WHERE ${REGS} AND ${REG_FAILED}
GROUP BY aor_user, aor_domain, source ORDER BY failures DESC, aor_user, source LIMIT 20`), { w: 12, h: 8 }))
    .withPanel(tablePanel('Top destinations', 'Most called numbers (Request-URI user) with their ASR and ACD.',
      sqlTable(`SELECT ruri_user AS destination, count() AS calls, ${ASR} AS asr, ${ACD_S} AS acd_s
FROM calls WHERE ${CALLS} GROUP BY destination ORDER BY calls DESC, destination LIMIT 10`), { w: 12, h: 9 }))
    .withPanel(tablePanel('Top sources', 'Source addresses and callers placing the most calls.',
      sqlTable(`SELECT src_ip AS source, from_user AS caller, count() AS calls, ${ASR} AS asr
FROM calls WHERE ${CALLS} GROUP BY source, caller ORDER BY calls DESC, source, caller LIMIT 10`), { w: 12, h: 9 }))
    .withPanel(tablePanel('Per tenant and node', 'KPIs for each tenant and capturing node (a call seen by two nodes counts on both).',
      sqlTable(`SELECT tenant, node, count() AS calls, ${ASR} AS asr, ${ACD_S} AS acd_s, ${NER} AS ner
FROM calls ARRAY JOIN if(empty(nodes), [''], nodes) AS node
WHERE ${CALLS} GROUP BY tenant, node ORDER BY tenant, node`), { w: 24, h: 8 })));
}
