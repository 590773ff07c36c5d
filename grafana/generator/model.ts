/**
 * A small builder for Grafana dashboard JSON (schemaVersion 39; Grafana 11 and 12 migrate it on load).
 *
 * Why generate: four dashboards share dozens of panels of the same few shapes;
 * writing them once as functions keeps ids unique, grid positions tidy and every
 * panel's datasource a `{type, uid}` reference. The JSON in grafana/dashboards/ is
 * the artifact Grafana provisions; test/unit/grafana-provisioning.test.ts fails
 * when it drifts from this generator (run `node --import tsx grafana/generator/main.ts`).
 */

export interface DatasourceRef {
  type: string;
  uid: string;
}

/** The provisioned datasources (grafana/provisioning/datasources/datasources.yml), by fixed uid. */
export const DS = {
  prometheus: { type: 'prometheus', uid: 'prometheus' },
  graphite: { type: 'graphite', uid: 'graphite' },
  influxdb: { type: 'influxdb', uid: 'influxdb' },
  backendApi: { type: 'marcusolsson-json-datasource', uid: 'backend-api' },
  grafana: { type: 'grafana', uid: '-- Grafana --' },
} as const satisfies Record<string, DatasourceRef>;

type TargetSpec = { datasource: DatasourceRef } & Record<string, unknown>;
export type Target = TargetSpec & { refId: string };
export type Panel = Record<string, unknown> & { type: string; title: string };

// ---- targets, one builder per datasource type ----

/** A PromQL target. `instant` for tables and "current value" panels, else a range query. */
export function prom(expr: string, legendFormat = '', opts: { instant?: boolean; format?: 'time_series' | 'table' | 'heatmap' } = {}): TargetSpec {
  const instant = opts.instant ?? false;
  return {
    datasource: DS.prometheus,
    editorMode: 'code',
    expr,
    legendFormat,
    range: !instant,
    instant,
    format: opts.format ?? 'time_series',
  };
}

/** A graphite-web target in text mode (the query editor shows it verbatim). */
export function graphite(target: string): TargetSpec {
  return { datasource: DS.graphite, target, textEditor: true };
}

/** A raw InfluxQL target; `alias` names series (`$tag_ticker`). */
export function influx(query: string, alias = '$tag_ticker', resultFormat: 'time_series' | 'table' = 'time_series'): TargetSpec {
  return { datasource: DS.influxdb, query, rawQuery: true, resultFormat, alias };
}

export interface JsonField {
  name: string;
  jsonPath: string;
  type?: 'string' | 'number' | 'boolean' | 'time';
}

/** A marcusolsson-json-datasource target: GET urlPath, one column per JSONPath. */
export function jsonApi(urlPath: string, fields: JsonField[]): TargetSpec {
  return { datasource: DS.backendApi, method: 'GET', urlPath, queryParams: '', fields, cacheDurationSeconds: 0 };
}

// ---- field config pieces ----

export interface Threshold {
  color: string;
  value: number | null;
}

export const greenOnly: Threshold[] = [{ color: 'green', value: null }];

/** 1 → okText (green), 0 → badText (red): for up, moex_up, moex_trading. */
export function binaryMapping(okText: string, badText: string) {
  return [
    {
      type: 'value',
      options: {
        '0': { text: badText, color: 'red', index: 1 },
        '1': { text: okText, color: 'green', index: 0 },
      },
    },
  ];
}

interface FieldOptions {
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: Threshold[];
  mappings?: unknown[];
}

function fieldDefaults(o: FieldOptions, custom?: Record<string, unknown>) {
  return {
    ...(custom ? { custom } : {}),
    color: { mode: o.thresholds || o.mappings ? 'thresholds' : 'palette-classic' },
    unit: o.unit ?? 'short',
    ...(o.decimals !== undefined ? { decimals: o.decimals } : {}),
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
    mappings: o.mappings ?? [],
    thresholds: { mode: 'absolute', steps: o.thresholds ?? greenOnly },
  };
}

function withRefIds(targets: TargetSpec[]): Target[] {
  return targets.map((t, i) => ({ ...t, refId: String.fromCharCode(65 + i) }) as Target);
}

/** Every target of a panel uses one datasource; the panel names it too. */
function panelDatasource(targets: TargetSpec[]): DatasourceRef {
  const first = targets[0];
  if (!first) throw new Error('a query panel needs at least one target');
  for (const t of targets) {
    if (t.datasource.uid !== first.datasource.uid) throw new Error('mixed datasources in one panel');
  }
  return first.datasource;
}

interface QueryPanelSpec extends FieldOptions {
  title: string;
  description?: string;
  targets: TargetSpec[];
  transformations?: unknown[];
}

// ---- panels ----

