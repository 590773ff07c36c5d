/**
 * The quote model: one snapshot of one security on one board, as every output sees it.
 * A field that ISS sent as null (or sent as garbage) is `null` here, and every output
 * leaves it out: never 0, NaN or -1.
 */
export interface Quote {
  ticker: string;
  board: string;
  shortName: string | null;
  last: number | null;
  bid: number | null;
  offer: number | null;
  open: number | null;
  high: number | null;
  low: number | null;
  waprice: number | null;
  prevClose: number | null;
  /** LAST vs PREVPRICE, in percent, rounded to 4 decimals. */
  changePercent: number | null;
  /** VOLTODAY, in shares. */
  volume: number | null;
  /** VALTODAY, in the board's currency. */
  value: number | null;
  /** NUMTRADES. */
  trades: number | null;
  /** TRADINGSTATUS is `T`. */
  trading: boolean;
  /** When the row's data is from: UPDATETIME on SYSTIME's date (CONTRACT §3), as an instant. */
  time: Date;
  /** SYSTIME − time: the feed's delay (about 900 on the anonymous feed, about 0 in real time). */
  delaySeconds: number;
}

export type NumericField =
  | 'last' | 'bid' | 'offer' | 'open' | 'high' | 'low' | 'waprice' | 'prevClose'
  | 'changePercent' | 'volume' | 'value' | 'trades';

export interface NumericFieldSpec {
  field: NumericField;
  /** The snake_case name used by the push outputs: Graphite series and InfluxDB fields. */
  seriesName: string;
  /** Counted in whole units (shares, trades): an InfluxDB integer field. */
  integer: boolean;
}

/** Every numeric quote field, in the order outputs list them; the one place that names them. */
export const NUMERIC_FIELDS: readonly NumericFieldSpec[] = [
  { field: 'last', seriesName: 'last', integer: false },
  { field: 'bid', seriesName: 'bid', integer: false },
  { field: 'offer', seriesName: 'offer', integer: false },
  { field: 'open', seriesName: 'open', integer: false },
  { field: 'high', seriesName: 'high', integer: false },
  { field: 'low', seriesName: 'low', integer: false },
  { field: 'waprice', seriesName: 'waprice', integer: false },
  { field: 'prevClose', seriesName: 'prev_close', integer: false },
  { field: 'changePercent', seriesName: 'change_percent', integer: false },
  { field: 'volume', seriesName: 'volume', integer: true },
  { field: 'value', seriesName: 'value', integer: false },
  { field: 'trades', seriesName: 'trades', integer: true },
];

/** The fields of a quote that have a value, with their spec; what every output iterates. */
export function presentNumericFields(quote: Quote): Array<{ spec: NumericFieldSpec; value: number }> {
  const present: Array<{ spec: NumericFieldSpec; value: number }> = [];
  for (const spec of NUMERIC_FIELDS) {
    const value = quote[spec.field];
    if (value !== null) present.push({ spec, value });
  }
  return present;
}

/** Percent change of `last` against `prevClose`, or null when either is unknown. */
export function changePercent(last: number | null, prevClose: number | null): number | null {
  if (last === null || prevClose === null || prevClose <= 0) return null;
  return Math.round((last / prevClose - 1) * 100 * 1e4) / 1e4;
}

/** SECIDs on MOEX are upper-case letters and digits; anything else is not a ticker. */
export const TICKER_PATTERN = /^[A-Z0-9]{1,12}$/;
