import type { SimBoard } from './boards';
import { round, type SecurityState } from './market';
import { moscowDateTime } from './moscow-time';

/** ISS answer shapes the simulator can be asked for (docs/iss.md, and the faults of issue #2). */
export interface ResponseShape {
  /** Columns in another order, with columns ISS may add tomorrow. */
  reorderColumns: boolean;
  /** Leave the marketdata block out (a broken answer). */
  dropMarketdata: boolean;
  /** Include ISS's per-column metadata (what `iss.meta=on`, the ISS default, returns). */
  withMetadata: boolean;
  /** Blocks asked for with `iss.only`; null = all. */
  only: ReadonlySet<string> | null;
  /** `securities.columns` / `marketdata.columns`: only these columns, in this order. */
  columns: { securities: readonly string[] | null; marketdata: readonly string[] | null };
}

export type Row = Record<string, string | number | null>;

function securitiesRow(s: SecurityState, board: string): Row {
  const { listing } = s;
  return {
    SECID: listing.secid,
    BOARDID: board,
    SHORTNAME: listing.shortName,
    PREVPRICE: s.prevPrice,
    LOTSIZE: listing.lotSize,
    FACEVALUE: 1,
    STATUS: 'A',
    BOARDNAME: 'Т+: Акции и ДР - безадрес.',
    DECIMALS: s.decimals,
    SECNAME: listing.secName,
    REMARKS: null,
    MARKETCODE: 'FNDT',
    INSTRID: 'EQIN',
    SECTORID: null,
    MINSTEP: 10 ** -s.decimals,
    PREVWAPRICE: s.prevPrice,
    FACEUNIT: 'SUR',
    PREVDATE: null,
    ISSUESIZE: 21586948000,
    ISIN: `RU000${listing.secid.padEnd(7, '0')}`,
    LATNAME: listing.secid,
    REGNUMBER: null,
    PREVLEGALCLOSEPRICE: s.prevPrice,
    CURRENCYID: 'SUR',
    SECTYPE: '1',
    LISTLEVEL: 1,
    SETTLEDATE: null,
  };
}

function marketdataRow(s: SecurityState, board: string, systime: string, updatetime: string): Row {
  const trading = s.session === 'trading';
  const traded = s.session !== 'pre-open';
  const waprice = s.volume > 0 ? Math.round((s.value / s.volume) * 10 ** s.decimals) / 10 ** s.decimals : null;
  const time = updatetime;
  return {
    SECID: s.listing.secid,
    BOARDID: board,
    // After the close the order book is empty; before the first trade there is no price yet.
    BID: trading ? s.bid : null,
    BIDDEPTH: null,
    OFFER: trading ? s.offer : null,
    OFFERDEPTH: null,
    SPREAD: trading ? Math.round((s.offer - s.bid) * 10 ** s.decimals) / 10 ** s.decimals : 0,
    BIDDEPTHT: trading ? 12000 : 0,
    OFFERDEPTHT: trading ? 15000 : 0,
    OPEN: traded ? s.open : null,
    LOW: traded ? s.low : null,
    HIGH: traded ? s.high : null,
    LAST: traded ? s.last : null,
    LASTCHANGE: traded ? Math.round((s.last - s.prevPrice) * 100) / 100 : 0,
    LASTCHANGEPRCNT: traded ? Math.round((s.last / s.prevPrice - 1) * 1e4) / 100 : 0,
    QTY: traded ? 10 : 0,
    VALUE: traded ? s.last * 10 * s.listing.lotSize : 0,
    VALUE_USD: null,
    WAPRICE: traded ? waprice : null,
    LASTCNGTOLASTWAPRICE: 0,
    WAPTOPREVWAPRICEPRCNT: 0,
    WAPTOPREVWAPRICE: 0,
    CLOSEPRICE: s.session === 'closed' ? s.last : null,
    MARKETPRICETODAY: traded ? waprice : null,
    MARKETPRICE: s.prevPrice,
    LASTTOPREVPRICE: traded ? Math.round((s.last / s.prevPrice - 1) * 1e4) / 100 : 0,
    NUMTRADES: traded ? s.trades : 0,
    VOLTODAY: traded ? s.volume : 0,
    VALTODAY: traded ? Math.round(s.value) : 0,
    VALTODAY_USD: traded ? Math.round(s.value / 90) : 0,
    ETFSETTLEPRICE: null,
    TRADINGSTATUS: trading ? 'T' : 'N',
    UPDATETIME: time,
    LASTBID: null,
    LASTOFFER: null,
    LCLOSEPRICE: null,
    LCURRENTPRICE: traded ? s.last : null,
    MARKETPRICE2: null,
    NUMBIDS: null,
    NUMOFFERS: null,
    CHANGE: traded ? Math.round((s.last - s.prevPrice) * 100) / 100 : 0,
    TIME: time,
    HIGHBID: null,
    LOWOFFER: null,
    PRICEMINUSPREVWAPRICE: 0,
    OPENPERIODPRICE: traded ? s.open : null,
    SEQNUM: Number(systime.replace(/\D/g, '')),
    SYSTIME: systime,
    CLOSINGAUCTIONPRICE: null,
    CLOSINGAUCTIONVOLUME: null,
    ISSUECAPITALIZATION: null,
    ISSUECAPITALIZATION_UPDATETIME: null,
    ETFSETTLECURRENCY: null,
    VALTODAY_RUR: traded ? Math.round(s.value) : 0,
    TRADINGSESSION: trading ? '1' : null,
    TRENDISSUECAPITALIZATION: null,
  };
}

