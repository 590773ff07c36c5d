/**
 * Runs a dashboard's queries against the stores' own HTTP APIs, the requests
 * Grafana's datasource proxies would make, and reduces each answer to "how many
 * non-null values came back". Used by test/integration/dashboards.test.ts.
 */
import type { GrafanaPanel, GrafanaTarget, GrafanaVariable } from './dashboards';
import { calculateIntervalMs, type DatasourceKind, interpolate, parseDurationS, type QueryContext, type VariableSelection } from './interpolate';

/** Where each provisioned datasource uid is reachable in the stack under test. */
export interface StoreEndpoints {
  prometheus: string;
  graphite: string;
  influxdb: string;
  influxDatabase: string;
  backend: string;
}

export interface QueryOutcome {
  /** What was sent, after interpolation (for failure messages). */
  request: string;
  /** Series / frames / columns returned. */
  series: number;
  /** Finite numbers, strings or booleans among the values (nulls and NaN excluded). */
  nonNull: number;
}

async function getJson(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`${res.status} from ${url}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as unknown;
}

const isValue = (v: unknown) => v !== null && v !== undefined && !(typeof v === 'number' && !Number.isFinite(v));
const isNumericValue = (v: unknown) => typeof v === 'string' && Number.isFinite(Number(v));

// ---- variables ----

/**
 * Values of a query variable, the way Grafana's variable query would list them (sorted a→z).
 * `selected`: the variables chosen before this one, which its query may use (a chained variable,
 * e.g. `label_values(moex_last_price{market=~"$market"},ticker)`).
 */
export async function variableValues(
  variable: GrafanaVariable,
  kind: DatasourceKind,
  stores: StoreEndpoints,
  fromMs: number,
  toMs: number,
  selected: Map<string, VariableSelection> = new Map(),
): Promise<string[]> {
  let values: string[];
  const query = variable.query;
  const expand = (text: string) => interpolate(text, { kind, fromMs, toMs, intervalMs: 0, scrapeIntervalS: 0, variables: selected });
  switch (kind) {
    case 'prometheus': {
      const text = expand(typeof query === 'string' ? query : String((query as { query?: string }).query ?? ''));
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(text.trim());
      if (!m) throw new Error(`unsupported Prometheus variable query: ${text}`);
      const params = new URLSearchParams({ 'match[]': m[1] as string, start: String(fromMs / 1000), end: String(toMs / 1000) });
      const body = (await getJson(`${stores.prometheus}/api/v1/label/${m[2]}/values?${params}`)) as { data: string[] };
      values = body.data;
      break;
    }
    case 'graphite': {
      const target = expand(typeof query === 'string' ? query : String((query as { target?: string }).target ?? ''));
      const params = new URLSearchParams({ query: target, from: String(Math.floor(fromMs / 1000)), until: String(Math.floor(toMs / 1000)) });
      const body = (await getJson(`${stores.graphite}/metrics/find?${params}`)) as Array<{ text: string }>;
      values = body.map((n) => n.text);
      break;
    }
    case 'influxdb': {
      const body = await influxQuery(stores, expand(String(query)));
      values = influxRows(body).map((row) => String(row[1]));
      break;
    }
    default:
      throw new Error(`variables of ${kind} are not emulated`);
  }
  if (variable.regex) {
    const re = new RegExp(variable.regex.replace(/^\/|\/$/g, ''));
    values = values.filter((v) => re.test(v));
  }
  return [...new Set(values)].sort();
}

/**
 * The three selections a user typically makes: All, one value (the dashboard's default when it
 * has one, e.g. market = shares: what a user sees on opening it), two values.
 */
export function selectionsFor(variable: GrafanaVariable, values: string[]): Array<{ label: string; selection: VariableSelection }> {
  const multiValued = Boolean(variable.multi || variable.includeAll);
  const out: Array<{ label: string; selection: VariableSelection }> = [];
  if (variable.includeAll) {
    out.push({ label: 'All', selection: { values, multiValued, ...(variable.allValue ? { customAll: variable.allValue } : {}) } });
  }
  const preset = ([] as unknown[]).concat((variable.current as { value?: unknown } | undefined)?.value ?? [])[0];
  const one = typeof preset === 'string' && values.includes(preset) ? preset : (values[0] as string);
  out.push({ label: one, selection: { values: [one], multiValued } });
  if (variable.multi && values.length >= 2) out.push({ label: values.slice(0, 2).join('+'), selection: { values: values.slice(0, 2), multiValued } });
  return out;
}

/**
 * The variables each drawn copy of a panel queries with. A panel with `repeat: name` is drawn once
 * per selected value of that variable, each copy with that value alone (formatted as the multi-value
 * variable it still is); any other panel once, with the selection as it is.
 */
export function repeatCopies(
  panel: GrafanaPanel,
  selected: Map<string, VariableSelection>,
): Array<{ value?: string; variables: Map<string, VariableSelection> }> {
  const name = panel.repeat;
  if (!name) return [{ variables: selected }];
  const sel = selected.get(name);
  if (!sel) throw new Error(`panel "${panel.title}" repeats over $${name}, which is not a variable`);
  return sel.values.map((value) => ({ value, variables: new Map([...selected, [name, { values: [value], multiValued: sel.multiValued }]]) }));
}

// ---- targets ----

export interface TargetRun {
  kind: DatasourceKind;
  panel: GrafanaPanel;
  target: GrafanaTarget;
  fromMs: number;
  toMs: number;
  /** "now-1h" style, for Graphite's relative from/until. */
  rangeFrom: string;
  scrapeIntervalS: number;
  variables: Map<string, VariableSelection>;
}

/** Grafana sizes $__interval by the panel's pixel width: assume a 1800 px wide dashboard. */
function maxDataPoints(panel: GrafanaPanel): number {
  return panel.maxDataPoints ?? Math.round(((panel.gridPos?.w ?? 24) / 24) * 1800);
}

function contextFor(run: TargetRun, minIntervalS: number): QueryContext {
  // A panel's own min interval ("1m") replaces the datasource's, as in Grafana.
  const minS = run.panel.interval ? parseDurationS(run.panel.interval) : minIntervalS;
  const intervalMs = calculateIntervalMs(run.toMs - run.fromMs, maxDataPoints(run.panel), minS * 1000);
  return { kind: run.kind, fromMs: run.fromMs, toMs: run.toMs, intervalMs, scrapeIntervalS: run.scrapeIntervalS, variables: run.variables };
}

export async function runTarget(run: TargetRun, stores: StoreEndpoints): Promise<QueryOutcome> {
  switch (run.kind) {
    case 'prometheus':
      return runPrometheus(run, stores);
    case 'graphite':
      return runGraphite(run, stores);
    case 'influxdb':
      return runInflux(run, stores);
    case 'yesoreyeram-infinity-datasource':
      return runInfinity(run, stores);
  }
}

async function runPrometheus(run: TargetRun, stores: StoreEndpoints): Promise<QueryOutcome> {
  const ctx = contextFor(run, run.scrapeIntervalS);
  const expr = interpolate(String(run.target.expr), ctx);
  const instant = run.target.instant === true && run.target.range !== true;
  const params = new URLSearchParams({ query: expr });
  let path: string;
  if (instant) {
    path = '/api/v1/query';
    params.set('time', String(run.toMs / 1000));
  } else {
    path = '/api/v1/query_range';
    // Grafana aligns start/end to the step so refreshes reuse cached results.
    const step = ctx.intervalMs / 1000;
    params.set('start', String(Math.floor(run.fromMs / 1000 / step) * step));
    params.set('end', String(Math.floor(run.toMs / 1000 / step) * step));
    params.set('step', String(step));
  }
  const body = (await getJson(`${stores.prometheus}${path}`, {
    method: 'POST', // jsonData.httpMethod: POST
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: params,
  })) as { data: { resultType: string; result: Array<{ value?: [number, string]; values?: Array<[number, string]> }> } };
  const result = body.data.result;
  const samples = result.flatMap((s) => (s.values ?? (s.value ? [s.value] : [])).map(([, v]) => v));
  return { request: `${path} ${expr}`, series: result.length, nonNull: samples.filter(isNumericValue).length };
}

async function runGraphite(run: TargetRun, stores: StoreEndpoints): Promise<QueryOutcome> {
  const ctx = contextFor(run, 0);
  const target = interpolate(String(run.target.target), ctx);
  // Grafana turns now-1h / now into graphite-web's relative -1h / now.
  const params = new URLSearchParams({
    target,
    from: run.rangeFrom.replace(/^now/, ''),
    until: 'now',
    format: 'json',
    maxDataPoints: String(maxDataPoints(run.panel)),
  });
  const body = (await getJson(`${stores.graphite}/render`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: params,
  })) as Array<{ target: string; datapoints: Array<[number | null, number]> }>;
  const values = body.flatMap((s) => s.datapoints.map(([v]) => v));
  return { request: `/render ${target}`, series: body.length, nonNull: values.filter(isValue).length };
}

async function influxQuery(stores: StoreEndpoints, q: string): Promise<InfluxAnswer> {
  const params = new URLSearchParams({ db: stores.influxDatabase, q, epoch: 'ms' });
  return (await getJson(`${stores.influxdb}/query?${params}`)) as InfluxAnswer;
}

interface InfluxAnswer {
  results: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
}

function influxRows(answer: InfluxAnswer): unknown[][] {
  for (const r of answer.results) if (r.error) throw new Error(`InfluxDB: ${r.error}`);
  return answer.results.flatMap((r) => r.series ?? []).flatMap((s) => s.values);
}

async function runInflux(run: TargetRun, stores: StoreEndpoints): Promise<QueryOutcome> {
  const ctx = contextFor(run, 0);
  const q = interpolate(String(run.target.query), ctx);
  const answer = await influxQuery(stores, q);
  const rows = influxRows(answer);
  // Column 0 is time; a row counts when any field in it has a value.
  const nonNull = rows.filter((row) => row.slice(1).some(isValue)).length;
  const series = answer.results.flatMap((r) => r.series ?? []).length;
  return { request: `/query ${q}`, series, nonNull };
}

// ---- Infinity (yesoreyeram-infinity-datasource), JSON queries ----

/** The value at a root selector of the form `$.a.b` (JSONata's path syntax, the subset dashboards use). */
export function selectPath(doc: unknown, selector: string): unknown {
  const m = /^\$((?:\.\w+)+)$/.exec(selector);
  if (!m) throw new Error(`root selector ${selector} is not of the form $.a.b`);
  let node = doc;
  for (const key of (m[1] as string).slice(1).split('.')) {
    node = node !== null && typeof node === 'object' && key in node ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

interface InfinityColumn {
  selector: string;
  text: string;
  type: string;
}

/**
 * The rows an Infinity JSON query makes of a document: the root selector must name an
 * array of objects, one row each; a column is a field of each row. A root that is not an array is an error here, not an empty
 * table, so a renamed field in the backend's answer fails the test.
 */
export function infinityRows(doc: unknown, rootSelector: string, columns: InfinityColumn[]): unknown[][] {
  const root = selectPath(doc, rootSelector);
  if (!Array.isArray(root)) throw new Error(`root selector ${rootSelector} is not an array`);
  return root.map((row, i) => {
    if (row === null || typeof row !== 'object') throw new Error(`${rootSelector}[${i}] is not an object`);
    return columns.map((c) => (row as Record<string, unknown>)[c.selector]);
  });
}

async function runInfinity(run: TargetRun, stores: StoreEndpoints): Promise<QueryOutcome> {
  const t = run.target;
  if (t.type !== 'json' || t.source !== 'url' || (t.url_options as { method?: string } | undefined)?.method !== 'GET') {
    throw new Error(`only Infinity JSON GET queries are emulated, got type=${String(t.type)} source=${String(t.source)}`);
  }
  // The datasource's URL (the backend) is prefixed to the query's url.
  const url = interpolate(String(t.url ?? ''), contextFor(run, 0));
  const doc = await getJson(`${stores.backend}${url}`);
  const columns = (t.columns as InfinityColumn[] | undefined) ?? [];
  const rows = infinityRows(doc, String(t.root_selector ?? ''), columns);
  // A column whose selector names no field of any row is a typo, not missing data.
  const empty = columns.filter((_, i) => rows.length > 0 && rows.every((r) => r[i] === undefined)).map((c) => c.selector);
  if (empty.length > 0) throw new Error(`GET ${url}: no row has ${empty.join(', ')}`);
  return { request: `GET ${url} ${String(t.root_selector)}`, series: columns.length, nonNull: rows.flat().filter(isValue).length };
}
