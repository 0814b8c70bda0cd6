/**
 * QoS: MOS, packet loss and jitter from RTCP report blocks and HEP QoS reports, and the worst streams with a link to
 * their call's ladder. RTCP jitter arrives in RTP timestamp units; it is shown in ms for an 8 kHz clock (G.711,
 * G.729: the usual telephony codecs), which HEP QoS reports give directly.
 */
import {
  apiUrlVariable, baseDashboard, bucket, domainVariable, finish, intervalVariable, ladderLink, NODE, nodeVariable,
  seriesPanel, sqlSeries, sqlTable, statPanel, tablePanel, tenantVariable,
} from './lib/common.ts';

export const UID = 'tollgate-qos';

/**
 * Media reports carry no SIP domain (the analyzer stores them under the default tenant): tenant and domain come from
 * the call they belong to, set up at most a day before the range ends.
 */
const ofCalls = (filter: string) =>
  `call_id IN (SELECT call_id FROM calls WHERE setup_ts >= $__fromTime - INTERVAL 1 DAY AND setup_ts <= $__toTime AND ${filter})`;
const QOS_TENANT = `$__conditionalAll(${ofCalls('tenant IN (${tenant:sqlstring})')}, $tenant)`;
const QOS_DOMAIN = `$__conditionalAll(${ofCalls('domain IN (${domain:sqlstring})')}, $domain)`;
const WHERE = `$__timeFilter(ts) AND ${QOS_TENANT} AND ${NODE} AND ${QOS_DOMAIN}`;
/** Fraction lost 0..1: RTCP's own field, else lost / (lost + received) of a QoS report. */
const LOSS = 'coalesce(toFloat64(fraction_lost), toFloat64(packets_lost) / nullIf(toFloat64(packets_lost) + toFloat64(packets_received), 0))';
const JITTER_MS = 'coalesce(toFloat64(jitter_ms), toFloat64(jitter_ts_units) / 8)';

export function build() {
  return finish(baseDashboard(UID, 'tollgate / QoS', 'MOS, packet loss and jitter from RTCP and HEP QoS reports; worst streams.', ['qos', 'media'])
    .withVariable(tenantVariable())
    .withVariable(nodeVariable())
    .withVariable(domainVariable())
    .withVariable(intervalVariable())
    .withVariable(apiUrlVariable())
    .withPanel(statPanel('Reports', 'RTCP report blocks and QoS reports in the range.', sqlTable(`SELECT count() AS reports FROM qos WHERE ${WHERE}`), 'short', { w: 6, h: 4 }))
    .withPanel(statPanel('Average MOS', 'Of reports that carry a MOS (HEP QoS).', sqlTable(`SELECT avg(mos) AS mos_avg FROM qos WHERE ${WHERE} AND mos IS NOT NULL`), 'none', { w: 6, h: 4 }))
    .withPanel(statPanel('Average loss', 'Mean fraction of packets lost per report.', sqlTable(`SELECT avg(${LOSS}) AS loss FROM qos WHERE ${WHERE}`), 'percentunit', { w: 6, h: 4 }))
    .withPanel(statPanel('Jitter p95', 'Interarrival jitter, 95th percentile of reports.', sqlTable(`SELECT quantileExact(0.95)(${JITTER_MS}) AS jitter_p95 FROM qos WHERE ${WHERE}`), 'ms', { w: 6, h: 4 }))
    .withPanel(seriesPanel('MOS', 'Average and worst MOS per bucket.',
      [sqlSeries(`SELECT ${bucket('ts')} AS time, avg(mos) AS mos_avg, min(mos) AS mos_min
FROM qos WHERE ${WHERE} AND mos IS NOT NULL GROUP BY time ORDER BY time`)], 'none', { w: 8, h: 8 }))
    .withPanel(seriesPanel('Packet loss', 'Average and worst fraction lost per bucket.',
      [sqlSeries(`SELECT ${bucket('ts')} AS time, avg(${LOSS}) AS loss_avg, max(${LOSS}) AS loss_max
FROM qos WHERE ${WHERE} GROUP BY time ORDER BY time`)], 'percentunit', { w: 8, h: 8 }))
    .withPanel(seriesPanel('Jitter', 'Average and worst interarrival jitter per bucket.',
      [sqlSeries(`SELECT ${bucket('ts')} AS time, avg(${JITTER_MS}) AS jitter_avg, max(${JITTER_MS}) AS jitter_max
FROM qos WHERE ${WHERE} GROUP BY time ORDER BY time`)], 'ms', { w: 8, h: 8 }))
    .withPanel(tablePanel('Worst streams', 'Streams by worst loss, then jitter; the Call-ID opens the call\'s SIP ladder.',
      sqlTable(`SELECT call_id, direction, source_ssrc, count() AS reports, max(${LOSS}) AS loss_max, max(${JITTER_MS}) AS jitter_max_ms,
  min(mos) AS mos_min, max(ts) AS last_report
FROM qos WHERE ${WHERE}
GROUP BY call_id, direction, source_ssrc
ORDER BY loss_max DESC NULLS LAST, jitter_max_ms DESC NULLS LAST, call_id, direction, source_ssrc
LIMIT 20`), { w: 24, h: 10 }, [{ field: 'call_id', links: [ladderLink()] }])));
}
