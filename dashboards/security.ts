/**
 * Security and fraud: the guard's alerts by detector and severity, the active blocklist, the sources and accounts
 * under attack, and traffic to high-risk destinations. Reads `alerts` (ReplacingMergeTree: FINAL gives each alert's
 * latest version) and `blocklist_audit` from the guard's migration (sql/0005_guard.sql), and `calls`.
 */
import {
  apiUrlVariable, baseDashboard, bucket, CALL_NODE, DOMAIN, domainVariable, finish, intervalVariable, ladderLink,
  nodeVariable, seriesPanel, sqlSeries, sqlTable, stackedBars, statPanel, tablePanel, TENANT, tenantVariable,
} from './lib/common.ts';

export const UID = 'tollgate-security';

/**
 * ITU shared international codes and premium services (the first block of the guard's shipped list,
 * services/guard/high-risk-prefixes.txt), without `+`. The guard's full, editable list drives its toll-fraud alerts;
 * this panel shows the traffic to the ranges every operator treats as high-risk.
 */
export const HIGH_RISK_PREFIXES = ['870', '871', '872', '873', '874', '881', '882', '883', '888', '979'] as const;

/** Alerts carry the guard's node, not a capture node: no node filter. */
const ALERTS = `$__timeFilter(first_seen) AND ${TENANT}`;
/** The dialled number without `+`, `00` or `011`. */
const DIALLED = "replaceRegexpOne(ruri_user, '^(\\\\+|00|011)', '')";
const HIGH_RISK = `arrayExists(p -> startsWith(${DIALLED}, p), [${HIGH_RISK_PREFIXES.map((p) => `'${p}'`).join(', ')}])`;

