/**
 * The panel shapes the four dashboards share, and their layout, on top of the
 * Grafana Foundation SDK's builders (@grafana/grafana-foundation-sdk).
 *
 * Why generate: four dashboards share dozens of panels of the same few shapes; writing
 * them once as functions keeps ids unique, the grid tidy and every panel's datasource a
 * `{type, uid}` reference. The JSON in grafana/dashboards/ is the artifact Grafana
 * provisions; test/unit/grafana-provisioning.test.ts fails when it drifts from this
 * generator or from Grafana's dashboard schema (grafana/schema/).
 */
import * as barchartPanel from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as candlestickPanel from '@grafana/grafana-foundation-sdk/candlestick';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmapPanel from '@grafana/grafana-foundation-sdk/heatmap';
import * as statPanel from '@grafana/grafana-foundation-sdk/stat';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import * as timeseriesPanel from '@grafana/grafana-foundation-sdk/timeseries';
import * as xychartPanel from '@grafana/grafana-foundation-sdk/xychart';
import { DS, type QueryBuilder } from './queries';

export type Threshold = dashboard.Threshold;

const greenOnly: Threshold[] = [{ color: 'green', value: null }];

/** 1 → okText (green), 0 → badText (red): for up, moex_up, moex_trading. */
/** Values shown as words in colours (value, text, colour); `index` is the order they are given in. */
export function textMapping(entries: ReadonlyArray<[value: string, text: string, color: string]>): dashboard.ValueMapping[] {
  return [
    { type: dashboard.MappingType.ValueToText, options: Object.fromEntries(entries.map(([value, text, color], index) => [value, { text, color, index }])) },
  ];
}

export function binaryMapping(okText: string, badText: string): dashboard.ValueMapping[] {
  return textMapping([
    ['1', okText, 'green'],
    ['0', badText, 'red'],
  ]);
}

interface FieldOptions {
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  thresholds?: Threshold[];
  mappings?: dashboard.ValueMapping[];
}

interface QueryPanelSpec extends FieldOptions {
  title: string;
  description?: string;
  targets: QueryBuilder[];
  transformations?: dashboard.DataTransformerConfig[];
}

/** What every SDK panel builder offers for the settings shared here. */
interface SdkPanel<T> {
  title(title: string): T;
  description(description: string): T;
  datasource(datasource: common.DataSourceRef): T;
  targets(targets: QueryBuilder[]): T;
  transformations(transformations: dashboard.DataTransformerConfig[]): T;
  unit(unit: string): T;
  decimals(decimals: number): T;
  min(min: number): T;
  max(max: number): T;
  mappings(mappings: dashboard.ValueMapping[]): T;
  thresholds(thresholds: dashboard.ThresholdsConfigBuilder): T;
  colorScheme(color: dashboard.FieldColorBuilder): T;
}

/** Every target of a panel uses one datasource; the panel names it too. */
function panelDatasource(targets: QueryBuilder[]): common.DataSourceRef {
  const first = targets[0];
  if (!first) throw new Error('a query panel needs at least one target');
  if (targets.some((t) => t.datasourceRef.uid !== first.datasourceRef.uid)) throw new Error('mixed datasources in one panel');
  return first.datasourceRef;
}

/** Title, queries (numbered A, B, ...) and the field options common to all query panels. */
function queryPanel<T extends SdkPanel<T>>(builder: T, spec: QueryPanelSpec): T {
  builder
    .title(spec.title)
    .description(spec.description ?? '')
    .datasource(panelDatasource(spec.targets))
    .targets(spec.targets.map((t, i) => t.refId(String.fromCharCode(65 + i))))
    .unit(spec.unit ?? 'short')
    .colorScheme(
      new dashboard.FieldColorBuilder().mode(
        spec.thresholds || spec.mappings ? dashboard.FieldColorModeId.Thresholds : dashboard.FieldColorModeId.PaletteClassic,
      ),
    )
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(spec.thresholds ?? greenOnly))
    .mappings(spec.mappings ?? []);
  if (spec.decimals !== undefined) builder.decimals(spec.decimals);
  if (spec.min !== undefined) builder.min(spec.min);
  if (spec.max !== undefined) builder.max(spec.max);
  if (spec.transformations) builder.transformations(spec.transformations);
  return builder;
}

