import { PollError } from './errors';
import { changePercent, type NumericField, type Quote } from './quote';

/** An ISS data block: cells are addressed by column name, never by position. */
interface IssBlock {
  columns: string[];
  data: unknown[][];
}

/** A cell ISS sent that cannot be a value of its field; the field is left out and this is counted. */
export interface InvalidValue {
  ticker: string;
  field: string;
  value: unknown;
}

export interface BoardSnapshot {
  quotes: Quote[];
  /** Requested tickers the board did not return. */
  missingTickers: string[];
  invalidValues: InvalidValue[];
}

/** Which tickers were asked for: a list, or every security on the board. */
export type TickerSelection = readonly string[] | 'ALL';

const MOSCOW_UTC_OFFSET_SECONDS = 3 * 3600; // Moscow has been UTC+3 all year since 2014.
const SECONDS_PER_DAY = 86_400;
const SYSTIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const TIME_OF_DAY_PATTERN = /^(\d{2}):(\d{2}):(\d{2})$/;
/**
 * How far UPDATETIME may run ahead of SYSTIME and still be the same day: a real-time feed's row can
 * be stamped a moment after the snapshot's clock. Beyond this it is yesterday's (a snapshot just
 * after midnight of a row last updated before it).
 */
const CLOCK_SKEW_SECONDS = 300;

/** `YYYY-MM-DD HH:MM:SS` in Moscow time → the instant, or null if it is not such a string. */
export function parseMoscowTime(text: unknown): Date | null {
  if (typeof text !== 'string') return null;
  const m = SYSTIME_PATTERN.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2024-02-30 over to March; a real SYSTIME never does.
  if (calendarDay.getUTCMonth() !== month - 1 || calendarDay.getUTCDate() !== day) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - MOSCOW_UTC_OFFSET_SECONDS * 1000);
}

/** `HH:MM:SS` → seconds since midnight, or null. */
function secondsOfDay(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = TIME_OF_DAY_PATTERN.exec(text);
  if (!m) return null;
  const [hour, minute, second] = m.slice(1).map(Number) as [number, number, number];
  if (hour > 23 || minute > 59 || second > 59) return null;
  return hour * 3600 + minute * 60 + second;
}

/**
 * The time a row's data belongs to (CONTRACT §3): UPDATETIME (Moscow time of day) on the Moscow date
 * of SYSTIME, the snapshot time; a time of day later than the snapshot's is the previous day's.
 * Without a usable UPDATETIME the snapshot time itself. On the anonymous feed this is 15 minutes
 * before SYSTIME: that gap is the feed's delay, not an error.
 */
