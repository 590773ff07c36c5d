import type { BlockColumns } from './iss-requests';
import { OPTION_CONTRACT_COLUMNS, type OptionSelection } from './options';
import type { NumericField } from './quote';

/**
 * Markets are data, not branches: each kind of ISS market names the columns its quote fields come
 * from (checked against real captured answers in test/fixtures/iss/real/), and the InfluxDB
 * measurement its points go to. Every output reads this table; adding a market is adding a row.
 */
export type MarketKind = 'shares' | 'currency' | 'index' | 'bonds' | 'futures' | 'options';

/**
 * What a cell must be to count as a value of its field; anything else is left out and counted.
 * `quoted`: a price where 0 means "no price" (ISS sends 0 for every price of every option series
 * off-hours), so 0 is left out uncounted, as a null is.
 */
export type ValueKind = 'price' | 'quoted' | 'amount' | 'count' | 'signed' | 'date';

export interface ColumnSource {
  block: 'securities' | 'marketdata';
  column: string;
  kind: ValueKind;
}

export interface MarketSpec {
  kind: MarketKind;
  /** InfluxDB measurement (shares: INFLUX_MEASUREMENT, `stocks` by default). */
  measurement: string;
  /** Field → ISS column. Fields not listed do not exist on this market: never exported. */
  columns: Partial<Record<Exclude<NumericField, 'changePercent' | 'daysToMaturity'>, ColumnSource>>;
  /** Whose change against which previous close `changePercent` is. */
  change: { value: NumericField; previous: NumericField };
  /** Has a MATDATE (securities block): `daysToMaturity` is derived from it. */
  maturity: boolean;
  /** Has TRADINGSTATUS (marketdata block): indices, futures and options do not. */
  tradingStatus: boolean;
  /** Each row is an option series (options.ts): its contract is read and labels every output. */
  optionSeries: boolean;
}

const md = (column: string, kind: ValueKind): ColumnSource => ({ block: 'marketdata', column, kind });
const sec = (column: string, kind: ValueKind): ColumnSource => ({ block: 'securities', column, kind });

/** The order-book market columns shares, funds, currencies and bonds share. */
const TRADED = {
  last: md('LAST', 'price'),
  bid: md('BID', 'price'),
  offer: md('OFFER', 'price'),
  open: md('OPEN', 'price'),
  high: md('HIGH', 'price'),
  low: md('LOW', 'price'),
  waprice: md('WAPRICE', 'price'),
  prevClose: sec('PREVPRICE', 'price'),
  volume: md('VOLTODAY', 'count'),
  value: md('VALTODAY', 'amount'),
  trades: md('NUMTRADES', 'count'),
} as const;

const LAST_VS_PREVIOUS = { value: 'last', previous: 'prevClose' } as const;

