import { formatMoscowTime } from './moscow-time';
import type { TickerSelection } from './parse';

/**
 * Every ISS request this project makes, built in one place: the URL, what kind of request it is
 * (the `kind` label of moex_iss_requests_total) and the blocks the answer must carry. An answer
 * without any of its blocks is an entitlement answer (iss-client.ts). Pure.
 */
export type IssRequestKind = 'board' | 'candles' | 'calendar' | 'dataset' | 'calculator';

export const ISS_REQUEST_KINDS: readonly IssRequestKind[] = ['board', 'candles', 'calendar', 'dataset', 'calculator'];

export interface IssRequest {
  url: string;
  kind: IssRequestKind;
  /**
   * The data blocks asked for (`iss.only`); at least one must be in a JSON answer. None: the answer
   * is a JSON array (the Options Calculator's lists, which are plain JSON, not ISS blocks).
   */
  blocks: readonly string[];
}

export interface BoardLocation {
  issUrl: string;
  engine: string;
  market: string;
  board: string;
}

/** The columns to ask for per block (`<block>.columns`). */
export interface BlockColumns {
  securities: readonly string[];
  marketdata: readonly string[];
}

const BOARD_BLOCKS = ['securities', 'marketdata'] as const;

/** ISS answers at most this many SECIDs of a `securities=` list (its reference); the rest are silently left out. */
export const ISS_MAX_FILTER_SECURITIES = 10;

/**
 * From this many listed tickers of one board on, the whole board in one request costs fewer bytes
 * on the wire than lists of ISS_MAX_FILTER_SECURITIES (measured: bench part 5, docs/iss.md).
 */
export const WHOLE_BOARD_FROM_TICKERS = 80;

const segment = encodeURIComponent;

/** Query text with ISS's comma lists left readable (ISS takes them either way). */
function query(params: Record<string, string | undefined>): string {
  const defined = Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return new URLSearchParams(defined).toString().replace(/%2C/g, ',');
}

/**
 * One board's snapshot: `securities.json` with the blocks a quote reads, for the listed tickers
 * (`securities=`) or the whole board (`ALL`), narrowed to `columns` when given.
 */
export function boardSnapshotRequest(location: BoardLocation, tickers: TickerSelection, columns: BlockColumns | null = null): IssRequest {
  const { issUrl, engine, market, board } = location;
  const params = query({
    'iss.meta': 'off',
    'iss.only': BOARD_BLOCKS.join(','),
    securities: tickers === 'ALL' ? undefined : tickers.join(','),
    'securities.columns': columns?.securities.join(','),
    'marketdata.columns': columns?.marketdata.join(','),
  });
  return {
    url: `${issUrl}/engines/${segment(engine)}/markets/${segment(market)}/boards/${segment(board)}/securities.json?${params}`,
    kind: 'board',
    blocks: BOARD_BLOCKS,
  };
}

/**
 * The requests of one board's poll: one for `ALL` or for up to ISS_MAX_FILTER_SECURITIES tickers;
 * for a longer list either lists of that many (in the order given) or, from
 * WHOLE_BOARD_FROM_TICKERS tickers on, the whole board, which the parser filters to the list.
 */
export function boardSnapshotRequests(location: BoardLocation, tickers: TickerSelection, columns: BlockColumns | null = null): IssRequest[] {
  if (tickers === 'ALL' || tickers.length <= ISS_MAX_FILTER_SECURITIES) return [boardSnapshotRequest(location, tickers, columns)];
  if (tickers.length >= WHOLE_BOARD_FROM_TICKERS) return [boardSnapshotRequest(location, 'ALL', columns)];
  const requests: IssRequest[] = [];
  for (let at = 0; at < tickers.length; at += ISS_MAX_FILTER_SECURITIES) {
    requests.push(boardSnapshotRequest(location, tickers.slice(at, at + ISS_MAX_FILTER_SECURITIES), columns));
  }
  return requests;
}

