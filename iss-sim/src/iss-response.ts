import type { SecurityState } from './market';

/** ISS answer shapes the simulator can be asked for (CONTRACT §3 and the faults of issue #2). */
export interface ResponseShape {
  /** Columns in another order, with columns ISS may add tomorrow. */
  reorderColumns: boolean;
  /** Leave the marketdata block out (a broken answer). */
  dropMarketdata: boolean;
  /** Include ISS's per-column metadata (what `iss.meta=on`, the ISS default, returns). */
  withMetadata: boolean;
  /** Blocks asked for with `iss.only`; null = all. */
  only: ReadonlySet<string> | null;
  /** `securities.columns` / `marketdata.columns` filters. */
  columns: { securities: readonly string[] | null; marketdata: readonly string[] | null };
}

type Row = Record<string, string | number | null>;

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as ISS writes SYSTIME: Moscow time (UTC+3), `YYYY-MM-DD HH:MM:SS`. */
export function moscowSystime(at: Date): string {
  const m = new Date(at.getTime() + 3 * 3600_000);
  return `${m.getUTCFullYear()}-${pad(m.getUTCMonth() + 1)}-${pad(m.getUTCDate())} ${pad(m.getUTCHours())}:${pad(m.getUTCMinutes())}:${pad(m.getUTCSeconds())}`;
}

function securitiesRow(s: SecurityState, board: string): Row {
  const { listing } = s;
  return {
    SECID: listing.secid, BOARDID: board, SHORTNAME: listing.shortName, PREVPRICE: s.prevPrice, LOTSIZE: listing.lotSize,
    FACEVALUE: 1, STATUS: 'A', BOARDNAME: 'Т+: Акции и ДР - безадрес.', DECIMALS: s.decimals, SECNAME: listing.secName,
    REMARKS: null, MARKETCODE: 'FNDT', INSTRID: 'EQIN', SECTORID: null, MINSTEP: 10 ** -s.decimals, PREVWAPRICE: s.prevPrice,
    FACEUNIT: 'SUR', PREVDATE: null, ISSUESIZE: 21586948000, ISIN: `RU000${listing.secid.padEnd(7, '0')}`, LATNAME: listing.secid,
    REGNUMBER: null, PREVLEGALCLOSEPRICE: s.prevPrice, CURRENCYID: 'SUR', SECTYPE: '1', LISTLEVEL: 1, SETTLEDATE: null,
  };
}

function marketdataRow(s: SecurityState, board: string, systime: string, updatetime: string): Row {
  const trading = s.session === 'trading';
  const traded = s.session !== 'pre-open';
  const waprice = s.volume > 0 ? Math.round((s.value / s.volume) * 10 ** s.decimals) / 10 ** s.decimals : null;
  const time = updatetime;
  return {
    SECID: s.listing.secid, BOARDID: board,
    // After the close the order book is empty; before the first trade there is no price yet.
    BID: trading ? s.bid : null, BIDDEPTH: null, OFFER: trading ? s.offer : null, OFFERDEPTH: null,
    SPREAD: trading ? Math.round((s.offer - s.bid) * 10 ** s.decimals) / 10 ** s.decimals : 0,
    BIDDEPTHT: trading ? 12000 : 0, OFFERDEPTHT: trading ? 15000 : 0,
    OPEN: traded ? s.open : null, LOW: traded ? s.low : null, HIGH: traded ? s.high : null, LAST: traded ? s.last : null,
    LASTCHANGE: traded ? Math.round((s.last - s.prevPrice) * 100) / 100 : 0,
    LASTCHANGEPRCNT: traded ? Math.round((s.last / s.prevPrice - 1) * 1e4) / 100 : 0,
    QTY: traded ? 10 : 0, VALUE: traded ? s.last * 10 * s.listing.lotSize : 0, VALUE_USD: null,
    WAPRICE: traded ? waprice : null, LASTCNGTOLASTWAPRICE: 0, WAPTOPREVWAPRICEPRCNT: 0, WAPTOPREVWAPRICE: 0,
    CLOSEPRICE: s.session === 'closed' ? s.last : null, MARKETPRICETODAY: traded ? waprice : null, MARKETPRICE: s.prevPrice,
    LASTTOPREVPRICE: traded ? Math.round((s.last / s.prevPrice - 1) * 1e4) / 100 : 0,
    NUMTRADES: traded ? s.trades : 0, VOLTODAY: traded ? s.volume : 0, VALTODAY: traded ? Math.round(s.value) : 0,
    VALTODAY_USD: traded ? Math.round(s.value / 90) : 0, ETFSETTLEPRICE: null,
    TRADINGSTATUS: trading ? 'T' : 'N', UPDATETIME: time, LASTBID: null, LASTOFFER: null, LCLOSEPRICE: null,
    LCURRENTPRICE: traded ? s.last : null, MARKETPRICE2: null, NUMBIDS: null, NUMOFFERS: null,
    CHANGE: traded ? Math.round((s.last - s.prevPrice) * 100) / 100 : 0, TIME: time, HIGHBID: null, LOWOFFER: null,
    PRICEMINUSPREVWAPRICE: 0, OPENPERIODPRICE: traded ? s.open : null, SEQNUM: Number(systime.replace(/\D/g, '')),
    SYSTIME: systime, CLOSINGAUCTIONPRICE: null, CLOSINGAUCTIONVOLUME: null, ISSUECAPITALIZATION: null,
    ISSUECAPITALIZATION_UPDATETIME: null, ETFSETTLECURRENCY: null, VALTODAY_RUR: traded ? Math.round(s.value) : 0,
    TRADINGSESSION: trading ? '1' : null, TRENDISSUECAPITALIZATION: null,
  };
}

