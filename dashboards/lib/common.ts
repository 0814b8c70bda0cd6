/**
 * What every tollgate dashboard shares: the provisioned datasources, the tenant/node/domain/interval variables and
 * their SQL filters, links to the API's call page and ladder, and small panel factories with fixed sizes so the
 * generated layout and JSON are the same on every run.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import { ClickHouseQueryBuilder } from './clickhouse-query.ts';

/** Datasource uids provisioned by deploy/grafana/provisioning/datasources/. */
export const CLICKHOUSE_UID = 'tollgate-clickhouse';
export const PROMETHEUS_UID = 'tollgate-prometheus';
export const CLICKHOUSE: common.DataSourceRef = { type: 'grafana-clickhouse-datasource', uid: CLICKHOUSE_UID };
export const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: PROMETHEUS_UID };
/** Dashboard folder and uid prefix. */
export const FOLDER_UID = 'tollgate';

/** The API routes the data links open (services/api, issue "Billing and operations API"). */
export const API_ROUTES = {
  call: '/v1/calls/{callId}',
  ladder: '/v1/calls/{callId}/ladder.svg',
} as const;

// ---- variables -------------------------------------------------------------------------------------------------

/** Selectable values are restricted to this alphabet so a value can never break out of its SQL string literal. */
const SAFE_VALUE = "match({col}, '^[A-Za-z0-9._:@+-]+$')";
const safe = (col: string) => SAFE_VALUE.replace('{col}', col);