/** An index: value columns instead of prices, no order book, no TRADINGSTATUS (real SNDX/RTSI answers). */
function indexRows(s: SecurityState, board: string, systime: string, updatetime: string): [Row, Row] {
  const { listing } = s;
  const change = round(s.last - s.prevPrice, 2);
  return [
    {
      SECID: listing.secid,
      BOARDID: board,
      NAME: listing.secName,
      DECIMALS: 2,
      SHORTNAME: listing.shortName,
      ANNUALHIGH: round(s.prevPrice * 1.2, 2),
      ANNUALLOW: round(s.prevPrice * 0.8, 2),
      CURRENCYID: 'RUB',
      CALCMODE: null,
    },
    {
      SECID: listing.secid,
      BOARDID: board,
      LASTVALUE: s.prevPrice,
      OPENVALUE: s.open,
      CURRENTVALUE: s.last,
      LASTCHANGE: change,
      LASTCHANGETOOPENPRC: round((s.last / s.open - 1) * 100, 2),
      LASTCHANGETOOPEN: round(s.last - s.open, 2),
      UPDATETIME: updatetime,
      LASTCHANGEPRC: round((s.last / s.prevPrice - 1) * 100, 2),
      VALTODAY: Math.round(s.value),
      MONTHCHANGEPRC: 1.2,
      YEARCHANGEPRC: -3.4,
      SEQNUM: Number(systime.replace(/\D/g, '')),
      SYSTIME: systime,
      TIME: updatetime,
      VALTODAY_USD: Math.round(s.value / 90),
      LASTCHANGEBP: Math.round(change * 100),
      MONTHCHANGEBP: 3500,
      YEARCHANGEBP: -10200,
      CAPITALIZATION: Math.round(s.last * 2.1e9),
      CAPITALIZATION_USD: Math.round((s.last * 2.1e9) / 90),
      HIGH: s.high,
      LOW: s.low,
      TRADEDATE: systime.slice(0, 10),
    },
  ];
}

/** A bond: prices in percent of face value, plus yield, duration, coupon and maturity (real TQOB/TQCB answers). */
function bondRows(s: SecurityState, board: SimBoard, systime: string, updatetime: string): [Row, Row] {
  const terms = board.bonds![s.listing.secid]!;
  const years = Math.max(0.05, (Date.parse(terms.maturity) - Date.parse(systime.slice(0, 10))) / (365.25 * 86_400_000));
  // Yield to maturity, roughly: the coupon on the price plus the pull to par spread over the years left.
  const yieldAt = (price: number) => round(terms.couponRate / (price / 100) + ((100 - price) / price / years) * 100, 2);
  const [sec, md] = sharesRows(s, board.board, systime, updatetime);
  return [
    {
      ...sec,
      FACEVALUE: 1000,
      FACEUNIT: 'SUR',
      COUPONVALUE: terms.coupon,
      NEXTCOUPON: terms.nextCoupon,
      ACCRUEDINT: round(terms.coupon * 0.37, 2),
      MATDATE: terms.maturity,
      COUPONPERIOD: 182,
      COUPONPERCENT: terms.couponRate,
      YIELDATPREVWAPRICE: yieldAt(s.prevPrice),
      SECTYPE: '3',
    },
    {
      ...md,
      YIELD: yieldAt(s.last),
      DURATION: Math.round(years * 365 * 0.78),
      YIELDATWAPRICE: md.WAPRICE === null ? null : yieldAt(Number(md.WAPRICE)),
      YIELDTOPREVYIELD: 0,
      CLOSEYIELD: 0,
    },
  ];
}

