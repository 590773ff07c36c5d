import { algopackRequest, futoiRequest, type AlgopackMarket, type DatasetPage, type IssRequest } from '../iss-requests';
import type { ValueKind } from '../markets';

/**
 * ALGOPACK "super candles" and futures open interest, as data: which datasets exist on which
 * market, where ISS serves them, and which of their columns the stack exports to Prometheus. Every
 * output reads this table (the quote fields' counterpart is lib/moex/quote.ts NUMERIC_FIELDS).
 * Columns and example rows: MOEX's OpenAPI description (test/fixtures/iss/real/algopack/README.md).
 */
export type { AlgopackMarket };
export type AlgopackDataset = 'tradestats' | 'orderstats' | 'obstats' | 'futoi';

export const ALGOPACK_MARKETS: readonly AlgopackMarket[] = ['eq', 'fo', 'fx'];

/** One column of a dataset that becomes a Prometheus gauge `moex_algopack_<dataset>_<column>`. */
export interface ExportedColumn {
  /** The ISS column, lower case as ISS sends it. */
  column: string;
  /** What a cell must be; a cell outside it is counted and left out. */
  kind: ValueKind;
  help: string;
}

export interface DatasetSpec {
  dataset: AlgopackDataset;
  /** The markets ISS publishes it for (futures order statistics do not exist). */
  markets: readonly AlgopackMarket[];
  /** ISS block holding the rows (`data`, with `data.cursor`; futoi: `futoi`, without a cursor). */
  block: string;
  /** Column naming the instrument: SECID, or futoi's asset code (`Si`, `SR`). */
  tickerColumn: string;
  /** A second key of a row: futoi has one row per client group (`FIZ` persons, `YUR` companies). */
  groupColumn: string | null;
  /** The ISS request for one page of every instrument of a market (lib/moex/iss-requests.ts). */
  request(issUrl: string, market: AlgopackMarket, page: DatasetPage): IssRequest;
  exported: readonly ExportedColumn[];
}

const col = (column: string, kind: ValueKind, help: string): ExportedColumn => ({ column, kind, help });

const superCandles = (dataset: Exclude<AlgopackDataset, 'futoi'>) => (issUrl: string, market: AlgopackMarket, page: DatasetPage) =>
  algopackRequest(issUrl, market, dataset, null, page);

/** The documented subset each dataset exports to Prometheus (InfluxDB and Graphite get every numeric column). */
export const DATASETS: Readonly<Record<AlgopackDataset, DatasetSpec>> = {
  tradestats: {
    dataset: 'tradestats',
    markets: ['eq', 'fo', 'fx'],
    block: 'data',
    tickerColumn: 'secid',
    groupColumn: null,
    request: superCandles('tradestats'),
    exported: [
      col('pr_close', 'price', 'Last trade price of the 5-minute bar'),
      col('pr_vwap', 'price', 'Volume-weighted average price of the bar'),
      col('vol_b', 'amount', 'Volume bought by aggressive buyers in the bar, lots'),
      col('vol_s', 'amount', 'Volume sold by aggressive sellers in the bar, lots'),
      col('val_b', 'amount', 'Value bought by aggressive buyers in the bar, RUB'),
      col('val_s', 'amount', 'Value sold by aggressive sellers in the bar, RUB'),
      col('trades_b', 'count', 'Trades initiated by buyers in the bar'),
      col('trades_s', 'count', 'Trades initiated by sellers in the bar'),
      col('disb', 'signed', 'Order-flow disbalance (vol_b - vol_s) / (vol_b + vol_s): 1 all buys, -1 all sells'),
      col('oi_close', 'amount', 'Futures open interest at the end of the bar, contracts (futures only)'),
    ],
  },
  orderstats: {
    dataset: 'orderstats',
    markets: ['eq', 'fx'],
    block: 'data',
    tickerColumn: 'secid',
    groupColumn: null,
    request: superCandles('orderstats'),
    exported: [
      col('put_orders_b', 'count', 'Buy orders placed in the bar'),
      col('put_orders_s', 'count', 'Sell orders placed in the bar'),
      col('put_vol_b', 'amount', 'Volume of buy orders placed in the bar, lots'),
      col('put_vol_s', 'amount', 'Volume of sell orders placed in the bar, lots'),
      col('cancel_orders_b', 'count', 'Buy orders cancelled in the bar'),
      col('cancel_orders_s', 'count', 'Sell orders cancelled in the bar'),
      col('cancel_vol_b', 'amount', 'Volume of buy orders cancelled in the bar, lots'),
      col('cancel_vol_s', 'amount', 'Volume of sell orders cancelled in the bar, lots'),
    ],
  },
  obstats: {
    dataset: 'obstats',
    markets: ['eq', 'fo', 'fx'],
    block: 'data',
    tickerColumn: 'secid',
    groupColumn: null,
    request: superCandles('obstats'),
    exported: [
      col('spread_bbo', 'amount', 'Mean best bid/offer spread in the bar, basis points (shares)'),
      col('spread_l1', 'amount', 'Mean spread at the first book level, basis points (futures, currency)'),
      col('mid_price', 'price', 'Mean mid price of the book (futures, currency)'),
      col('imbalance_vol_bbo', 'signed', 'Volume imbalance at the best bid/offer, -1..1 (shares)'),
      col('imbalance_vol', 'signed', 'Volume imbalance of the whole book, -1..1 (shares)'),
      col('levels_b', 'count', 'Mean number of bid levels in the book'),
      col('levels_s', 'count', 'Mean number of offer levels in the book'),
    ],
  },
  futoi: {
    dataset: 'futoi',
    markets: ['fo'],
    block: 'futoi',
    tickerColumn: 'ticker',
    groupColumn: 'clgroup',
    request: (issUrl, _market, page) => futoiRequest(issUrl, null, page),
    exported: [
      col('pos', 'signed', 'Net open position of the client group, contracts'),
      col('pos_long', 'amount', 'Long open positions of the client group, contracts'),
      col('pos_short', 'signed', 'Short open positions of the client group, contracts (negative)'),
      col('pos_long_num', 'count', 'Clients of the group holding long positions'),
      col('pos_short_num', 'count', 'Clients of the group holding short positions'),
    ],
  },
};

/** `market/dataset` pairs ISS publishes: the values MOEX_ALGOPACK accepts. */
export const ALGOPACK_FEEDS: readonly string[] = Object.values(DATASETS).flatMap(({ dataset, markets }) => markets.map((market) => `${market}/${dataset}`));

/** One dataset of one market. */
export interface AlgopackFeed {
  market: AlgopackMarket;
  dataset: AlgopackDataset;
}

export const feedName = ({ market, dataset }: AlgopackFeed): string => `${market}/${dataset}`;

/** The Prometheus gauge of an exported column. */
export const algopackMetricName = (dataset: AlgopackDataset, column: string): string => `moex_algopack_${dataset}_${column}`;

/**
 * Columns that name or time a row rather than measure it: never a field. (futoi's `sess_id` and
 * `seqnum` are numbers, but identifiers.)
 */
export const KEY_COLUMNS: ReadonlySet<string> = new Set([
  'tradedate',
  'tradetime',
  'secid',
  'ticker',
  'asset_code',
  'systime',
  'clgroup',
  'sess_id',
  'seqnum',
  'trade_session_date',
]);

/** ISS's page size for these datasets (`data.cursor` PAGESIZE, the `limit` maximum). */
export const ALGOPACK_PAGE_ROWS = 1000;