export const MARKETS: Readonly<Record<MarketKind, MarketSpec>> = {
  shares: { kind: 'shares', measurement: 'stocks', columns: TRADED, change: LAST_VS_PREVIOUS, maturity: false, tradingStatus: true, optionSeries: false },
  currency: {
    kind: 'currency',
    measurement: 'currencies',
    columns: TRADED,
    change: LAST_VS_PREVIOUS,
    maturity: false,
    tradingStatus: true,
    optionSeries: false,
  },
  index: {
    kind: 'index',
    measurement: 'indices',
    columns: {
      indexValue: md('CURRENTVALUE', 'price'),
      indexPrevClose: md('LASTVALUE', 'price'),
      open: md('OPENVALUE', 'price'),
      high: md('HIGH', 'price'),
      low: md('LOW', 'price'),
      value: md('VALTODAY', 'amount'),
      capitalization: md('CAPITALIZATION', 'amount'),
    },
    change: { value: 'indexValue', previous: 'indexPrevClose' },
    maturity: false,
    tradingStatus: false,
    optionSeries: false,
  },
  bonds: {
    kind: 'bonds',
    measurement: 'bonds',
    columns: {
      ...TRADED,
      bondYield: md('YIELD', 'signed'),
      bondDuration: md('DURATION', 'count'),
      accruedInterest: sec('ACCRUEDINT', 'amount'),
      faceValue: sec('FACEVALUE', 'price'),
      couponValue: sec('COUPONVALUE', 'amount'),
    },
    change: LAST_VS_PREVIOUS,
    maturity: true,
    tradingStatus: true,
    optionSeries: false,
  },
  futures: {
    kind: 'futures',
    measurement: 'futures',
    columns: {
      last: md('LAST', 'price'),
      bid: md('BID', 'price'),
      offer: md('OFFER', 'price'),
      open: md('OPEN', 'price'),
      high: md('HIGH', 'price'),
      low: md('LOW', 'price'),
      prevClose: sec('PREVSETTLEPRICE', 'price'),
      volume: md('VOLTODAY', 'count'),
      value: md('VALTODAY', 'amount'),
      trades: md('NUMTRADES', 'count'),
      openInterest: md('OPENPOSITION', 'count'),
      settlePrice: md('SETTLEPRICE', 'price'),
    },
    change: LAST_VS_PREVIOUS,
    maturity: false,
    tradingStatus: false,
    optionSeries: false,
  },
  options: {
    kind: 'options',
    measurement: 'options',
    columns: {
      last: md('LAST', 'quoted'),
      bid: md('BID', 'quoted'),
      offer: md('OFFER', 'quoted'),
      open: md('OPEN', 'quoted'),
      high: md('HIGH', 'quoted'),
      low: md('LOW', 'quoted'),
      prevClose: sec('PREVSETTLEPRICE', 'quoted'),
      volume: md('VOLTODAY', 'count'),
      value: md('VALTODAY', 'amount'),
      trades: md('NUMTRADES', 'count'),
      optionOpenInterest: md('OPENPOSITION', 'count'),
      optionOpenInterestChange: md('OICHANGE', 'signed'),
      centralStrike: sec('CENTRALSTRIKE', 'quoted'),
      underlyingPrice: sec('UNDERLYINGSETTLEPRICE', 'quoted'),
    },
    change: LAST_VS_PREVIOUS,
    maturity: false,
    tradingStatus: false,
    optionSeries: true,
  },
};

/** ISS `engine/market` → the kind of market; funds and depositary receipts trade on stock/shares. */
const KIND_OF: Readonly<Record<string, MarketKind>> = {
  'stock/shares': 'shares',
  'currency/selt': 'currency',
  'stock/index': 'index',
  'stock/bonds': 'bonds',
  'futures/forts': 'futures',
  'futures/options': 'options',
};

export const SUPPORTED_MARKETS = Object.keys(KIND_OF);

export function marketKindOf(engine: string, market: string): MarketKind | null {
  return KIND_OF[`${engine}/${market}`] ?? null;
}

/** One board to poll: where it is and which of its securities (docs/configuration.md, MOEX_SOURCES). */
export interface BoardSource {
  engine: string;
  market: string;
  board: string;
  kind: MarketKind;
  tickers: readonly string[] | 'ALL';
  /** Options boards: which series of the whole board (`tickers` is then ALL); absent: `tickers` alone. */
  optionSelection?: OptionSelection;
}

/** Every numeric field a quote of this market can have (its columns, the change, a maturity). */
export function fieldsOfMarket(kind: MarketKind): NumericField[] {
  const spec = MARKETS[kind];
  const fields = Object.keys(spec.columns) as NumericField[];
  fields.push('changePercent');
  if (spec.maturity) fields.push('daysToMaturity');
  return fields;
}

/**
 * Exactly the columns a quote of this market reads (parse.ts), per block: what a board request
 * names in `securities.columns` / `marketdata.columns`, so ISS sends nothing else. SECID keys the
 * rows; BOARDID is left out because a board's answer has only that board's rows.
 */
export function boardColumns(kind: MarketKind): BlockColumns {
  const spec = MARKETS[kind];
  const of = (block: ColumnSource['block']) =>
    Object.values(spec.columns)
      .filter((c) => c.block === block)
      .map((c) => c.column);
  return {
    securities: ['SECID', 'SHORTNAME', ...of('securities'), ...(spec.maturity ? ['MATDATE'] : []), ...(spec.optionSeries ? OPTION_CONTRACT_COLUMNS : [])],
    marketdata: ['SECID', ...of('marketdata'), 'SYSTIME', 'UPDATETIME', ...(spec.tradingStatus ? ['TRADINGSTATUS'] : [])],
  };
}
