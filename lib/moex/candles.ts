import { readIssBlock } from './iss-block';
import { parseMoscowTime } from './moscow-time';
import { isValue } from './parse';

/**
 * ISS candles (`/engines/{e}/markets/{m}/boards/{b}/securities/{secid}/candles.json`): block
 * `candles`, columns `open close high low value volume begin end` (read by name), `begin`/`end` as
 * `YYYY-MM-DD HH:MM:SS` Moscow time. ISS answers at most 500 rows per request; `start=` pages on.
 * A minute without trades has no candle. Pure; the request is built in iss-requests.ts.
 */

/** ISS's page size for candles. */
export const CANDLES_PAGE_ROWS = 500;

export interface Candle {
  ticker: string;
  board: string;
  /** ISS's interval code: 1 = one minute. */
  interval: number;
  /** Candle start (ISS `begin`): the timestamp the stores use. */
  begin: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Money traded. */
  value: number;
  /** Units traded (shares, contracts). */
  volume: number;
}

export interface CandlePage {
  candles: Candle[];
  /** Rows ISS sent, valid or not: a full page means there may be more. */
  rows: number;
  /** Rows left out: a missing or bad price, volume or time. */
  invalid: number;
}

const isPrice = (v: unknown): v is number => isValue(v, 'price');
const isAmount = (v: unknown): v is number => isValue(v, 'amount');

/** A candles.json answer → candles; throws PollError on an answer without a `candles` block, skips bad rows. */
export function parseCandles(json: unknown, ticker: string, board: string, interval = 1): CandlePage {
  const block = readIssBlock(json, 'candles');
  const candles: Candle[] = [];
  let invalid = 0;
  for (const row of block.rows) {
    const [open, close, high, low, value, volume] = ['open', 'close', 'high', 'low', 'value', 'volume'].map((column) => block.cell(row, column));
    const begin = parseMoscowTime(block.cell(row, 'begin'));
    if (!begin || !isPrice(open) || !isPrice(close) || !isPrice(high) || !isPrice(low) || !isAmount(value) || !isAmount(volume)) {
      invalid++;
      continue;
    }
    candles.push({ ticker, board, interval, begin, open, high, low, close, value, volume });
  }
  return { candles, rows: block.rows.length, invalid };
}