/** A future: settlement prices and open interest; no TRADINGSTATUS column (real RFUD answers). */
function futuresRows(s: SecurityState, board: SimBoard, systime: string, updatetime: string): [Row, Row] {
  const terms = board.futures![s.listing.secid]!;
  const traded = s.session !== 'pre-open';
  const trading = s.session === 'trading';
  const openInterest = terms.openInterest + (s.trades % 5000);
  return [
    {
      SECID: s.listing.secid,
      BOARDID: board.board,
      SHORTNAME: s.listing.shortName,
      SECNAME: s.listing.secName,
      PREVSETTLEPRICE: s.prevPrice,
      DECIMALS: s.decimals,
      MINSTEP: 10 ** -s.decimals,
      LASTTRADEDATE: terms.lastTradeDate,
      LASTDELDATE: terms.lastTradeDate,
      SECTYPE: terms.asset,
      LATNAME: s.listing.shortName,
      ASSETCODE: terms.asset,
      PREVOPENPOSITION: terms.openInterest,
      LOTVOLUME: 1000,
      INITIALMARGIN: round(s.prevPrice * 0.12, 2),
      HIGHLIMIT: round(s.prevPrice * 0.06, 2),
      LOWLIMIT: round(s.prevPrice * 0.06, 2),
      STEPPRICE: 1,
    },
    {
      SECID: s.listing.secid,
      BOARDID: board.board,
      BID: trading ? s.bid : null,
      OFFER: trading ? s.offer : null,
      SPREAD: trading ? round(s.offer - s.bid, s.decimals) : 0,
      OPEN: traded ? s.open : null,
      HIGH: traded ? s.high : null,
      LOW: traded ? s.low : null,
      LAST: traded ? s.last : null,
      QUANTITY: 3,
      LASTCHANGE: traded ? round(s.last - s.prevPrice, s.decimals) : 0,
      SETTLEPRICE: traded ? s.last : null,
      SETTLETOPREVSETTLE: traded ? round(s.last - s.prevPrice, s.decimals) : 0,
      OPENPOSITION: openInterest,
      NUMTRADES: traded ? s.trades : 0,
      VOLTODAY: traded ? s.volume : 0,
      VALTODAY: traded ? Math.round(s.value) : 0,
      VALTODAY_USD: traded ? Math.round(s.value / 90) : 0,
      UPDATETIME: updatetime,
      LASTCHANGEPRCNT: 0,
      BIDDEPTH: null,
      BIDDEPTHT: null,
      NUMBIDS: null,
      OFFERDEPTH: null,
      OFFERDEPTHT: null,
      NUMOFFERS: null,
      TIME: updatetime,
      SETTLETOPREVSETTLEPRC: traded ? round((s.last / s.prevPrice - 1) * 100, 2) : 0,
      SEQNUM: Number(systime.replace(/\D/g, '')),
      SYSTIME: systime,
      TRADEDATE: systime.slice(0, 10),
      LASTTOPREVPRICE: traded ? round((s.last / s.prevPrice - 1) * 100, 2) : 0,
      OICHANGE: openInterest - terms.openInterest,
    },
  ];
}

function sharesRows(s: SecurityState, board: string, systime: string, updatetime: string): [Row, Row] {
  return [securitiesRow(s, board), marketdataRow(s, board, systime, updatetime)];
}

/** The two rows of one security, in its market's real column set. */
function rowsFor(s: SecurityState, board: SimBoard, boardId: string, systime: string, updatetime: string): [Row, Row] {
  switch (board.kind) {
    case 'index':
      return indexRows(s, boardId, systime, updatetime);
    case 'bonds':
      return bondRows(s, board, systime, updatetime);
    case 'futures':
      return futuresRows(s, board, systime, updatetime);
    default:
      return sharesRows(s, boardId, systime, updatetime);
  }
}

const EXTRA_COLUMNS: Row = { NEWFIELD: 'x', RISKINDICATOR: 2.5, NOTE: null };

type Cell = Row[string];

