/**
 * Narrow answers: each board request names exactly the columns its market reads
 * (lib/moex/markets.ts boardColumns); the quotes are the same as from the whole answer. Checked on
 * REAL answers (test/fixtures/iss/real/README.md) cut down to those columns, and on the simulator.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SIM_BOARDS } from '../../iss-sim/src/boards';
import { boardSecuritiesJson } from '../../iss-sim/src/iss-response';
import { Market } from '../../iss-sim/src/market';
import { boardColumns, type BoardSource, type MarketKind } from '../../lib/moex/markets';
import { parseBoardSnapshot } from '../../lib/moex/parse';

interface Block {
  columns: string[];
  data: unknown[][];
}

const real = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', name), 'utf8')) as Record<string, Block>;

/**
 * `json` as the board request answers it with `securities.columns` / `marketdata.columns`: only
 * the board's rows (a per-security capture lists every board), those columns in that order.
 */
function narrowed(json: Record<string, Block>, kind: MarketKind, board: string): Record<string, Block> {
  const columns = boardColumns(kind);
  const cut = (block: Block, wanted: readonly string[]): Block => {
    const boardAt = block.columns.indexOf('BOARDID');
    const rows = block.data.filter((row) => boardAt < 0 || row[boardAt] === board);
    const kept = wanted.filter((c) => block.columns.includes(c));
    const at = kept.map((c) => block.columns.indexOf(c));
    return { columns: kept, data: rows.map((row) => at.map((i) => row[i])) };
  };
  return { securities: cut(json.securities!, columns.securities), marketdata: cut(json.marketdata!, columns.marketdata) };
}

const REAL: Array<[file: string, source: BoardSource]> = [
  ['tqbr-sber-2023-10-18.json', { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: ['SBER'] }],
  ['cets-usd-tom-2017-09-18.json', { engine: 'currency', market: 'selt', board: 'CETS', kind: 'currency', tickers: ['USD000UTSTOM'] }],
  ['rtsi-2017-09-14.json', { engine: 'stock', market: 'index', board: 'RTSI', kind: 'index', tickers: ['RTSI'] }],
  ['eqob-2017-09-22.json', { engine: 'stock', market: 'bonds', board: 'EQOB', kind: 'bonds', tickers: ['RU000A0JVBS1'] }],
  ['rfud-2017-09-22.json', { engine: 'futures', market: 'forts', board: 'RFUD', kind: 'futures', tickers: ['SIZ7'] }],
];

describe('narrow answers: the columns each market reads, and nothing else', () => {
  for (const [file, source] of REAL) {
    test(`real ${file}: the narrowed answer gives the same quote, and every named column exists on ISS`, () => {
      const wide = real(file);
      const columns = boardColumns(source.kind);
      // A column ISS does not have would be a typo in markets.ts (or a market without it, like TRADINGSTATUS on indices).
      for (const block of ['securities', 'marketdata'] as const) {
        const missing = columns[block].filter((c) => !wide[block]!.columns.includes(c));
        assert.deepEqual(missing, [], `${file} ${block}`);
      }
      const expected = parseBoardSnapshot(wide, source);
      assert.equal(expected.quotes.length, 1);
      assert.deepEqual(parseBoardSnapshot(narrowed(wide, source.kind, source.board), source), expected);
    });
  }

  test('the simulator honours .columns like ISS: those columns in the order asked, the same quotes as the wide answer', () => {
    const market = new Market({ random: () => 0.5, now: () => 0 });
    const at = new Date(Date.UTC(2026, 10, 30, 9));
    for (const b of SIM_BOARDS) {
      const states = [...market.boards.get(b.board)!.values()];
      const shape = { reorderColumns: false, dropMarketdata: false, withMetadata: false, only: null };
      const columns = boardColumns(b.kind);
      const wide = JSON.parse(JSON.stringify(boardSecuritiesJson(states, b, b.board, at, { ...shape, columns: { securities: null, marketdata: null } })));
      const narrow = JSON.parse(JSON.stringify(boardSecuritiesJson(states, b, b.board, at, { ...shape, columns })));
      assert.deepEqual(narrow.securities.columns, columns.securities, b.board);
      assert.deepEqual(narrow.marketdata.columns, columns.marketdata, b.board);
      const source: BoardSource = { engine: b.engine, market: b.market, board: b.board, kind: b.kind, tickers: 'ALL' };
      assert.deepEqual(parseBoardSnapshot(narrow, source), parseBoardSnapshot(wide, source), b.board);
    }
  });
});
