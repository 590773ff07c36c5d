import type { BoardSource } from '../../lib/moex/markets';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** An ISS answer recorded in test/fixtures/iss/, as parsed JSON. */
export function issFixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', `${name}.json`), 'utf8'));
}

/** The board the original stack polls, as a BoardSource for parseBoardSnapshot. */
export function sharesBoard(tickers: BoardSource['tickers'], board = 'TQBR'): BoardSource {
  return { engine: 'stock', market: 'shares', board, kind: 'shares', tickers };
}
