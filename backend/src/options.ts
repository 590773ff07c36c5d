import { GREEK_FIELDS, type GreekField } from '../../lib/moex/option-greeks';
import { NUMERIC_FIELDS, type NumericField } from '../../lib/moex/quote';
import type { VectorSample } from './prometheus-client';

/**
 * The option series the worker exports (market `options`, labels underlying, option_type, strike,
 * expiry: docs/metrics.md) as the API serves them: an index of the underlyings and their expiries,
 * and one chain (one underlying, one expiry) at a time. With ROPD=ALL Prometheus holds ~30,000
 * series per family, so nothing here ever asks for every series: the index is a count Prometheus
 * computes, and a chain's query names its underlying and expiry. Pure, apart from the PromQL text.
 */

/** The market label of every option series. */
const OPTIONS_MARKET = 'options';

const metricOf = (field: NumericField): string => NUMERIC_FIELDS.find((f) => f.field === field)!.metric;

/** One expiry of an underlying in the index: how many call and put series Prometheus has. */
export interface OptionExpiry {
  expiry: string;
  calls: number;
  puts: number;
}

export interface OptionUnderlying {
  underlying: string;
  expiries: OptionExpiry[];
}

/** What GET /api/options answers. */
export interface OptionIndex {
  underlyings: OptionUnderlying[];
}

/**
 * The index as one aggregation: a sample per underlying, expiry and call/put, never a sample per
 * series. Every series has a quote time (the worker exports it for every quote), so it is counted
 * from that family; `group by` first so that two workers exporting one series (a shard handover)
 * count it once.
 */
export const OPTION_INDEX_PROMQL =
  `count by (underlying, expiry, option_type) (group by (ticker, board, underlying, expiry, option_type) ` +
  `(moex_quote_timestamp_seconds{market="${OPTIONS_MARKET}"}))`;

/** Samples of OPTION_INDEX_PROMQL → the index, underlyings by name, expiries by date. */
export function optionIndexFromSamples(samples: readonly VectorSample[]): OptionIndex {
  const byUnderlying = new Map<string, Map<string, OptionExpiry>>();
  for (const { metric, value } of samples) {
    const { underlying, expiry, option_type: type } = metric;
    const count = Number(value[1]);
    if (!underlying || !expiry || (type !== 'call' && type !== 'put') || !Number.isFinite(count)) continue;
    let expiries = byUnderlying.get(underlying);
    if (!expiries) byUnderlying.set(underlying, (expiries = new Map()));
    let entry = expiries.get(expiry);
    if (!entry) expiries.set(expiry, (entry = { expiry, calls: 0, puts: 0 }));
    entry[type === 'call' ? 'calls' : 'puts'] += count;
  }
  return {
    underlyings: [...byUnderlying]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([underlying, expiries]) => ({ underlying, expiries: [...expiries.values()].sort((a, b) => a.expiry.localeCompare(b.expiry)) })),
  };
}

/** One series of a chain row; a figure Prometheus has no series for is null. */
export interface OptionSide {
  ticker: string;
  last: number | null;
  bid: number | null;
  offer: number | null;
  openInterest: number | null;
  openInterestChange: number | null;
  /** From the Options Calculator (percent, e.g. 31.5); null until it has priced the series. */
  impliedVolatility: number | null;
  theoreticalPrice: number | null;
  delta: number | null;
}

type SideFigure = Exclude<keyof OptionSide, 'ticker'>;

/** The calculator's figures a chain row shows; gamma, vega and theta are left to the dashboards, to keep a row readable. */
const CHAIN_GREEKS: ReadonlySet<GreekField> = new Set(['impliedVolatility', 'theoreticalPrice', 'delta']);

/** Worker gauge → figure of a series: the board snapshot's, then the Options Calculator's (docs/metrics.md). */
const SIDE_FIGURE_OF_METRIC: Readonly<Record<string, SideFigure>> = {
  [metricOf('last')]: 'last',
  [metricOf('bid')]: 'bid',
  [metricOf('offer')]: 'offer',
  [metricOf('optionOpenInterest')]: 'openInterest',
  [metricOf('optionOpenInterestChange')]: 'openInterestChange',
  // OptionSide names the calculator's figures as OptionGreeks does.
  ...Object.fromEntries(GREEK_FIELDS.filter((g) => CHAIN_GREEKS.has(g.field)).map((g) => [g.metric, g.field as SideFigure])),
};

/** Gauges every series of one underlying and expiry carries alike: the chain's own figures. */
const CHAIN_FIGURE_OF_METRIC: Readonly<Record<string, 'centralStrike' | 'underlyingPrice'>> = {
  [metricOf('centralStrike')]: 'centralStrike',
  [metricOf('underlyingPrice')]: 'underlyingPrice',
};

