/**
 * Grafana's query interpolation, re-done in plain functions so a test can send
 * exactly what Grafana would send to each store: template variables with each
 * datasource's multi-value format, and the interval/range macros.
 *
 * Mirrors (Grafana 10/11): public/app/features/templating/template_srv.ts
 * (variable syntaxes, custom "All" values), the Prometheus and InfluxDB
 * datasources' interpolateQueryExpr (regex alternation `(A|B)`), Graphite's glob
 * format (`{A,B}`), rangeutil.calculateInterval / roundInterval, and
 * $__rate_interval = max($__interval + scrape interval, 4 × scrape interval).
 */

/** Grafana's variable reference syntaxes: $var, [[var:fmt]], ${var:fmt}. */
const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** What the user picked for one variable. */
export interface VariableSelection {
  /** The values that "All" stands for, or the picked values. */
  values: string[];
  /** multi or includeAll: Grafana formats as a regex alternation / glob even for one value. */
  multiValued: boolean;
  /** "All" is selected and the variable has a custom allValue: used verbatim (glob still applies). */
  customAll?: string;
}

export type DatasourceKind = 'prometheus' | 'influxdb' | 'graphite' | 'yesoreyeram-infinity-datasource';

export interface QueryContext {
  kind: DatasourceKind;
  fromMs: number;
  toMs: number;
  intervalMs: number;
  /** The datasource's scrape interval (Prometheus jsonData.timeInterval), seconds. */
  scrapeIntervalS: number;
  variables: Map<string, VariableSelection>;
}

// ---- escaping (same characters Grafana escapes) ----

const promRegularEscape = (v: string) => v.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
const promRegexEscape = (v: string) => v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
const influxRegexEscape = (v: string) => v.replace(/\\/g, '\\\\').replace(/[$^*{}[\]+?.()|/]/g, '\\$&');
const influxRegularEscape = (v: string) => v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");

/** The datasource's own formatting of a variable (what Grafana does without an explicit :format). */
function formatForDatasource(kind: DatasourceKind, sel: VariableSelection): string {
  const { values, multiValued } = sel;
  switch (kind) {
    case 'prometheus':
    case 'influxdb': {
      const regex = kind === 'prometheus' ? promRegexEscape : influxRegexEscape;
      const regular = kind === 'prometheus' ? promRegularEscape : influxRegularEscape;
      if (!multiValued) return regular(values[0] ?? '');
      const escaped = values.map(regex);
      return escaped.length === 1 ? (escaped[0] as string) : `(${escaped.join('|')})`;
    }
    case 'graphite':
    case 'yesoreyeram-infinity-datasource':
      // Grafana's default "glob" format.
      return values.length > 1 ? `{${values.join(',')}}` : (values[0] ?? '');
  }
}

function formatExplicit(format: string, sel: VariableSelection): string {
  const { values } = sel;
  switch (format) {
    case 'raw':
    case 'csv':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'glob':
      return values.length > 1 ? `{${values.join(',')}}` : (values[0] ?? '');
    case 'regex': {
      const escaped = values.map((v) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&'));
      return escaped.length === 1 ? (escaped[0] as string) : `(${escaped.join('|')})`;
    }
    default:
      throw new Error(`variable format :${format} is not emulated`);
  }
}

// ---- intervals ----

/** Grafana's kbn.roundInterval: snap a raw interval (ms) to a readable one. */
export function roundIntervalMs(ms: number): number {
  const steps: Array<[number, number]> = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12500, 10000],
    [17500, 15000],
    [25000, 20000],
    [45000, 30000],
    [90000, 60000],
    [210000, 120000],
    [450000, 300000],
    [1050000, 600000],
    [2100000, 1800000],
    [5400000, 3600000],
    [9000000, 7200000],
    [16200000, 10800000],
    [32400000, 21600000],
    [86400000, 43200000],
  ];
  for (const [below, rounded] of steps) if (ms < below) return rounded;
  return 86400000;
}

/** $__interval in ms: range / max data points, rounded, never below the datasource's minimum. */
export function calculateIntervalMs(rangeMs: number, maxDataPoints: number, minIntervalMs: number): number {
  return Math.max(roundIntervalMs(rangeMs / maxDataPoints), minIntervalMs);
}

/** $__rate_interval: long enough for rate() to see at least four scrapes. */
export function rateIntervalS(intervalMs: number, scrapeIntervalS: number): number {
  return Math.max(intervalMs / 1000 + scrapeIntervalS, 4 * scrapeIntervalS);
}

/** "15s", "1m", "2h": Grafana's duration strings (parseDuration inverse) for whole seconds. */
export function durationString(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** "15s" / "1m" / "500ms" → seconds. */
export function parseDurationS(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * factor;
}

/** The macros each datasource resolves itself, before template variables. */
function macros(ctx: QueryContext): Map<string, string> {
  const rangeMs = ctx.toMs - ctx.fromMs;
  const rangeS = Math.round(rangeMs / 1000);
  const m = new Map<string, string>([
    ['__interval', durationString(ctx.intervalMs / 1000)],
    ['__interval_ms', String(ctx.intervalMs)],
    ['__range', durationString(rangeS)],
    ['__range_s', String(rangeS)],
    ['__range_ms', String(rangeMs)],
    ['__from', String(ctx.fromMs)],
    ['__to', String(ctx.toMs)],
  ]);
  if (ctx.kind === 'prometheus') m.set('__rate_interval', durationString(rateIntervalS(ctx.intervalMs, ctx.scrapeIntervalS)));
  if (ctx.kind === 'influxdb') {
    const filter = `time >= ${ctx.fromMs}ms and time <= ${ctx.toMs}ms`;
    m.set('timeFilter', filter);
    m.set('__timeFilter', filter);
  }
  return m;
}

/**
 * Replace every variable and macro in a query as Grafana would for `ctx.kind`.
 * An unknown name throws: a dashboard that references an undefined variable is broken.
 */
export function interpolate(text: string, ctx: QueryContext): string {
  const known = macros(ctx);
  return text.replace(VARIABLE_REGEX, (match, plain?: string, bracket?: string, bracketFmt?: string, braced?: string, _field?: string, bracedFmt?: string) => {
    const name = (plain ?? bracket ?? braced) as string;
    const format = bracketFmt ?? bracedFmt;
    const macro = known.get(name);
    if (macro !== undefined) return macro;
    const sel = ctx.variables.get(name);
    if (!sel) throw new Error(`query uses ${match}, which is neither a dashboard variable nor a macro of ${ctx.kind}`);
    if (sel.customAll !== undefined && (format === undefined || format === 'glob')) return sel.customAll;
    return format ? formatExplicit(format, sel) : formatForDatasource(ctx.kind, sel);
  });
}

/** Names a text refers to as variables/macros (for static checks). */
export function referencedNames(text: string): string[] {
  return [...text.matchAll(VARIABLE_REGEX)].map((m) => (m[1] ?? m[2] ?? m[4]) as string);
}