export function quoteTime(snapshot: Date, updateTime: unknown): Date {
  const ofDay = secondsOfDay(updateTime);
  if (ofDay === null) return snapshot;
  const moscowSeconds = Math.floor(snapshot.getTime() / 1000) + MOSCOW_UTC_OFFSET_SECONDS;
  const snapshotOfDay = ((moscowSeconds % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
  const midnight = moscowSeconds - snapshotOfDay - MOSCOW_UTC_OFFSET_SECONDS;
  const dayBack = ofDay > snapshotOfDay + CLOCK_SKEW_SECONDS ? SECONDS_PER_DAY : 0;
  return new Date((midnight + ofDay - dayBack) * 1000);
}

function asBlock(json: Record<string, unknown>, name: string): IssBlock {
  const block = json[name] as Partial<IssBlock> | undefined;
  if (!block || typeof block !== 'object' || !Array.isArray(block.columns) || !Array.isArray(block.data)) {
    throw new PollError('validation', `ISS answer has no "${name}" block with columns and data`);
  }
  if (!block.columns.every((c) => typeof c === 'string') || !block.data.every((row) => Array.isArray(row))) {
    throw new PollError('validation', `ISS "${name}" block is malformed`);
  }
  return block as IssBlock;
}

/** Rows of a block as column-name → cell lookups, keyed by SECID. */
function rowsBySecid(block: IssBlock, name: string): Map<string, (column: string) => unknown> {
  const index = new Map(block.columns.map((column, i) => [column, i] as const));
  const secidAt = index.get('SECID');
  if (secidAt === undefined) throw new PollError('validation', `ISS "${name}" block has no SECID column`);
  const rows = new Map<string, (column: string) => unknown>();
  for (const row of block.data) {
    const secid = row[secidAt];
    if (typeof secid !== 'string') continue;
    rows.set(secid, (column) => {
      const at = index.get(column);
      return at === undefined ? null : row[at];
    });
  }
  return rows;
}

type Cell = (column: string) => unknown;

/**
 * Reads the numeric cells of one security. A null stays null; a cell that is not a
 * finite number in its field's range becomes null and is reported as invalid.
 */
function readNumbers(ticker: string, sec: Cell, md: Cell, invalid: InvalidValue[]) {
  const read = (cell: Cell, column: string, field: NumericField, kind: 'price' | 'amount' | 'count'): number | null => {
    const raw = cell(column);
    if (raw === null || raw === undefined) return null;
    const ok =
      typeof raw === 'number' &&
      Number.isFinite(raw) &&
      (kind === 'price' ? raw > 0 : raw >= 0) &&
      (kind !== 'count' || Number.isInteger(raw));
    if (ok) return raw;
    invalid.push({ ticker, field, value: raw });
    return null;
  };
  return {
    last: read(md, 'LAST', 'last', 'price'),
    bid: read(md, 'BID', 'bid', 'price'),
    offer: read(md, 'OFFER', 'offer', 'price'),
    open: read(md, 'OPEN', 'open', 'price'),
    high: read(md, 'HIGH', 'high', 'price'),
    low: read(md, 'LOW', 'low', 'price'),
    waprice: read(md, 'WAPRICE', 'waprice', 'price'),
    prevClose: read(sec, 'PREVPRICE', 'prevClose', 'price'),
    volume: read(md, 'VOLTODAY', 'volume', 'count'),
    value: read(md, 'VALTODAY', 'value', 'amount'),
    trades: read(md, 'NUMTRADES', 'trades', 'count'),
  };
}

/**
 * Turns one ISS `securities.json` answer (blocks `securities` and `marketdata`) into quotes.
 * Pure: the answer is already-parsed JSON. Throws PollError('validation') when the answer
 * is not ISS-shaped; bad single cells are left out and listed in `invalidValues`.
 */
export function parseBoardSnapshot(json: unknown, requested: TickerSelection, boardId: string): BoardSnapshot {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new PollError('validation', 'ISS answer is not a JSON object');
  }
  const securities = rowsBySecid(asBlock(json as Record<string, unknown>, 'securities'), 'securities');
  const marketdata = rowsBySecid(asBlock(json as Record<string, unknown>, 'marketdata'), 'marketdata');

  const quotes: Quote[] = [];
  const invalidValues: InvalidValue[] = [];
  const wanted = requested === 'ALL' ? [...securities.keys()] : requested;
  const missingTickers: string[] = [];

  for (const ticker of wanted) {
    const sec = securities.get(ticker);
    const md = marketdata.get(ticker);
    if (!sec || !md) {
      missingTickers.push(ticker);
      continue;
    }
    const snapshotTime = parseMoscowTime(md('SYSTIME'));
    if (!snapshotTime) {
      // Without the exchange time a quote cannot be placed in any time series.
      invalidValues.push({ ticker, field: 'time', value: md('SYSTIME') });
      missingTickers.push(ticker);
      continue;
    }
    const time = quoteTime(snapshotTime, md('UPDATETIME'));
    const numbers = readNumbers(ticker, sec, md, invalidValues);
    const board = md('BOARDID') ?? sec('BOARDID');
    const shortName = sec('SHORTNAME');
    quotes.push({
      ticker,
      board: typeof board === 'string' && board !== '' ? board : boardId,
      shortName: typeof shortName === 'string' ? shortName : null,
      ...numbers,
      changePercent: changePercent(numbers.last, numbers.prevClose),
      trading: md('TRADINGSTATUS') === 'T',
      time,
      // A real-time row stamped a moment after the snapshot is not "negative delay".
      delaySeconds: Math.max(0, (snapshotTime.getTime() - time.getTime()) / 1000),
    });
  }
  return { quotes, missingTickers, invalidValues };
}