export interface OptionChainRow {
  /** As the worker exports it (ISS' decimal text); rows are in numeric order. */
  strike: string;
  /** The strike is the central strike (CENTRALSTRIKE) of the underlying and expiry. */
  atTheMoney: boolean;
  call: OptionSide | null;
  put: OptionSide | null;
}

/** What GET /api/options/:underlying/:expiry answers. */
export interface OptionChain {
  /** The underlying's code as exported (asked case-insensitively: `si` finds `Si`). */
  underlying: string;
  expiry: string;
  centralStrike: number | null;
  /** The underlying's settlement price (UNDERLYINGSETTLEPRICE). */
  underlyingPrice: number | null;
  rows: OptionChainRow[];
}

/**
 * The PromQL of one chain: the families a chain row shows, of the series of that underlying and
 * expiry only. `underlying` and `expiry` are checked by the route (letters, digits, _; a date), so
 * they are quoted as they are.
 */
export function optionChainPromql(underlying: string, expiry: string): string {
  const names = [...Object.keys(SIDE_FIGURE_OF_METRIC), ...Object.keys(CHAIN_FIGURE_OF_METRIC)].join('|');
  return `{__name__=~"${names}", market="${OPTIONS_MARKET}", underlying=~"(?i)${underlying}", expiry="${expiry}"}`;
}

const emptySide = (ticker: string): OptionSide => ({
  ticker,
  last: null,
  bid: null,
  offer: null,
  openInterest: null,
  openInterestChange: null,
  impliedVolatility: null,
  theoreticalPrice: null,
  delta: null,
});

/** The value most series report (they all should: CENTRALSTRIKE is one per underlying and expiry); null: none. */
function commonest(values: readonly number[]): number | null {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | null = null;
  for (const [v, n] of counts) if (best === null || n > counts.get(best)! || (n === counts.get(best)! && v < best)) best = v;
  return best;
}

/**
 * Samples of optionChainPromql → the chain: a row per strike, its call and its put side by side,
 * strikes in numeric order; null when there is no series at all. Should a board list two series of
 * one type at one strike (e.g. American and European style), each gets a row of its own, paired
 * by ticker order, rather than one hiding the other.
 */
export function optionChainFromSamples(samples: readonly VectorSample[]): OptionChain | null {
  const sides = new Map<string, { strike: string; type: 'call' | 'put'; side: OptionSide }>();
  const chainValues = { centralStrike: [] as number[], underlyingPrice: [] as number[] };
  let underlying: string | null = null;
  let expiry: string | null = null;
  for (const { metric, value } of samples) {
    const { ticker, strike, option_type: type } = metric;
    const number = Number(value[1]);
    if (!ticker || !strike || !Number.isFinite(Number(strike)) || (type !== 'call' && type !== 'put') || !Number.isFinite(number)) continue;
    underlying ??= metric.underlying ?? null;
    expiry ??= metric.expiry ?? null;
    const name = metric.__name__ ?? '';
    const chainFigure = CHAIN_FIGURE_OF_METRIC[name];
    if (chainFigure) chainValues[chainFigure].push(number);
    const figure = SIDE_FIGURE_OF_METRIC[name];
    const key = `${ticker}\u0000${metric.board ?? ''}`;
    let entry = sides.get(key);
    if (!entry) sides.set(key, (entry = { strike, type, side: emptySide(ticker) }));
    if (figure) entry.side[figure] = number;
  }
  if (sides.size === 0 || underlying === null || expiry === null) return null;

  const byStrike = new Map<string, { calls: OptionSide[]; puts: OptionSide[] }>();
  for (const { strike, type, side } of sides.values()) {
    let pair = byStrike.get(strike);
    if (!pair) byStrike.set(strike, (pair = { calls: [], puts: [] }));
    pair[type === 'call' ? 'calls' : 'puts'].push(side);
  }
  const centralStrike = commonest(chainValues.centralStrike);
  const byTicker = (a: OptionSide, b: OptionSide) => a.ticker.localeCompare(b.ticker);
  const rows = [...byStrike]
    .sort(([a], [b]) => Number(a) - Number(b))
    .flatMap(([strike, { calls, puts }]) => {
      calls.sort(byTicker);
      puts.sort(byTicker);
      return Array.from({ length: Math.max(calls.length, puts.length) }, (_, i) => ({
        strike,
        atTheMoney: centralStrike !== null && Number(strike) === centralStrike,
        call: calls[i] ?? null,
        put: puts[i] ?? null,
      }));
    });
  return { underlying, expiry, centralStrike, underlyingPrice: commonest(chainValues.underlyingPrice), rows };
}
