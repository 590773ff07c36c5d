import { readIssBlock, type IssBlockReader } from './iss-block';
import { MARKETS, type BoardSource, type ColumnSource, type MarketSpec, type ValueKind } from './markets';
import { moscowDay, parseMoscowTime, SECONDS_PER_DAY, secondsOfDayOf } from './moscow-time';
import { optionContractOf, selectOptionSeries, type OptionContract } from './options';
import { changePercent, NUMERIC_FIELDS, type NumericField, type Quote } from './quote';

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
export type TickerSelection = BoardSource['tickers'];

/**
 * How far UPDATETIME may run ahead of SYSTIME and still be the same day: a real-time feed's row can
 * be stamped a moment after the snapshot's clock. Beyond this it is yesterday's (a snapshot just
 * after midnight of a row last updated before it).
 */
const CLOCK_SKEW_SECONDS = 300;

/**
 * The time a row's data belongs to (docs/iss.md): UPDATETIME (Moscow time of day) on the Moscow date
 * of SYSTIME, the snapshot time; a time of day later than the snapshot's is the previous day's.
 * Without a usable UPDATETIME the snapshot time itself. On the anonymous feed this is 15 minutes
 * before SYSTIME: that gap is the feed's delay, not an error.
 */
export function quoteTime(snapshot: Date, updateTime: unknown): Date {
  const ofDay = secondsOfDayOf(updateTime);
  if (ofDay === null) return snapshot;
  const { midnightMs, secondsOfDay: snapshotOfDay } = moscowDay(snapshot);
  const dayBack = ofDay > Math.floor(snapshotOfDay) + CLOCK_SKEW_SECONDS ? SECONDS_PER_DAY : 0;
  return new Date(midnightMs + (ofDay - dayBack) * 1000);
}

/**
 * The answers of one board's requests (lists of at most 10 SECIDs each) as one answer: each block's
 * rows together, in the first answer's columns (read by name, so another order or a missing column
 * in a later answer is fine). A missing or malformed block is a validation error, as for one answer.
 */
export function mergeBoardAnswers(answers: readonly unknown[]): unknown {
  if (answers.length === 1) return answers[0];
  const merged: Record<string, { columns: readonly string[]; data: ReadonlyArray<readonly unknown[]> }> = {};
  for (const name of ['securities', 'marketdata']) {
    const blocks = answers.map((json) => readIssBlock(json, name));
    const { columns } = blocks[0]!;
    const data = blocks.flatMap((block) => {
      if (block.columns.join() === columns.join()) return block.rows;
      const at = columns.map((column) => block.index.get(column));
      return block.rows.map((row) => at.map((i) => (i === undefined ? null : row[i])));
    });
    merged[name] = { columns, data };
  }
  return merged;
}

/** A block's rows by upper-cased SECID, with the block they are rows of. */
interface BlockRows {
  block: IssBlockReader;
  rows: Map<string, { secid: string; row: readonly unknown[] }>;
}

/**
 * Rows of a block keyed by upper-cased SECID (ISS spells futures such as `SiZ7` in mixed case; the
 * configured tickers are upper-cased). A row of another board is skipped: a per-security answer
 * lists every board the security trades on. Cells are then read by column name, never by position.
 */
function rowsBySecid(json: unknown, name: string, board: string): BlockRows {
  const block = readIssBlock(json, name, { required: ['SECID'] });
  const secidAt = block.index.get('SECID')!;
  const boardAt = block.index.get('BOARDID');
  const wantedBoard = board.toUpperCase();
  const rows = new Map<string, { secid: string; row: readonly unknown[] }>();
  for (const row of block.rows) {
    const secid = row[secidAt];
    if (typeof secid !== 'string') continue;
    if (boardAt !== undefined && typeof row[boardAt] === 'string' && row[boardAt].toUpperCase() !== wantedBoard) continue;
    rows.set(secid.toUpperCase(), { secid, row });
  }
  return { block, rows };
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isValue(raw: unknown, kind: ValueKind): raw is number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) return false;
  switch (kind) {
    case 'price':
    case 'quoted':
      return raw > 0;
    case 'amount':
      return raw >= 0;
    case 'count':
      return raw >= 0 && Number.isInteger(raw);
    case 'signed':
      return true;
    case 'date':
      return false;
  }
}

/** Whole days from the quote's Moscow date to a `YYYY-MM-DD` (MATDATE), or null. */
function daysUntil(date: unknown, from: Date): number | null {
  if (typeof date !== 'string') return null;
  const m = DATE_PATTERN.exec(date);
  if (!m) return null;
  const target = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const days = Math.round((target - Date.parse(moscowDay(from).date)) / (SECONDS_PER_DAY * 1000));
  return days >= 0 ? days : null;
}

/** A market's column table resolved against one answer's blocks: where each field's cell is. */
interface FieldSource {
  field: NumericField;
  block: ColumnSource['block'];
  at: number | undefined;
  kind: ValueKind;
}

const NO_NUMBERS = Object.fromEntries(NUMERIC_FIELDS.map(({ field }) => [field, null])) as Record<NumericField, number | null>;

/**
 * Reads the numeric cells of one security by the market's column table. A null stays null; a
 * cell that is not a finite number in its field's range becomes null and is reported as invalid.
 */
