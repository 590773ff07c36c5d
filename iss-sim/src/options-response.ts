import { arrayBlock, boardAnswer, type ResponseShape, type Row } from './iss-response';
import { moscowDateTime } from './moscow-time';
import type { OptionQuote } from './options-book';

/**
 * ROPD's answer: the options board's `securities` and `marketdata` columns (issue #30, docs/iss.md).
 * Call or put is no column: SECID and SHORTNAME say it. Like FORTS futures, no TRADINGSTATUS; every
 * price is 0 where there is none (no trade today, off-hours), never null. Rows are built as arrays:
 * the whole board is 30,000 of them.
 */
type Cell = Row[string];

const SECURITIES: readonly string[] = [
  'SECID',
  'BOARDID',
  'SHORTNAME',
  'SECNAME',
  'PREVSETTLEPRICE',
  'DECIMALS',
  'MINSTEP',
  'LASTTRADEDATE',
  'LASTDELDATE',
  'ASSETCODE',
  'PREVOPENPOSITION',
  'STRIKE',
  'CENTRALSTRIKE',
  'UNDERLYINGASSET',
  'UNDERLYINGTYPE',
  'UNDERLYINGSETTLEPRICE',
];
const MARKETDATA: readonly string[] = [
  'SECID',
  'BOARDID',
  'LAST',
  'BID',
  'OFFER',
  'OPEN',
  'HIGH',
  'LOW',
  'VOLTODAY',
  'VALTODAY',
  'NUMTRADES',
  'OPENPOSITION',
  'OICHANGE',
  'SYSTIME',
  'UPDATETIME',
];

function securitiesRow(q: OptionQuote, board: string): Cell[] {
  const s = q.series;
  const { asset } = s;
  return [
    s.secid,
    board,
    s.shortName,
    s.secName,
    q.prevSettle,
    asset.decimals,
    asset.minStep,
    s.expiry,
    s.expiry,
    asset.asset,
    s.prevOpenPosition,
    s.strike,
    s.centralStrike,
    s.underlying,
    asset.underlyingType,
    q.underlyingSettle,
  ];
}

function marketdataRow(q: OptionQuote, board: string, systime: string, updatetime: string): Cell[] {
  return [
    q.series.secid,
    board,
    q.last,
    q.bid,
    q.offer,
    q.open,
    q.high,
    q.low,
    q.volToday,
    q.valToday,
    q.numTrades,
    q.openPosition,
    q.oiChange,
    systime,
    updatetime,
  ];
}

/**
 * The ISS JSON of the given series' quotes, with SYSTIME `at` and UPDATETIME `delaySeconds` behind it.
 * `template`: any series of the board, whose row gives the metadata's types when `quotes` is empty.
 */
export function optionsBoardJson(quotes: readonly OptionQuote[], template: OptionQuote, board: string, at: Date, shape: ResponseShape, delaySeconds: number) {
  const systime = moscowDateTime(at);
  const updatetime = moscowDateTime(new Date(at.getTime() - delaySeconds * 1000)).slice(11);
  return boardAnswer(
    (filter) =>
      arrayBlock(
        SECURITIES,
        quotes.map((q) => securitiesRow(q, board)),
        securitiesRow(template, board),
        shape,
        filter,
      ),
    (filter) =>
      arrayBlock(
        MARKETDATA,
        quotes.map((q) => marketdataRow(q, board, systime, updatetime)),
        marketdataRow(template, board, systime, updatetime),
        shape,
        filter,
      ),
    shape,
  );
}
