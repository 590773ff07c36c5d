import { Point } from '@influxdata/influxdb-client';
import { marketKindOf, MARKETS } from '../../lib/moex/markets';
import { GREEK_FIELDS, type SeriesGreeks } from '../../lib/moex/option-greeks';
import { optionLabels } from '../../lib/moex/options';
import { presentNumericFields, type Quote } from '../../lib/moex/quote';

/** One Graphite data point. */
export interface GraphitePoint {
  path: string;
  value: number;
  /** Unix seconds: the quote's exchange time. */
  timestamp: number;
}

/**
 * The Graphite node of a quote (docs/metrics.md): `<prefix>.<TICKER>` for shares (and funds),
 * `<prefix>.<market>.<TICKER>` for every other market, e.g. `stocks.selt.USD000UTSTOM`; option
 * series under their underlying, `<prefix>.options.<UNDERLYING>.<SECID>`, so one asset's are one subtree.
 */
function graphiteNodeFor(quote: Pick<Quote, 'ticker' | 'market' | 'option'>, prefix: string): string {
  if (quote.market === 'shares') return `${prefix}.${quote.ticker}`;
  if (quote.option) return `${prefix}.${quote.market}.${quote.option.underlying}.${quote.ticker}`;
  return `${prefix}.${quote.market}.${quote.ticker}`;
}

/** `<node>.<field>` for every field the quote has; nulls are not sent. */
export function graphitePointsFor(quote: Quote, prefix: string): GraphitePoint[] {
  const timestamp = Math.floor(quote.time.getTime() / 1000);
  const node = graphiteNodeFor(quote, prefix);
  return presentNumericFields(quote).map(({ spec, value }) => ({ path: `${node}.${spec.seriesName}`, value, timestamp }));
}

/** carbon's plaintext protocol: `path value timestamp\n`. */
export function plaintextLine(point: GraphitePoint): string {
  return `${point.path} ${point.value} ${point.timestamp}\n`;
}

/** The InfluxDB measurement of a quote: shares use `sharesMeasurement` (INFLUX_MEASUREMENT), other markets their own. */
function influxMeasurementFor(quote: Pick<Quote, 'engine' | 'market'>, sharesMeasurement: string): string {
  const kind = marketKindOf(quote.engine, quote.market) ?? 'shares';
  return kind === 'shares' ? sharesMeasurement : MARKETS[kind].measurement;
}

/**
 * Measurement by market (`stocks`, `currencies`, `indices`, `bonds`, `futures`, `options`), tags
 * ticker/board (option series also underlying, option_type, strike, expiry),
 * float and integer fields, the exchange time as the timestamp (docs/metrics.md): writing the same
 * quote twice stores it once.
 */
export function quoteToInfluxPoint(quote: Quote, sharesMeasurement: string): Point | null {
  const fields = presentNumericFields(quote);
  // A point without fields is not valid line protocol; such a quote has nothing to store.
  if (fields.length === 0) return null;
  const point = new Point(influxMeasurementFor(quote, sharesMeasurement)).tag('ticker', quote.ticker).tag('board', quote.board).timestamp(quote.time);
  if (quote.option) for (const [tag, value] of Object.entries(optionLabels(quote.option))) point.tag(tag, value);
  for (const { spec, value } of fields) {
    if (spec.integer) point.intField(spec.seriesName, value);
    else point.floatField(spec.seriesName, value);
  }
  return point;
}

/**
 * The Options Calculator's figures of one series at `at` (the refresh): Graphite beside its quote
 * fields (`<prefix>.options.<UNDERLYING>.<SECID>.implied_volatility` …), nulls not sent.
 */
export function greeksGraphitePoints(series: SeriesGreeks, prefix: string, at: Date): GraphitePoint[] {
  const timestamp = Math.floor(at.getTime() / 1000);
  const node = graphiteNodeFor({ ticker: series.ticker, market: series.market, option: series.contract }, prefix);
  return GREEK_FIELDS.flatMap(({ field, seriesName }) => {
    const value = series.greeks[field];
    return value === null ? [] : [{ path: `${node}.${seriesName}`, value, timestamp }];
  });
}

/** The same figures as an InfluxDB point of measurement `options`, tagged as the series' quotes; null when the calculator sent none. */
export function greeksInfluxLine(series: SeriesGreeks, at: Date): string | null {
  const point = new Point(MARKETS.options.measurement).tag('ticker', series.ticker).tag('board', series.board).timestamp(at);
  for (const [tag, value] of Object.entries(optionLabels(series.contract))) point.tag(tag, value);
  const present = GREEK_FIELDS.filter(({ field }) => series.greeks[field] !== null);
  for (const { field, seriesName } of present) point.floatField(seriesName, series.greeks[field]!);
  return present.length ? (point.toLineProtocol({ convertTime: () => String(Math.floor(at.getTime() / 1000)) }) as string) : null;
}