export function timeseries(spec: QueryPanelSpec & { stack?: boolean; bars?: boolean }): timeseriesPanel.PanelBuilder {
  const panel = queryPanel(new timeseriesPanel.PanelBuilder(), spec)
    .drawStyle(spec.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .lineWidth(1)
    .fillOpacity(spec.bars ? 80 : 10)
    .gradientMode(common.GraphGradientMode.None)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(true)
    .stacking(new common.StackingConfigBuilder().mode(spec.stack ? common.StackingMode.Normal : common.StackingMode.None).group('A'))
    .axisPlacement(common.AxisPlacement.Auto)
    .scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Linear))
    .legend(
      new common.VizLegendOptionsBuilder()
        .calcs(['lastNotNull'])
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  // A soft minimum keeps 0 in view without hiding negative values.
  if (spec.min !== undefined) panel.axisSoftMin(spec.min);
  return panel;
}

/** A big number per series; `fields: '/^Time$/'` shows the time of the last point instead. */
export function stat(spec: QueryPanelSpec & { sparkline?: boolean; fields?: string; colorMode?: common.BigValueColorMode }): statPanel.PanelBuilder {
  return queryPanel(new statPanel.PanelBuilder(), spec)
    .reduceOptions(
      new common.ReduceDataOptionsBuilder()
        .calcs(['lastNotNull'])
        .fields(spec.fields ?? '')
        .values(false),
    )
    .colorMode(spec.colorMode ?? common.BigValueColorMode.Value)
    .graphMode(spec.sparkline ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
    .justifyMode(common.BigValueJustifyMode.Auto)
    .orientation(common.VizOrientation.Auto)
    .textMode(common.BigValueTextMode.Auto)
    .wideLayout(true)
    .showPercentChange(false);
}

export function table(spec: QueryPanelSpec & { overrides?: Array<{ name: string; properties: dashboard.DynamicConfigValue[] }> }): tablePanel.PanelBuilder {
  const panel = queryPanel(new tablePanel.PanelBuilder(), spec)
    .align(common.FieldTextAlignment.Auto)
    .inspect(false)
    .showHeader(true)
    .cellHeight(common.TableCellHeight.Sm);
  for (const o of spec.overrides ?? []) panel.overrideByName(o.name, o.properties);
  return panel;
}

/** A heatmap of pre-bucketed histogram data (Prometheus `format: heatmap`). */
export function heatmap(spec: QueryPanelSpec & { yUnit?: string }): heatmapPanel.PanelBuilder {
  return queryPanel(new heatmapPanel.PanelBuilder(), spec)
    .calculate(false)
    .cellGap(1)
    .color(
      new heatmapPanel.HeatmapColorOptionsBuilder()
        .mode(heatmapPanel.HeatmapColorMode.Scheme)
        .scheme('Oranges')
        .fill('dark-orange')
        .scale(heatmapPanel.HeatmapColorScale.Exponential)
        .exponent(0.5)
        .steps(64)
        .reverse(false),
    )
    .filterValues(new heatmapPanel.FilterValueRangeBuilder().le(1e-9))
    .rowsFrame(new heatmapPanel.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Auto))
    .showLegend()
    .tooltip(new heatmapPanel.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(true).showColorScale(false))
    .yAxis(
      new heatmapPanel.YAxisConfigBuilder()
        .axisPlacement(common.AxisPlacement.Left)
        .reverse(false)
        .unit(spec.yUnit ?? 'short'),
    )
    .showValue(common.VisibilityMode.Never);
}