/** The columns a block answers with: those asked for, in the order asked (real captures show it), names it does not have left out. */
function columnsOf(names: readonly string[], shape: ResponseShape, filter: readonly string[] | null): string[] {
  let columns = filter ? filter.filter((c) => names.includes(c)) : [...names];
  if (shape.reorderColumns) columns = [...Object.keys(EXTRA_COLUMNS), ...columns.reverse()];
  return columns;
}

function withMetadata(columns: string[], data: Cell[][], typeOf: (column: string) => Cell | undefined, shape: ResponseShape) {
  if (!shape.withMetadata) return { columns, data };
  const metadata = Object.fromEntries(columns.map((c) => [c, { type: typeof typeOf(c) === 'number' ? 'double' : 'string' }]));
  return { metadata, columns, data };
}

function block(rows: Row[], template: Row, shape: ResponseShape, filter: readonly string[] | null) {
  const columns = columnsOf(Object.keys(template), shape, filter);
  const data = rows.map((row) => columns.map((c) => row[c] ?? EXTRA_COLUMNS[c] ?? null));
  return withMetadata(columns, data, (c) => template[c], shape);
}

/**
 * A block of rows given as arrays in the order of `names` (a board of 30,000 rows: no object per
 * row); `template` is one such row, for the metadata's types. Rows are sent as they are when the
 * shape keeps every column in order.
 */
export function arrayBlock(names: readonly string[], rows: Cell[][], template: readonly Cell[], shape: ResponseShape, filter: readonly string[] | null) {
  const columns = columnsOf(names, shape, filter);
  const positions = columns.map((c) => names.indexOf(c));
  const asGiven = positions.length === names.length && positions.every((p, i) => p === i);
  const data = asGiven ? rows : rows.map((row) => positions.map((p, i) => (p >= 0 ? row[p]! : (EXTRA_COLUMNS[columns[i]!] ?? null))));
  return withMetadata(columns, data, (c) => (names.includes(c) ? template[names.indexOf(c)] : EXTRA_COLUMNS[c]), shape);
}

/** How far a board's UPDATETIME runs behind SYSTIME: indices are computed by the exchange and published as they are, ISS does not delay them. */
export function feedDelayOf(board: Pick<SimBoard, 'kind'> | undefined, delaySeconds: number): number {
  return board?.kind === 'index' ? 0 : delaySeconds;
}

/**
 * The ISS JSON for the given securities of one board, as `securities.json` answers it with SYSTIME `at`.
 * `delaySeconds` is the feed's delay: UPDATETIME and TIME run that far behind SYSTIME, as on ISS's
 * anonymous feed (15 minutes); 0 is the real-time feed of a subscriber.
 */
export function boardSecuritiesJson(states: readonly SecurityState[], board: SimBoard, boardId: string, at: Date, shape: ResponseShape, delaySeconds = 0) {
  const systime = moscowDateTime(at);
  const delay = feedDelayOf(board, delaySeconds);
  const updatetime = moscowDateTime(new Date(at.getTime() - delay * 1000)).slice(11);
  const rows = states.map((s) => rowsFor(s, board, boardId, systime, updatetime));
  const secRows = rows.map(([sec]) => sec);
  const mdRows = rows.map(([, md]) => md);
  // Column lists come from a template row so an empty board still answers with its columns.
  const template = rows[0] ?? rowsFor(templateState(board), board, boardId, systime, updatetime);
  return boardAnswer(
    (filter) => block(secRows, template[0], shape, filter),
    (filter) => block(mdRows, template[1], shape, filter),
    shape,
  );
}

/** A board's `securities` and `marketdata` blocks as the shape asks for them, each made for its `*.columns` filter. */
export function boardAnswer(
  securities: (filter: readonly string[] | null) => unknown,
  marketdata: (filter: readonly string[] | null) => unknown,
  shape: ResponseShape,
): Record<string, unknown> {
  const answer: Record<string, unknown> = {};
  const wants = (name: string) => shape.only === null || shape.only.has(name);
  if (wants('securities')) answer.securities = securities(shape.columns.securities);
  if (wants('marketdata') && !shape.dropMarketdata) answer.marketdata = marketdata(shape.columns.marketdata);
  return answer;
}

function templateState(board: SimBoard): SecurityState {
  const listing = board.listings[0] ?? { secid: '', shortName: '', secName: '', startPrice: 1, lotSize: 1 };
  return { listing, decimals: 2, session: 'trading', prevPrice: 1, last: 1, open: 1, high: 1, low: 1, bid: 1, offer: 1, volume: 0, value: 0, trades: 0 };
}
