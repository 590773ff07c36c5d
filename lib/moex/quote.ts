import type { OptionContract } from './options';

/**
 * The quote model: one snapshot of one security on one board, as every output sees it.
 * A field that ISS sent as null (or sent as garbage), or that the security's market does not have,
 * is `null` here, and every output leaves it out: never 0, NaN or -1.
 */
export type NumericField =
  | 'last'
  | 'bid'
  | 'offer'
  | 'open'
  | 'high'
  | 'low'
  | 'waprice'
  | 'prevClose'
  | 'changePercent'
  | 'volume'
  | 'value'
  | 'trades'
  | 'indexValue'
  | 'indexPrevClose'
  | 'capitalization'
  | 'bondYield'
  | 'bondDuration'
  | 'accruedInterest'
  | 'faceValue'
  | 'couponValue'
  | 'daysToMaturity'
  | 'openInterest'
  | 'settlePrice'
  | 'optionOpenInterest'
  | 'optionOpenInterestChange'
  | 'centralStrike'
  | 'underlyingPrice';

export type Quote = {
  ticker: string;
  board: string;
  /** ISS engine and market of the board, e.g. `stock`/`shares`, `currency`/`selt`. */
  engine: string;
  market: string;
  shortName: string | null;
  /** TRADINGSTATUS is `T`; null on markets whose answers have no TRADINGSTATUS (index, futures). */
  trading: boolean | null;
  /** When the row's data is from: UPDATETIME on SYSTIME's date (docs/iss.md), as an instant. */
  time: Date;
  /** SYSTIME − time: the feed's delay (about 900 on the anonymous feed, about 0 in real time). */
  delaySeconds: number;
  /** Option series only (market `options`): underlying, call or put, strike, expiry. */
  option?: OptionContract;
} & Record<NumericField, number | null>;

export interface NumericFieldSpec {
  field: NumericField;
  /** The snake_case name used by the push outputs: Graphite series and InfluxDB fields. */
  seriesName: string;
  /** The worker's gauge (docs/metrics.md). */
  metric: string;
  help: string;
  /** Counted in whole units (shares, trades, contracts, days): an InfluxDB integer field. */
  integer: boolean;
}

const field = (field: NumericField, seriesName: string, metric: string, help: string, integer = false): NumericFieldSpec => ({
  field,
  seriesName,
  metric,
  help,
  integer,
});

/** Every numeric quote field, in the order outputs list them; the one place that names them. */
export const NUMERIC_FIELDS: readonly NumericFieldSpec[] = [
  field('last', 'last', 'moex_last_price', 'Last trade price (LAST), board currency (bonds: percent of face value)'),
  field('bid', 'bid', 'moex_bid_price', 'Best bid (BID), board currency'),
  field('offer', 'offer', 'moex_offer_price', 'Best offer (OFFER), board currency'),
  field('open', 'open', 'moex_open_price', 'Opening price (OPEN; indices OPENVALUE), board currency'),
  field('high', 'high', 'moex_high_price', 'Day high (HIGH), board currency'),
  field('low', 'low', 'moex_low_price', 'Day low (LOW), board currency'),
  field('waprice', 'waprice', 'moex_waprice', 'Weighted average price (WAPRICE), board currency'),
  field('prevClose', 'prev_close', 'moex_prev_close_price', 'Previous close (PREVPRICE; futures PREVSETTLEPRICE), board currency'),
  field('changePercent', 'change_percent', 'moex_change_percent', 'Last price (indices: value) vs previous close, percent'),
  field('volume', 'volume', 'moex_volume_today', 'Units traded today (VOLTODAY)', true),
  field('value', 'value', 'moex_value_today', 'Money traded today (VALTODAY), board currency'),
  field('trades', 'trades', 'moex_trades_today', 'Trades today (NUMTRADES)', true),
  field('indexValue', 'index_value', 'moex_index_value', 'Index value (CURRENTVALUE)'),
  field('indexPrevClose', 'index_prev_close', 'moex_index_prev_close', 'Index value at the previous close (LASTVALUE)'),
  field('capitalization', 'capitalization', 'moex_index_capitalization', 'Capitalization of the index constituents (CAPITALIZATION)'),
  field('bondYield', 'yield', 'moex_bond_yield_percent', 'Bond yield at the last price (YIELD), percent'),
  field('bondDuration', 'duration', 'moex_bond_duration_days', 'Bond duration (DURATION), days', true),
  field('accruedInterest', 'accrued_interest', 'moex_bond_accrued_interest', 'Accrued coupon interest (ACCRUEDINT), face currency'),
  field('faceValue', 'face_value', 'moex_bond_face_value', 'Face value (FACEVALUE), face currency'),
  field('couponValue', 'coupon_value', 'moex_bond_coupon_value', 'Next coupon (COUPONVALUE), face currency'),
  field('daysToMaturity', 'days_to_maturity', 'moex_bond_days_to_maturity', 'Days from the quote to maturity (MATDATE)', true),
  field('openInterest', 'open_interest', 'moex_futures_open_interest', 'Open interest (OPENPOSITION), contracts', true),
  field('settlePrice', 'settle_price', 'moex_futures_settle_price', 'Settlement price (SETTLEPRICE)'),
  field('optionOpenInterest', 'open_interest', 'moex_option_open_interest', 'Open interest of the option series (OPENPOSITION), contracts', true),
  field(
    'optionOpenInterestChange',
    'open_interest_change',
    'moex_option_open_interest_change',
    "Open interest change since the previous session's close (OICHANGE), contracts",
    true,
  ),
  field('centralStrike', 'central_strike', 'moex_option_central_strike', "Central (at-the-money) strike of the series' underlying and expiry (CENTRALSTRIKE)"),
  field('underlyingPrice', 'underlying_price', 'moex_option_underlying_settle_price', "The underlying's settlement price (UNDERLYINGSETTLEPRICE)"),
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

/**
 * A SECID as configured: letters, digits and `_` (currency pairs such as CNYRUB_TOM; futures such as
 * SiZ7, matched case-insensitively). Anything else is not a ticker.
 */
export const TICKER_PATTERN = /^[A-Za-z0-9_]{1,20}$/;