/**
 * Points of one table-shaped frame: in Grafana's "auto" series mapping the frame's first number field is
 * x and every other number field a y series, so the transformations decide what is plotted against what.
 */
export function xychart(spec: QueryPanelSpec & { xLabel: string; yLabel: string; xDecimals?: number }): xychartPanel.PanelBuilder {
  return queryPanel(new xychartPanel.PanelBuilder(), spec)
    .mapping(xychartPanel.SeriesMapping.Auto)
    .series([])
    .show(xychartPanel.XYShowMode.PointsAndLines)
    .pointSize({ fixed: 7 })
    .lineWidth(1)
    .axisLabel(spec.yLabel)
    .axisPlacement(common.AxisPlacement.Auto)
    .scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Linear))
    .legend(new common.VizLegendOptionsBuilder().calcs([]).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Single).sort(common.SortOrder.None))
    .overrideByName(spec.xLabel, [
      { id: 'custom.axisLabel', value: spec.xLabel },
      { id: 'decimals', value: spec.xDecimals ?? 0 },
    ]);
}

/**
 * Bars per category of one table-shaped frame: `xField` names the category field (text), every
 * number field is a bar of each category, grouped side by side.
 */
export function barchart(spec: QueryPanelSpec & { xField: string }): barchartPanel.PanelBuilder {
  return queryPanel(new barchartPanel.PanelBuilder(), spec)
    .xField(spec.xField)
    .orientation(common.VizOrientation.Vertical)
    .xTickLabelRotation(-45)
    .xTickLabelMaxLength(10)
    .stacking(common.StackingMode.None)
    .showValue(common.VisibilityMode.Never)
    .barWidth(0.9)
    .groupWidth(0.8)
    .fullHighlight(false)
    .lineWidth(1)
    .fillOpacity(80)
    .gradientMode(common.GraphGradientMode.None)
    .axisPlacement(common.AxisPlacement.Auto)
    .scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Linear))
    .legend(new common.VizLegendOptionsBuilder().calcs([]).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None));
}

/**
 * Candles (open/high/low/close, volume below) from one table-shaped frame whose fields are named
 * open, high, low, close, volume. Candles of several securities in one panel would be one muddle,
 * so the panel is repeated per selected value of `repeat` (Grafana draws one copy per ticker, each
 * with that single value); `minInterval` keeps $__interval from cutting a candle into pieces.
 */
export function candlestick(spec: QueryPanelSpec & { repeat: string; minInterval: string }): candlestickPanel.PanelBuilder {
  return queryPanel(new candlestickPanel.PanelBuilder(), spec)
    .repeat(spec.repeat)
    .repeatDirection('h')
    .maxPerRow(2)
    .interval(spec.minInterval)
    .mode(candlestickPanel.VizDisplayMode.CandlesVolume)
    .candleStyle(candlestickPanel.CandleStyle.Candles)
    .colorStrategy(candlestickPanel.ColorStrategy.OpenClose)
    .fields(new candlestickPanel.CandlestickFieldMapBuilder().open('open').high('high').low('low').close('close').volume('volume'))
    .colors(new candlestickPanel.CandlestickColorsBuilder().up('green').down('red').flat('gray'))
    .includeAllFields(false)
    .axisPlacement(common.AxisPlacement.Auto)
    .scaleDistribution(new common.ScaleDistributionConfigBuilder().type(common.ScaleDistribution.Linear))
    .legend(new common.VizLegendOptionsBuilder().calcs([]).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None));
}

/** The clock of the grafana-clock-panel plugin (the original example had one); the SDK has no type for it. */
export function clock(title: string): dashboard.PanelBuilder {
  return new dashboard.PanelBuilder()
    .type('grafana-clock-panel')
    .title(title)
    .options({
      mode: 'time',
      clockType: '24 hour',
      timezone: 'Europe/Moscow',
      timezoneSettings: { showTimezone: true, zoneFormat: 'nameOffset', fontSize: '12px', fontWeight: 'normal' },
      dateSettings: { showDate: true, dateFormat: 'YYYY-MM-DD', locale: '', fontSize: '16px', fontWeight: 'normal' },
      timeSettings: { fontSize: '36px', fontWeight: 'normal' },
      refresh: 'sec',
      fontMono: false,
      bgColor: '',
    });
}

