/**
 * The provisioned datasources and one query builder per datasource type.
 *
 * Prometheus uses the SDK's own builder. The SDK has no Graphite, InfluxDB or Infinity
 * query types, so those are small cog.Dataquery variants here, shaped like the JSON
 * each datasource's query editor saves (what Grafana sends to the datasource).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';

/** The provisioned datasources (grafana/provisioning/datasources/datasources.yml), by fixed uid. */
export const DS = {
  prometheus: { type: 'prometheus', uid: 'prometheus' },
  graphite: { type: 'graphite', uid: 'graphite' },
  influxdb: { type: 'influxdb', uid: 'influxdb' },
  backendApi: { type: 'yesoreyeram-infinity-datasource', uid: 'backend-api' },
  grafana: { type: 'grafana', uid: '-- Grafana --' },
} as const satisfies Record<string, Required<DataSourceRef>>;

/** A query builder the panel helpers can number (refId A, B, ...) and ask for its datasource. */
export interface QueryBuilder extends cog.Builder<cog.Dataquery> {
  readonly datasourceRef: Required<DataSourceRef>;
  refId(refId: string): this;
}

/** The fields every custom query shares; the concrete shapes add their own. */
interface CustomQuery extends cog.Dataquery {
  datasource: DataSourceRef;
  refId?: string;
}

/** Builds a fixed query object; refId is set last, by the panel. */
class CustomQueryBuilder<Q extends object> implements QueryBuilder {
  private readonly internal: CustomQuery;

  constructor(
    readonly datasourceRef: Required<DataSourceRef>,
    fields: Q,
  ) {
    this.internal = { datasource: datasourceRef, ...fields, _implementsDataqueryVariant() {} };
  }

  build(): cog.Dataquery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }
}

class PrometheusQuery extends prometheus.DataqueryBuilder implements QueryBuilder {
  readonly datasourceRef = DS.prometheus;
}

/** A PromQL query. `instant` for tables and "current value" panels, else a range query. */
export function prom(expr: string, legendFormat = '', opts: { instant?: boolean; format?: prometheus.PromQueryFormat } = {}): QueryBuilder {
  const q = new PrometheusQuery().datasource(DS.prometheus).editorMode(prometheus.QueryEditorMode.Code).expr(expr).legendFormat(legendFormat);
  if (opts.instant) q.instant();
  else q.range();
  return q.format(opts.format ?? prometheus.PromQueryFormat.TimeSeries);
}

/** A graphite-web target in text mode (the query editor shows it verbatim). */
export function graphite(target: string): QueryBuilder {
  return new CustomQueryBuilder(DS.graphite, { target, textEditor: true });
}

/** A raw InfluxQL query; `alias` names series (`$tag_ticker`). */
export function influx(query: string, alias = '$tag_ticker', resultFormat: 'time_series' | 'table' = 'time_series'): QueryBuilder {
  return new CustomQueryBuilder(DS.influxdb, { query, rawQuery: true, resultFormat, alias });
}

interface InfinityColumn {
  /** Field of each row (a row is one element of the root selector's array). */
  selector: string;
  /** Column title. */
  text: string;
  type: 'string' | 'number' | 'boolean' | 'timestamp';
}

/**
 * An Infinity JSON query: GET the backend (the datasource's URL + `url`), take the
 * array at `rootSelector`, one column per field. The backend parser (JSONata) runs in
 * Grafana's server, so the panel also works for alerting and shared dashboards.
 */
export function infinityJson(url: string, rootSelector: string, columns: InfinityColumn[]): QueryBuilder {
  return new CustomQueryBuilder(DS.backendApi, {
    type: 'json',
    source: 'url',
    format: 'table',
    parser: 'backend',
    url,
    url_options: { method: 'GET', data: '' },
    root_selector: rootSelector,
    columns,
    filters: [],
  });
}