function listVariable(name: string, label: string, sql: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(CLICKHOUSE)
    .query(sql)
    .definition(sql)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allowCustomValue(false)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export const tenantVariable = () => listVariable('tenant', 'Tenant',
  `SELECT DISTINCT tenant FROM sip_messages_minute WHERE $__timeFilter(minute) AND ${safe('tenant')} ORDER BY tenant`);

export const nodeVariable = () => listVariable('node', 'Node',
  `SELECT DISTINCT node FROM sip_messages WHERE $__timeFilter(ts) AND ${TENANT} AND node != '' AND ${safe('node')} ORDER BY node`);

export const domainVariable = () => listVariable('domain', 'Domain',
  `SELECT DISTINCT domain FROM calls WHERE $__timeFilter(setup_ts) AND ${TENANT} AND domain != '' AND ${safe('domain')} ORDER BY domain`);

/** Bucket width in seconds; `auto` passes the plugin's `$__interval_s` through, which its backend then expands. */
export const INTERVAL_OPTIONS: ReadonlyArray<{ text: string; value: string }> = [
  { text: 'auto', value: '$__interval_s' },
  { text: '1m', value: '60' },
  { text: '5m', value: '300' },
  { text: '15m', value: '900' },
  { text: '1h', value: '3600' },
  { text: '1d', value: '86400' },
];

export const intervalVariable = () => {
  const values = INTERVAL_OPTIONS.map((o) => `${o.text} : ${o.value}`).join(',');
  // values() is what Grafana rebuilds the options from after provisioning (#813); options() alone is lost.
  return new dashboard.CustomVariableBuilder('interval')
    .label('Interval')
    .values(values)
    // Inserted into SQL as is: only the listed values may be chosen.
    .allowCustomValue(false)
    .current({ selected: true, text: 'auto', value: '$__interval_s' })
    .options(INTERVAL_OPTIONS.map((o, i) => ({ selected: i === 0, text: o.text, value: o.value })));
};

/** Base URL of the tollgate API, for the data links; editable on the dashboard. */
export const apiUrlVariable = () => new dashboard.TextBoxVariableBuilder('api_url')
  .label('API URL')
  .defaultValue('http://localhost:8080')
  .current({ selected: true, text: 'http://localhost:8080', value: 'http://localhost:8080' })
  .description('Base URL of the tollgate API that serves the call pages and ladder diagrams');

export const textFilterVariable = (name: string, label: string, description: string) => new dashboard.TextBoxVariableBuilder(name)
  .label(label)
  .defaultValue('')
  .current({ selected: true, text: '', value: '' })
  .description(description);

// ---- SQL filters ------------------------------------------------------------------------------------------------

/** `${var:sqlstring}` quotes every value (single, multi, All's option list) and doubles embedded quotes. */
export const TENANT = '$__conditionalAll(tenant IN (${tenant:sqlstring}), $tenant)';
export const NODE = '$__conditionalAll(node IN (${node:sqlstring}), $node)';
/** A call carries every node that captured it. */
export const CALL_NODE = '$__conditionalAll(hasAny(nodes, [${node:sqlstring}]), $node)';
export const DOMAIN = '$__conditionalAll(domain IN (${domain:sqlstring}), $domain)';
/** A free-text box as a string expression: percent-encoded by Grafana, decoded by ClickHouse, so never SQL. */
export const textBox = (name: string) => `decodeURLComponent('\${${name}:percentencode}')`;
/** Bucket start for a column, `$interval` seconds wide. */
export const bucket = (col: string) => `toStartOfInterval(toDateTime(${col}), INTERVAL $interval second)`;

// ---- links --------------------------------------------------------------------------------------------------------

export interface FieldLink {
  readonly title: string;
  readonly url: string;
  readonly targetBlank: boolean;
}

const callIdPath = '${__data.fields.call_id:percentencode}';
export const ladderLink = (): FieldLink => ({
  title: 'SIP ladder',
  url: `\${api_url}${API_ROUTES.ladder.replace('{callId}', callIdPath)}?format=html`,
  targetBlank: true,
});
export const callLink = (): FieldLink => ({
  title: 'Call details (API)',
  url: `\${api_url}${API_ROUTES.call.replace('{callId}', callIdPath)}`,
  targetBlank: true,
});

// ---- annotations --------------------------------------------------------------------------------------------------

/** Critical guard alerts marked on every time series, so a KPI drop can be read against an attack or fraud. */
export const guardAlertAnnotation = () => new dashboard.AnnotationQueryBuilder()
  .name('Critical guard alerts')
  .datasource(CLICKHOUSE)
  .enable(true)
  .iconColor('red')
  .target(new ClickHouseQueryBuilder(`SELECT first_seen AS time, last_seen AS timeEnd,
  concat(detector, ' ', rule, ': ', subject_kind, ' ', subject, ' (', state, ')') AS text, [detector, severity, tenant] AS tags
FROM alerts FINAL
WHERE $__timeFilter(first_seen) AND severity = 'critical' AND ${TENANT}
ORDER BY first_seen, id`).refId('Anno').datasource(CLICKHOUSE_UID).table());

// ---- panels -------------------------------------------------------------------------------------------------------

export const sqlTable = (sql: string, refId = 'A') => new ClickHouseQueryBuilder(sql).refId(refId).datasource(CLICKHOUSE_UID).table();
export const sqlSeries = (sql: string, refId = 'A') => new ClickHouseQueryBuilder(sql).refId(refId).datasource(CLICKHOUSE_UID).timeSeries();

interface Size {
  readonly w: number;
  readonly h: number;
}

export function statPanel(title: string, description: string, query: Builder<Dataquery>, unit: string, size: Size = { w: 4, h: 4 }, ds = CLICKHOUSE) {
  return new stat.PanelBuilder()
    .title(title).description(description).datasource(ds).withTarget(query).unit(unit)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(common.BigValueColorMode.Value).graphMode(common.BigValueGraphMode.None)
    .span(size.w).height(size.h);
}

export function seriesPanel(title: string, description: string, queries: Builder<Dataquery>[], unit: string, size: Size = { w: 12, h: 8 }, ds = CLICKHOUSE) {
  const p = new timeseries.PanelBuilder()
    .title(title).description(description).datasource(ds).unit(unit)
    .fillOpacity(10).lineWidth(1).spanNulls(false)
    .span(size.w).height(size.h);
  for (const q of queries) p.withTarget(q);
  return p;
}

export function stackedBars(title: string, description: string, query: Builder<Dataquery>, unit: string, size: Size = { w: 12, h: 8 }) {
  return seriesPanel(title, description, [query], unit, size)
    .drawStyle(common.GraphDrawStyle.Bars).fillOpacity(80)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
}

export function tablePanel(title: string, description: string, query: Builder<Dataquery>, size: Size = { w: 12, h: 9 }, links: { field: string; links: FieldLink[] }[] = []) {
  const p = new table.PanelBuilder()
    .title(title).description(description).datasource(CLICKHOUSE).withTarget(query)
    .span(size.w).height(size.h);
  for (const l of links) p.overrideByName(l.field, [{ id: 'links', value: l.links }]);
  return p;
}

export function barsPanel(title: string, description: string, query: Builder<Dataquery>, unit: string, size: Size = { w: 8, h: 8 }) {
  return new bargauge.PanelBuilder()
    .title(title).description(description).datasource(CLICKHOUSE).withTarget(query).unit(unit)
    .orientation(common.VizOrientation.Horizontal)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(true))
    .span(size.w).height(size.h);
}

// ---- dashboards ---------------------------------------------------------------------------------------------------

export function baseDashboard(uid: string, title: string, description: string, tags: string[]) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['tollgate', ...tags])
    .timezone('utc')
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .readonly()
    .link(new dashboard.DashboardLinkBuilder('tollgate')
      .type(dashboard.DashboardLinkType.Dashboards).tags(['tollgate']).asDropdown(true).includeVars(true).keepTime(true));
}

/**
 * The built dashboard with panel ids numbered in layout order (the SDK leaves ids unset; Grafana would assign them
 * at load, differently on every import), ready for JSON.
 */
export function finish(d: dashboard.DashboardBuilder): dashboard.Dashboard {
  const built = d.build();
  let id = 1;
  for (const p of built.panels ?? []) {
    (p as { id?: number }).id = id++;
    for (const inner of (p as dashboard.RowPanel).panels ?? []) (inner as { id?: number }).id = id++;
  }
  return built;
}
