import { PollError } from '../errors';
import { findIssBlock, readIssBlock } from '../iss-block';
import { parseMoscowTime } from '../moscow-time';
import { isValue, type InvalidValue } from '../parse';
import { DATASETS, KEY_COLUMNS, type AlgopackFeed, type ExportedColumn } from './datasets';

/**
 * One ALGOPACK answer page → bars. Columns are read by name, lower-cased (ISS sends `SYSTIME` in
 * capitals and the rest in lower case, and datasets gain columns over time); a column this code
 * has never heard of becomes one more field. Pure: the answer is already-parsed JSON.
 */

/** One instrument's 5-minute bar (futoi: one client group's snapshot). */
export interface AlgopackBar extends AlgopackFeed {
  ticker: string;
  /** futoi's client group (`FIZ`, `YUR`); null for the datashop datasets. */
  group: string | null;
  /** tradedate + tradetime, Moscow time: the end of the 5-minute window. */
  end: Date;
  /** SYSTIME: when MOEX published the bar; null when the answer lacks it. */
  published: Date | null;
  /** Every numeric cell by lower-case column name; null cells are absent. */
  fields: Record<string, number>;
}

/** `data.cursor`: where this page starts, how many rows the whole answer has, and the page size. */
export interface AlgopackCursor {
  index: number;
  total: number;
  pageSize: number;
}

export interface AlgopackPage {
  bars: AlgopackBar[];
  /** Rows ISS sent, valid or not: the next page starts this many rows further. */
  rows: number;
  /** Rows left out: no instrument, or no valid bar time. */
  invalidRows: number;
  /** Exported columns' cells left out: not a number, or outside the column's range. */
  invalidValues: InvalidValue[];
  cursor: AlgopackCursor | null;
}

function cursorOf(json: unknown, name: string): AlgopackCursor | null {
  const block = findIssBlock(json, `${name}.cursor`, { anyCase: true });
  const row = block?.rows[0];
  if (!block || !row) return null;
  const [index, total, pageSize] = ['index', 'total', 'pagesize'].map((c) => block.cell(row, c));
  if (!isValue(index, 'count') || !isValue(total, 'count') || !isValue(pageSize, 'count'))
    throw new PollError('validation', `ISS "${name}.cursor" is not INDEX, TOTAL, PAGESIZE counts`);
  return { index, total, pageSize };
}

/**
 * Throws PollError('validation') when the answer is not ISS-shaped. (An answer without the
 * dataset's block, what ISS sends a login without the subscription, is refused by the transport.)
 */
export function parseAlgopackPage(json: unknown, feed: AlgopackFeed): AlgopackPage {
  const spec = DATASETS[feed.dataset];
  const block = readIssBlock(json, spec.block, { anyCase: true });
  const exported = new Map<string, ExportedColumn>(spec.exported.map((c) => [c.column, c]));
  const page: AlgopackPage = { bars: [], rows: block.rows.length, invalidRows: 0, invalidValues: [], cursor: cursorOf(json, spec.block) };
  for (const row of block.rows) {
    const ticker = block.cell(row, spec.tickerColumn);
    const group = spec.groupColumn === null ? null : block.cell(row, spec.groupColumn);
    const end = parseMoscowTime(`${block.cell(row, 'tradedate')} ${block.cell(row, 'tradetime')}`);
    if (typeof ticker !== 'string' || ticker === '' || !end || (group !== null && (typeof group !== 'string' || group === ''))) {
      page.invalidRows++;
      continue;
    }
    const fields: Record<string, number> = {};
    for (const [column, at] of block.index) {
      const cell = row[at];
      if (KEY_COLUMNS.has(column) || cell === null || cell === undefined) continue;
      const kind = exported.get(column)?.kind;
      // A column outside the exported table is a field when it holds a number; a text column MOEX adds later is not an error.
      if (kind === undefined) {
        if (typeof cell === 'number') fields[column] = cell;
      } else if (isValue(cell, kind)) fields[column] = cell;
      else page.invalidValues.push({ ticker, field: column, value: cell });
    }
    page.bars.push({ ...feed, ticker, group, end, published: parseMoscowTime(block.cell(row, 'systime')), fields });
  }
  return page;
}