/** One page (500 rows) of one security's candles from `from` (Moscow time on the wire), `start` rows in. */
export function candlesRequest(location: BoardLocation, secid: string, from: Date, start: number, interval = 1): IssRequest {
  const { issUrl, engine, market, board } = location;
  const params = query({
    'iss.meta': 'off',
    'iss.only': 'candles',
    interval: String(interval),
    from: formatMoscowTime(from),
    start: start > 0 ? String(start) : undefined,
  });
  const path = `/engines/${segment(engine)}/markets/${segment(market)}/boards/${segment(board)}/securities/${segment(secid)}/candles.json`;
  return { url: `${issUrl}${path}?${params}`, kind: 'candles', blocks: ['candles'] };
}

/** An engine's trading calendar: `timetable` (week days) and `dailytable` (holidays, moved days). */
export function engineCalendarRequest(issUrl: string, engine: string): IssRequest {
  const blocks = ['timetable', 'dailytable'];
  return { url: `${issUrl}/engines/${segment(engine)}.json?${query({ 'iss.meta': 'off', 'iss.only': blocks.join(',') })}`, kind: 'calendar', blocks };
}

export type AlgopackMarket = 'eq' | 'fo' | 'fx';
export type AlgopackDataset = 'tradestats' | 'orderstats' | 'obstats';

/** Paging and day of a dataset request (ISS pages datasets by 1000 rows). */
export interface DatasetPage {
  /** `YYYY-MM-DD`; ISS's default is the latest trading day. */
  date?: string;
  /** Only the newest bar of each security. */
  latest?: boolean;
  start?: number;
}

/** An ALGOPACK super-candle dataset of one market, for every security or one SECID. */
export function algopackRequest(
  issUrl: string,
  market: AlgopackMarket,
  dataset: AlgopackDataset,
  secid: string | null = null,
  page: DatasetPage = {},
): IssRequest {
  const path = `/datashop/algopack/${market}/${dataset}${secid === null ? '' : `/${segment(secid)}`}.json`;
  return { url: `${issUrl}${path}?${datasetQuery(page, ['data', 'data.cursor'])}`, kind: 'dataset', blocks: ['data'] };
}

/** FUTOI: open interest of futures by holder group, for every asset or one (`Si`, `BR`...). */
export function futoiRequest(issUrl: string, asset: string | null = null, page: DatasetPage = {}): IssRequest {
  const path = `/analyticalproducts/futoi/securities${asset === null ? '' : `/${segment(asset)}`}.json`;
  return { url: `${issUrl}${path}?${datasetQuery(page, ['futoi'])}`, kind: 'dataset', blocks: ['futoi'] };
}

function datasetQuery(page: DatasetPage, only: readonly string[]): string {
  return query({
    'iss.meta': 'off',
    'iss.only': only.join(','),
    date: page.date,
    latest: page.latest ? '1' : undefined,
    start: page.start ? String(page.start) : undefined,
  });
}

/** MOEX's Options Calculator (OpenAPI 3.1, test/fixtures/iss/real/options/): plain JSON beside ISS, no login. */
const OPTION_CALC = '/apps/option-calc/v1';

/** An asset's option series (codes, expiries, central strikes): a JSON array. */
export function optionSeriesListRequest(issUrl: string, asset: string): IssRequest {
  return { url: `${issUrl}${OPTION_CALC}/assets/${segment(asset)}/optionseries`, kind: 'calculator', blocks: [] };
}

/** One option series' board: greeks, theoretical price and implied volatility of each strike's call and put. */
export function optionBoardRequest(issUrl: string, asset: string, seriesCode: string): IssRequest {
  return {
    url: `${issUrl}${OPTION_CALC}/assets/${segment(asset)}/optionseries/${segment(seriesCode)}/optionboard`,
    kind: 'calculator',
    blocks: ['call', 'put'],
  };
}