export function build() {
  return finish(baseDashboard(UID, 'tollgate / Security and fraud',
    'Guard alerts by detector and severity, active blocks, attacking sources, targeted accounts, high-risk destinations.', ['security', 'fraud'])
    .withVariable(tenantVariable())
    .withVariable(nodeVariable())
    .withVariable(domainVariable())
    .withVariable(intervalVariable())
    .withVariable(apiUrlVariable())
    .withPanel(statPanel('Firing alerts', 'Alerts raised in the range that are still firing.',
      sqlTable(`SELECT count() AS firing FROM alerts FINAL WHERE ${ALERTS} AND state = 'firing'`), 'short', { w: 6, h: 4 }))
    .withPanel(statPanel('Critical alerts', 'Critical alerts raised in the range, firing or resolved.',
      sqlTable(`SELECT count() AS critical FROM alerts FINAL WHERE ${ALERTS} AND severity = 'critical'`), 'short', { w: 6, h: 4 }))
    .withPanel(statPanel('Active blocks', 'Addresses blocked at the edge at the end of the range.',
      sqlTable(`SELECT count() AS active FROM (
  SELECT ip, argMax(action, ts) AS last_action, argMax(expires_at, ts) AS expires
  FROM blocklist_audit WHERE ts <= $__toTime AND action IN ('block', 'unblock', 'expire') GROUP BY ip)
WHERE last_action = 'block' AND (expires IS NULL OR expires > $__toTime)`), 'short', { w: 6, h: 4 }))
    .withPanel(statPanel('High-risk calls', 'Call attempts to the ITU shared and premium ranges (+870-874, +881-883, +888, +979).',
      sqlTable(`SELECT count() AS calls FROM calls WHERE $__timeFilter(setup_ts) AND ${TENANT} AND ${CALL_NODE} AND ${DOMAIN} AND ${HIGH_RISK}`), 'short', { w: 6, h: 4 }))
    .withPanel(stackedBars('Alerts by detector and severity', 'New alerts per bucket.',
      sqlSeries(`SELECT ${bucket('first_seen')} AS time, concat(detector, ' ', severity) AS detector_severity, count() AS alerts
FROM alerts FINAL WHERE ${ALERTS} GROUP BY time, detector_severity ORDER BY time, detector_severity`), 'short'))
    .withPanel(seriesPanel('High-risk destination traffic', 'Attempts and answered calls to high-risk ranges per bucket.',
      [sqlSeries(`SELECT ${bucket('setup_ts')} AS time, count() AS attempts, countIf(state IN ('answered', 'timeout_without_bye')) AS answered
FROM calls WHERE $__timeFilter(setup_ts) AND ${TENANT} AND ${CALL_NODE} AND ${DOMAIN} AND ${HIGH_RISK}
GROUP BY time ORDER BY time`)], 'short'))
    .withPanel(tablePanel('Alerts', 'Latest first; the Call-ID (first sample of the evidence) opens its SIP ladder.',
      sqlTable(`SELECT first_seen, last_seen, detector, rule, severity, state, subject_kind, subject, tenant, findings,
  arrayStringConcat(blocked, ' ') AS blocked, JSONExtractString(evidence, 'call_ids', 1) AS call_id, id
FROM alerts FINAL WHERE ${ALERTS}
ORDER BY last_seen DESC, id LIMIT 200`), { w: 24, h: 10 }, [{ field: 'call_id', links: [ladderLink()] }]))
    .withPanel(tablePanel('Blocked addresses', 'Addresses blocked at the end of the range, with why and until when.',
      sqlTable(`SELECT ip, blocked_at, blocked_by, why, by_actor, offence_count, expires FROM (
  SELECT ip, argMax(action, ts) AS last_action, max(ts) AS blocked_at, argMax(detector, ts) AS blocked_by, argMax(reason, ts) AS why,
    argMax(actor, ts) AS by_actor, argMax(offences, ts) AS offence_count, argMax(expires_at, ts) AS expires
  FROM blocklist_audit WHERE ts <= $__toTime AND action IN ('block', 'unblock', 'expire') GROUP BY ip)
WHERE last_action = 'block' AND (expires IS NULL OR expires > $__toTime)
ORDER BY blocked_at DESC, ip LIMIT 200`), { w: 12, h: 9 }))
    .withPanel(tablePanel('Top attacking sources', 'Source addresses with the most alerts in the range.',
      sqlTable(`SELECT subject AS source, count() AS alerts, sum(findings) AS findings, arrayStringConcat(groupUniqArray(detector), ',') AS detectors,
  max(severity = 'critical') AS any_critical, max(last_seen) AS latest
FROM alerts FINAL WHERE ${ALERTS} AND subject_kind = 'ip'
GROUP BY source ORDER BY alerts DESC, findings DESC, source LIMIT 20`), { w: 12, h: 9 }))
    .withPanel(tablePanel('Targeted accounts', 'Accounts named by brute-force and toll-fraud alerts.',
      sqlTable(`SELECT subject AS account, tenant, count() AS alerts, sum(findings) AS findings, arrayStringConcat(groupUniqArray(detector), ',') AS detectors,
  max(last_seen) AS latest
FROM alerts FINAL WHERE ${ALERTS} AND subject_kind = 'account'
GROUP BY account, tenant ORDER BY alerts DESC, findings DESC, account LIMIT 20`), { w: 12, h: 9 }))
    .withPanel(tablePanel('High-risk destinations called', 'Numbers in high-risk ranges, who called them and from where.',
      sqlTable(`SELECT ruri_user AS destination, from_user AS caller, src_ip AS source, count() AS calls,
  countIf(state IN ('answered', 'timeout_without_bye')) AS answered, sum(ifNull(duration_ms, 0)) / 1000 AS seconds
FROM calls WHERE $__timeFilter(setup_ts) AND ${TENANT} AND ${CALL_NODE} AND ${DOMAIN} AND ${HIGH_RISK}
GROUP BY destination, caller, source ORDER BY calls DESC, destination, caller, source LIMIT 20`), { w: 12, h: 9 })));
}
