import { moscowDateTime } from './moscow-time';
import { greeksOf, type OptionQuote, type SeriesDay } from './options-book';
import type { OptionAsset, OptionSeries } from './option-series';

/**
 * MOEX's Options Calculator (`/iss/apps/option-calc/v1`, OpenAPI 3.1, FastAPI; the spec is vendored
 * at test/fixtures/iss/real/options/option-calc-openapi-v1.4.1.json): plain JSON, not ISS blocks.
 * Served from the board's own series and quotes, so an optionboard row's secid, strike, theorprice and
 * volatility are the board's at that moment. Errors as FastAPI gives them: 404 `{"detail": "..."}`,
 * 422 `{"detail": [{type, loc, msg, input, ctx?}]}`.
 */
export const OPTION_CALC_PREFIX = '/iss/apps/option-calc/v1';

export interface CalcAnswer {
  status: number;
  body: unknown;
}

const ASSET_TYPES = ['commodity', 'currency', 'futures', 'index', 'share'] as const;
const ASSET_SUBTYPES = ['commodity', 'currency', 'index', 'share'] as const;
const quoted = (values: readonly string[]) =>
  values
    .map((v) => `'${v}'`)
    .join(', ')
    .replace(/, ([^,]*)$/, ' or $1');

type Problem = { type: string; loc: (string | number)[]; msg: string; input: unknown; ctx?: Record<string, unknown> };
const invalid = (problems: Problem[]): CalcAnswer => ({ status: 422, body: { detail: problems } });
const notFound = (detail: string): CalcAnswer => ({ status: 404, body: { detail } });

function checkEnum(params: URLSearchParams, name: string, values: readonly string[], problems: Problem[]): string | null {
  const value = params.get(name);
  if (value === null) return null;
  if (!values.includes(value))
    problems.push({ type: 'enum', loc: ['query', name], msg: `Input should be ${quoted(values)}`, input: value, ctx: { expected: quoted(values) } });
  return value;
}

function checkLength(where: 'path' | 'query', name: string, value: string | null, max: number, problems: Problem[]): void {
  if (value !== null && value.length > max) {
    problems.push({ type: 'string_too_long', loc: [where, name], msg: `String should have at most ${max} characters`, input: value, ctx: { max_length: max } });
  }
}

function checkInteger(params: URLSearchParams, name: string, problems: Problem[]): number | null {
  const value = params.get(name);
  if (value === null) return null;
  if (!/^[+-]?\d+$/.test(value.trim())) {
    problems.push({ type: 'int_parsing', loc: ['query', name], msg: 'Input should be a valid integer, unable to parse string as an integer', input: value });
    return null;
  }
  return Number(value);
}

const assetTypeOf = (asset: OptionAsset) => (asset.underlyingType === 'F' ? 'futures' : 'share');
const round = (x: number, digits: number) => Number(x.toFixed(digits));

function assetJson(asset: OptionAsset) {
  return { asset_code: asset.asset, title: asset.title, asset_type: assetTypeOf(asset), asset_subtype: asset.subtype };
}

function totals(quotes: readonly OptionQuote[]) {
  return {
    volume_rub: quotes.reduce((sum, q) => sum + q.valToday, 0),
    volume_contracts: quotes.reduce((sum, q) => sum + q.volToday, 0),
    openposition: quotes.reduce((sum, q) => sum + q.openPosition, 0),
    oichange: quotes.reduce((sum, q) => sum + q.oiChange, 0),
  };
}

function seriesJson(code: string, quotes: readonly OptionQuote[], at: Date) {
  const first: OptionSeries = quotes[0]!.series;
  return {
    optionseries_code: code,
    asset_code: first.asset.asset,
    asset_type: assetTypeOf(first.asset),
    futures_code: first.asset.underlyingType === 'F' ? first.underlying : null,
    series_type: first.seriesType,
    expiration_date: first.expiry,
    central_strike: first.centralStrike,
    call: totals(quotes.filter((q) => q.series.kind === 'call')),
    put: totals(quotes.filter((q) => q.series.kind === 'put')),
    updatetime: `${moscowDateTime(at).replace(' ', 'T')}+03:00`,
  };
}