function readNumbers(
  ticker: string,
  spec: MarketSpec,
  sources: readonly FieldSource[],
  rows: Record<ColumnSource['block'], readonly unknown[]>,
  invalid: InvalidValue[],
) {
  const numbers = { ...NO_NUMBERS };
  for (const { field, block, at, kind } of sources) {
    const raw = at === undefined ? null : rows[block][at];
    if (raw === null || raw === undefined || (kind === 'quoted' && raw === 0)) continue;
    if (isValue(raw, kind)) numbers[field] = raw;
    else invalid.push({ ticker, field, value: raw });
  }
  numbers.changePercent = changePercent(numbers[spec.change.value], numbers[spec.change.previous]);
  return numbers;
}

/**
 * The option series among the wanted rows, with their contracts, narrowed to the board's selection
 * (`Si,RTS@2`). A row whose contract cannot be told is reported invalid (field `option`) and left out.
 */
function optionSeriesOf(wanted: readonly string[], securities: BlockRows, source: BoardSource, invalid: InvalidValue[]) {
  const series: Array<{ ticker: string; contract: OptionContract | undefined }> = [];
  const contracts: Array<{ ticker: string; contract: OptionContract }> = [];
  for (const ticker of wanted) {
    const sec = securities.rows.get(ticker);
    // Not on the board: reported missing by the caller, as on every market.
    if (!sec) series.push({ ticker, contract: undefined });
    const contract = sec && optionContractOf(sec.secid, (column) => securities.block.cell(sec.row, column));
    if (contract) contracts.push({ ticker, contract });
    else if (sec) invalid.push({ ticker: sec.secid, field: 'option', value: securities.block.cell(sec.row, 'SHORTNAME') ?? null });
  }
  return [...series, ...(source.optionSelection ? selectOptionSeries(contracts, source.optionSelection) : contracts)];
}

/**
 * Turns one ISS `securities.json` answer (blocks `securities` and `marketdata`) of one board into
 * quotes, reading each market's columns by name (lib/moex/markets.ts). Pure: the answer is
 * already-parsed JSON. Throws PollError('validation') when the answer is not ISS-shaped; bad
 * single cells are left out and listed in `invalidValues`.
 */
export function parseBoardSnapshot(json: unknown, source: BoardSource): BoardSnapshot {
  const securities = rowsBySecid(json, 'securities', source.board);
  const marketdata = rowsBySecid(json, 'marketdata', source.board);
  const spec = MARKETS[source.kind];
  const blocks = { securities, marketdata };
  const sources: FieldSource[] = (Object.entries(spec.columns) as Array<[NumericField, ColumnSource]>).map(([field, { block, column, kind }]) => ({
    field,
    block,
    at: blocks[block].block.index.get(column),
    kind,
  }));

  const quotes: Quote[] = [];
  const invalidValues: InvalidValue[] = [];
  const wanted = source.tickers === 'ALL' ? [...securities.rows.keys()] : source.tickers.map((t) => t.toUpperCase());
  const missingTickers: string[] = [];
  const series = spec.optionSeries ? optionSeriesOf(wanted, securities, source, invalidValues) : wanted.map((ticker) => ({ ticker, contract: undefined }));
  // Every row of one answer carries the same SYSTIME and mostly the same UPDATETIME: parsed once each.
  let lastSystime: unknown;
  let lastSnapshotTime: Date | null = null;
  let lastUpdate: unknown;
  let lastTime: Date | null = null;

  for (const { ticker: wantedTicker, contract } of series) {
    const sec = securities.rows.get(wantedTicker);
    const md = marketdata.rows.get(wantedTicker);
    if (!sec || !md) {
      missingTickers.push(wantedTicker);
      continue;
    }
    const ticker = sec.secid;
    const secCell = (column: string) => securities.block.cell(sec.row, column) ?? null;
    const mdCell = (column: string) => marketdata.block.cell(md.row, column) ?? null;
    const systime = mdCell('SYSTIME');
    if (systime !== lastSystime || lastSnapshotTime === null) {
      lastSystime = systime;
      lastSnapshotTime = parseMoscowTime(systime);
      lastUpdate = undefined;
    }
    const snapshotTime = lastSnapshotTime;
    if (!snapshotTime) {
      // Without the exchange time a quote cannot be placed in any time series.
      invalidValues.push({ ticker, field: 'time', value: systime });
      missingTickers.push(ticker);
      continue;
    }
    const updateTime = mdCell('UPDATETIME');
    if (updateTime !== lastUpdate || lastTime === null) {
      lastUpdate = updateTime;
      lastTime = quoteTime(snapshotTime, updateTime);
    }
    const time = lastTime;
    const numbers = readNumbers(ticker, spec, sources, { securities: sec.row, marketdata: md.row }, invalidValues);
    if (spec.maturity) numbers.daysToMaturity = daysUntil(secCell('MATDATE'), time);
    const board = mdCell('BOARDID') ?? secCell('BOARDID');
    const shortName = secCell('SHORTNAME');
    const status = mdCell('TRADINGSTATUS');
    quotes.push({
      ticker,
      board: typeof board === 'string' && board !== '' ? board : source.board,
      engine: source.engine,
      market: source.market,
      shortName: typeof shortName === 'string' ? shortName : null,
      ...numbers,
      // T trading; N, S, B, C and the rest are not. A market without the column has no answer.
      trading: typeof status === 'string' ? status === 'T' : null,
      time,
      // A real-time row stamped a moment after the snapshot is not "negative delay".
      delaySeconds: Math.max(0, (snapshotTime.getTime() - time.getTime()) / 1000),
      ...(contract ? { option: contract } : {}),
    });
  }
  return { quotes, missingTickers, invalidValues };
}