const EXTRA_COLUMNS: Row = { NEWFIELD: 'x', RISKINDICATOR: 2.5, NOTE: null };

function block(rows: Row[], template: Row, shape: ResponseShape, filter: readonly string[] | null) {
  let columns = Object.keys(template);
  if (shape.reorderColumns) columns = [...Object.keys(EXTRA_COLUMNS), ...columns.reverse()];
  if (filter) columns = columns.filter((c) => filter.includes(c));
  const data = rows.map((row) => columns.map((c) => row[c] ?? EXTRA_COLUMNS[c] ?? null));
  if (!shape.withMetadata) return { columns, data };
  const metadata = Object.fromEntries(columns.map((c) => [c, { type: typeof template[c] === 'number' ? 'double' : 'string' }]));
  return { metadata, columns, data };
}

/**
 * The ISS JSON for the given securities of one board, as `securities.json` answers it at `at`.
 * `delaySeconds` is the feed's delay: UPDATETIME and TIME run that far behind SYSTIME, as on ISS's
 * anonymous feed (15 minutes); 0 is the real-time feed of a subscriber.
 */
export function boardSecuritiesJson(states: readonly SecurityState[], board: string, at: Date, shape: ResponseShape, delaySeconds = 0) {
  const systime = moscowSystime(at);
  const updatetime = moscowSystime(new Date(at.getTime() - delaySeconds * 1000)).slice(11);
  const secRows = states.map((s) => securitiesRow(s, board));
  const mdRows = states.map((s) => marketdataRow(s, board, systime, updatetime));
  const blank = states[0] ?? null;
  // Column lists come from a template row so an empty board still answers with its columns.
  const secTemplate = blank ? secRows[0]! : securitiesRow(templateState(), board);
  const mdTemplate = blank ? mdRows[0]! : marketdataRow(templateState(), board, systime, updatetime);
  const answer: Record<string, unknown> = {};
  const wants = (name: string) => shape.only === null || shape.only.has(name);
  if (wants('securities')) answer.securities = block(secRows, secTemplate, shape, shape.columns.securities);
  if (wants('marketdata') && !shape.dropMarketdata) answer.marketdata = block(mdRows, mdTemplate, shape, shape.columns.marketdata);
  return answer;
}

function templateState(): SecurityState {
  const listing = { secid: '', shortName: '', secName: '', startPrice: 1, lotSize: 1 };
  return { listing, decimals: 2, session: 'trading', prevPrice: 1, last: 1, open: 1, high: 1, low: 1, bid: 1, offer: 1, volume: 0, value: 0, trades: 0 };
}