/** One optionboard row, in the real rows' key order (docs/iss.md). */
function boardRow(q: OptionQuote) {
  const g = greeksOf(q);
  const s = q.series;
  const intrinsic = Math.max(0, s.kind === 'call' ? q.forward - s.strike : s.strike - q.forward);
  return {
    delta: round(g.delta, 6),
    gamma: round(g.gamma, 6),
    vega: round(g.vega, 6),
    theta: round(g.theta, 6),
    rho: round(g.rho, 6),
    secid: s.secid,
    theorprice: round(q.theoretical, 6),
    theorprice_rub: round(q.theoretical * s.asset.roublesPerPoint, 2),
    last: q.last,
    offer: q.offer,
    bid: q.bid,
    numtrades: q.numTrades,
    strike: s.strike,
    volatility: round(q.volatility * 100, 2),
    intrinsic_value: round(intrinsic, 2),
    timed_value: round(Math.max(0, q.theoretical - intrinsic), 2),
  };
}

/** The answer to `GET {OPTION_CALC_PREFIX}{path}` on the board's series and their quotes at `at` (`quoteAt`: OptionsBook.quoteReader). */
export function optionCalcAnswer(path: string, params: URLSearchParams, day: SeriesDay, quoteAt: (index: number) => OptionQuote, at: Date): CalcAnswer {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'assets' || parts.length > 5) return notFound('Not Found');
  const problems: Problem[] = [];
  const assetType = checkEnum(params, 'asset_type', ASSET_TYPES, problems);
  const assets = [...new Map(day.list.map((s) => [s.asset.asset, s.asset])).values()].filter(
    (a) => assetType === null || assetTypeOf(a) === assetType || a.subtype === assetType,
  );

  if (parts.length === 1) {
    const subtype = checkEnum(params, 'asset_subtype', ASSET_SUBTYPES, problems);
    const query = params.get('query');
    checkLength('query', 'query', query, 8, problems);
    if (problems.length) return invalid(problems);
    const wanted = assets.filter((a) => (subtype === null || a.subtype === subtype) && (query === null || a.asset.toUpperCase().includes(query.toUpperCase())));
    return { status: 200, body: wanted.map(assetJson) };
  }

  const [, assetCode, resource, seriesCode, view] = parts as [string, string, string?, string?, string?];
  checkLength('path', 'asset_code', assetCode, 12, problems);
  checkLength('path', 'optionseries_code', seriesCode ?? null, 32, problems);
  const rows = view === 'optionboard' ? checkInteger(params, 'rows', problems) : null;
  if (problems.length) return invalid(problems);
  const asset = assets.find((a) => a.asset.toUpperCase() === assetCode.toUpperCase());
  if (!asset) return notFound(`Asset ${assetCode} not found`);
  if (resource === undefined) return { status: 200, body: assetJson(asset) };
  if (resource !== 'optionseries') return notFound('Not Found');

  const codes = day.byAsset.get(asset.asset.toUpperCase()) ?? new Map<string, readonly number[]>();
  const quotesOf = (indices: readonly number[]) => indices.map(quoteAt);
  if (seriesCode === undefined) return { status: 200, body: [...codes].map(([code, indices]) => seriesJson(code, quotesOf(indices), at)) };
  const found = [...codes].find(([code]) => code.toUpperCase() === seriesCode.toUpperCase());
  if (!found) return notFound(`Option series ${seriesCode} not found`);
  const [code, indices] = found;
  const series = quotesOf(indices);
  if (view === undefined) return { status: 200, body: seriesJson(code, series, at) };

  const strikes = [...new Set(series.map((q) => q.series.strike))].sort((a, b) => a - b);
  const centre = strikes.indexOf(series[0]!.series.centralStrike);
  // `rows`: that many strikes each side of the central one (FastAPI: any integer; 0 keeps the centre alone).
  const kept = rows === null || centre < 0 ? new Set(strikes) : new Set(strikes.slice(Math.max(0, centre - Math.max(0, rows)), centre + Math.max(0, rows) + 1));
  const shown = series.filter((q) => kept.has(q.series.strike));
  if (view === 'optionboard') {
    return {
      status: 200,
      body: { call: shown.filter((q) => q.series.kind === 'call').map(boardRow), put: shown.filter((q) => q.series.kind === 'put').map(boardRow) },
    };
  }
  if (view === 'volatility_graph') {
    // One point per strike: a strike's call and put share the smile's volatility.
    const points = shown.filter((q) => q.series.kind === 'call');
    return { status: 200, body: points.map((q) => ({ strike: q.series.strike, volatility: round(q.volatility * 100, 2) })) };
  }
  return notFound('Not Found');
}