// ---- variables and dashboards ----

/**
 * A multi-value query variable with "All"; `query` is the datasource's own variable query shape,
 * `regex` keeps only the values it matches, `current` is the value selected on opening (else All).
 * `single`: one value at a time, no "All" (a chart of one underlying's strikes); without `current`
 * Grafana opens it on the first value of the sorted list.
 */
export function queryVariable(
  name: string,
  label: string,
  datasource: common.DataSourceRef,
  query: string | Record<string, unknown>,
  definition: string,
  opts: { allValue?: string; regex?: string; current?: string; single?: boolean } = {},
): dashboard.QueryVariableBuilder {
  const variable = new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(datasource)
    .query(query)
    .definition(definition)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged) // new tickers show up without a reload
    .multi(!opts.single)
    .includeAll(!opts.single);
  if (opts.current)
    variable.current(
      opts.single ? { selected: true, text: opts.current, value: opts.current } : { selected: true, text: [opts.current], value: [opts.current] },
    );
  else if (!opts.single) variable.current({ selected: true, text: ['All'], value: ['$__all'] });
  variable
    .options([])
    .regex(opts.regex ?? '')
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .hide(dashboard.VariableHide.DontHide);
  if (opts.allValue !== undefined) variable.allValue(opts.allValue);
  return variable;
}

/** Any SDK panel builder: the layout numbers and sizes it. */
export interface Placeable extends cog.Builder<dashboard.Panel> {
  id(id: number): unknown;
  span(w: number): unknown;
  height(h: number): unknown;
}

/** A row title followed by its panels, each `[panel, width, height]` on the 24-column grid. */
export interface Section {
  row: string;
  panels: Array<[Placeable, number, number]>;
}

export interface DashboardMeta {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables?: dashboard.QueryVariableBuilder[];
  refresh?: string;
  time?: string;
}

/**
 * The dashboard: the SDK lays panels out left to right and wraps at 24 columns; here
 * each line must fill the 24 columns exactly, so no panel is pushed past the edge.
 * Rows and panels are numbered 1, 2, ... in reading order.
 */
export function buildDashboard(meta: DashboardMeta, sections: Section[]): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder(meta.title)
    .uid(meta.uid)
    .description(meta.description)
    .tags(meta.tags)
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh(meta.refresh ?? '30s')
    .time({ from: meta.time ?? 'now-1h', to: 'now' })
    .timezone('browser')
    .fiscalYearStartMonth(0)
    .weekStart('')
    .version(1)
    .id(null)
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .builtIn(1)
        .datasource(DS.grafana)
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .name('Annotations & Alerts')
        .type('dashboard'),
    )
    .link(
      new dashboard.DashboardLinkBuilder('MOEX dashboards')
        .type(dashboard.DashboardLinkType.Dashboards)
        .icon('external link')
        .tooltip('')
        .tags(['moex'])
        .asDropdown(true)
        .includeVars(false)
        .keepTime(true)
        .targetBlank(false),
    )
    .variables(meta.variables ?? []);
  let id = 0;
  for (const section of sections) {
    builder.withRow(new dashboard.RowBuilder(section.row).id(++id));
    let x = 0;
    for (const [panel, w, h] of section.panels) {
      x += w;
      if (x > 24) throw new Error(`${meta.uid}, row "${section.row}": a line is wider than 24 columns`);
      if (x === 24) x = 0;
      panel.id(++id);
      panel.span(w);
      panel.height(h);
      builder.withPanel(panel);
    }
    if (x !== 0) throw new Error(`${meta.uid}, row "${section.row}": the last line does not fill 24 columns`);
  }
  return builder.build();
}