export function timeseries(spec: QueryPanelSpec & { stack?: boolean; bars?: boolean }): Panel {
  return {
    type: 'timeseries',
    title: spec.title,
    description: spec.description ?? '',
    datasource: panelDatasource(spec.targets),
    fieldConfig: {
      defaults: fieldDefaults(spec, {
        drawStyle: spec.bars ? 'bars' : 'line',
        lineWidth: 1,
        fillOpacity: spec.bars ? 80 : 10,
        gradientMode: 'none',
        showPoints: 'never',
        spanNulls: true,
        stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' },
        axisPlacement: 'auto',
        axisSoftMin: spec.min,
        scaleDistribution: { type: 'linear' },
      }),
      overrides: [],
    },
    options: {
      legend: { calcs: ['lastNotNull'], displayMode: 'table', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: withRefIds(spec.targets),
    ...(spec.transformations ? { transformations: spec.transformations } : {}),
  };
}

/** A big number per series; `fields: '/^Time$/'` shows the time of the last point instead. */
export function stat(spec: QueryPanelSpec & { sparkline?: boolean; fields?: string; colorMode?: 'value' | 'background' }): Panel {
  return {
    type: 'stat',
    title: spec.title,
    description: spec.description ?? '',
    datasource: panelDatasource(spec.targets),
    fieldConfig: { defaults: fieldDefaults(spec), overrides: [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: spec.fields ?? '', values: false },
      colorMode: spec.colorMode ?? 'value',
      graphMode: spec.sparkline ? 'area' : 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
      wideLayout: true,
      showPercentChange: false,
    },
    targets: withRefIds(spec.targets),
  };
}

export function table(spec: QueryPanelSpec & { overrides?: unknown[] }): Panel {
  return {
    type: 'table',
    title: spec.title,
    description: spec.description ?? '',
    datasource: panelDatasource(spec.targets),
    fieldConfig: {
      defaults: fieldDefaults(spec, { align: 'auto', cellOptions: { type: 'auto' }, inspect: false }),
      overrides: spec.overrides ?? [],
    },
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false, fields: '' } },
    targets: withRefIds(spec.targets),
    ...(spec.transformations ? { transformations: spec.transformations } : {}),
  };
}

/** A heatmap of pre-bucketed histogram data (Prometheus `format: heatmap`). */
export function heatmap(spec: QueryPanelSpec & { yUnit?: string }): Panel {
  return {
    type: 'heatmap',
    title: spec.title,
    description: spec.description ?? '',
    datasource: panelDatasource(spec.targets),
    fieldConfig: { defaults: { custom: { hideFrom: { legend: false, tooltip: false, viz: false }, scaleDistribution: { type: 'linear' } } }, overrides: [] },
    options: {
      calculate: false,
      cellGap: 1,
      color: { mode: 'scheme', scheme: 'Oranges', fill: 'dark-orange', scale: 'exponential', exponent: 0.5, steps: 64, reverse: false },
      exemplars: { color: 'rgba(255,0,255,0.7)' },
      filterValues: { le: 1e-9 },
      legend: { show: true },
      rowsFrame: { layout: 'auto' },
      tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
      yAxis: { axisPlacement: 'left', reverse: false, unit: spec.yUnit ?? 'short' },
      showValue: 'never',
    },
    targets: withRefIds(spec.targets),
  };
}

/** The analog/digital clock of the grafana-clock-panel plugin (the original example had one). */
export function clock(title: string): Panel {
  return {
    type: 'grafana-clock-panel',
    title,
    options: {
      mode: 'time',
      clockType: '24 hour',
      timezone: 'Europe/Moscow',
      timezoneSettings: { showTimezone: true, zoneFormat: 'nameOffset', fontSize: '12px', fontWeight: 'normal' },
      dateSettings: { showDate: true, dateFormat: 'YYYY-MM-DD', locale: '', fontSize: '16px', fontWeight: 'normal' },
      timeSettings: { fontSize: '36px', fontWeight: 'normal' },
      refresh: 'sec',
      fontMono: false,
      bgColor: '',
    },
  };
}

// ---- dashboards ----

export interface Variable {
  name: string;
  [key: string]: unknown;
}

/** A multi-value query variable with "All"; `query` is the datasource's own variable query shape. */
export function queryVariable(name: string, label: string, datasource: DatasourceRef, query: unknown, definition: string, allValue: string | null = null): Variable {
  return {
    name,
    label,
    type: 'query',
    datasource,
    query,
    definition,
    refresh: 2, // on time range change: new tickers show up without a reload
    multi: true,
    includeAll: true,
    allValue,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    regex: '',
    sort: 1,
    hide: 0,
    skipUrlSync: false,
  };
}

interface Sized {
  panel: Panel;
  w: number;
  h: number;
}

/** Lays panels out left to right on Grafana's 24-column grid, rows wrap. */
export class DashboardBuilder {
  private readonly panels: Panel[] = [];
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  row(title: string): this {
    this.newLine();
    this.place({ panel: { type: 'row', title, collapsed: false, panels: [] }, w: 24, h: 1 });
    this.newLine();
    return this;
  }

  add(panel: Panel, w: number, h: number): this {
    if (this.x + w > 24) this.newLine();
    this.place({ panel, w, h });
    return this;
  }

  build(meta: { uid: string; title: string; description: string; tags: string[]; variables?: Variable[]; refresh?: string; time?: string }) {
    return {
      annotations: {
        list: [
          {
            builtIn: 1,
            datasource: DS.grafana,
            enable: true,
            hide: true,
            iconColor: 'rgba(0, 211, 255, 1)',
            name: 'Annotations & Alerts',
            type: 'dashboard',
          },
        ],
      },
      description: meta.description,
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      id: null,
      links: [{ asDropdown: true, icon: 'external link', includeVars: false, keepTime: true, tags: ['moex'], targetBlank: false, title: 'MOEX dashboards', type: 'dashboards' }],
      panels: this.panels,
      refresh: meta.refresh ?? '30s',
      schemaVersion: 39,
      tags: meta.tags,
      templating: { list: meta.variables ?? [] },
      time: { from: meta.time ?? 'now-1h', to: 'now' },
      timepicker: {},
      timezone: 'browser',
      title: meta.title,
      uid: meta.uid,
      version: 1,
      weekStart: '',
    };
  }

  private place({ panel, w, h }: Sized): void {
    this.panels.push({ ...panel, id: this.panels.length + 1, gridPos: { h, w, x: this.x, y: this.y } });
    this.x += w;
    this.lineHeight = Math.max(this.lineHeight, h);
  }

  private newLine(): void {
    if (this.x === 0) return;
    this.y += this.lineHeight;
    this.x = 0;
    this.lineHeight = 0;
  }
}
