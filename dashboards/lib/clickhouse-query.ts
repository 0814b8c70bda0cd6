/**
 * The ClickHouse datasource's query model (grafana-clickhouse-datasource v4, `src/types/sql.ts`) as a foundation-SDK
 * dataquery: the SDK ships builders for core datasources only, so this is the custom query type its README describes.
 * Only the SQL editor is modelled: every tollgate panel is raw SQL, which is what the tests expand and run.
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

export const CLICKHOUSE_PLUGIN_ID = 'grafana-clickhouse-datasource';

/** The plugin's `Format` enum: how the frame built from the result is shaped. */
export enum ClickHouseFormat {
  TimeSeries = 0,
  Table = 1,
  Logs = 2,
  Traces = 3,
}

export type ClickHouseQueryType = 'table' | 'logs' | 'timeseries' | 'traces';

export interface ClickHouseQuery {
  refId?: string;
  hide?: boolean;
  datasource?: DataSourceRef;
  editorType: 'sql' | 'builder';
  rawSql: string;
  format: ClickHouseFormat;
  queryType: ClickHouseQueryType;
  /** Marks the type as a dataquery variant for the SDK's builders. */
  _implementsDataqueryVariant(): void;
}

const QUERY_TYPE: Record<ClickHouseFormat, ClickHouseQueryType> = {
  [ClickHouseFormat.TimeSeries]: 'timeseries',
  [ClickHouseFormat.Table]: 'table',
  [ClickHouseFormat.Logs]: 'logs',
  [ClickHouseFormat.Traces]: 'traces',
};

export class ClickHouseQueryBuilder implements Builder<Dataquery> {
  readonly #q: ClickHouseQuery;

  constructor(rawSql: string) {
    this.#q = {
      editorType: 'sql',
      rawSql,
      format: ClickHouseFormat.Table,
      queryType: 'table',
      _implementsDataqueryVariant() {},
    };
  }

  build(): ClickHouseQuery {
    return this.#q;
  }

  refId(refId: string): this {
    this.#q.refId = refId;
    return this;
  }

  hide(hide: boolean): this {
    this.#q.hide = hide;
    return this;
  }

  datasource(uid: string): this {
    this.#q.datasource = { type: CLICKHOUSE_PLUGIN_ID, uid };
    return this;
  }

  /** Sets `format` and the matching `queryType`, as the plugin's SQL editor does when the format is picked. */
  format(format: ClickHouseFormat): this {
    this.#q.format = format;
    this.#q.queryType = QUERY_TYPE[format];
    return this;
  }

  timeSeries(): this {
    return this.format(ClickHouseFormat.TimeSeries);
  }

  table(): this {
    return this.format(ClickHouseFormat.Table);
  }
}

/** Narrows a panel target read back from dashboard JSON to the ClickHouse SQL model. */
export function isClickHouseTarget(t: unknown): t is Omit<ClickHouseQuery, '_implementsDataqueryVariant'> {
  const o = t as Partial<ClickHouseQuery> | null;
  return o !== null && typeof o === 'object' && o.datasource?.type === CLICKHOUSE_PLUGIN_ID && typeof o.rawSql === 'string';
}
