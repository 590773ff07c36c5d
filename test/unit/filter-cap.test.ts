/**
 * ISS answers at most 10 SECIDs of a `securities=` list: a longer list is asked for in lists of 10
 * and the answers merged. Checked on a REAL answer (test/fixtures/iss/real/README.md): the TQCB
 * capture of 16 bonds, split as ISS answers the two lists of one poll.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PollError } from '../../lib/moex/errors';
import { ISS_MAX_FILTER_SECURITIES, WHOLE_BOARD_FROM_TICKERS, boardSnapshotRequests } from '../../lib/moex/iss-requests';
import type { BoardSource } from '../../lib/moex/markets';
import { mergeBoardAnswers, parseBoardSnapshot } from '../../lib/moex/parse';

interface Block {
  columns: string[];
  data: unknown[][];
}
type Answer = Record<'securities' | 'marketdata', Block>;

const tqcb = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', 'tqcb-x5-2026-09-28.json'), 'utf8')) as Answer;
const secids = tqcb.securities.data.map((row) => row[0] as string);
const bonds = (tickers: BoardSource['tickers']): BoardSource => ({ engine: 'stock', market: 'bonds', board: 'TQCB', kind: 'bonds', tickers });
const location = { issUrl: 'https://iss.moex.com/iss', engine: 'stock', market: 'bonds', board: 'TQCB' };

/** The answer ISS gives for the rows `from`..`to` of the capture; `reversed`: its columns in another order. */
function answerFor(from: number, to: number, reversed = false): Answer {
  const cut = (block: Block): Block => {
    const columns = reversed ? [...block.columns].reverse() : block.columns;
    const at = columns.map((c) => block.columns.indexOf(c));
    return { columns, data: block.data.slice(from, to).map((row) => at.map((i) => row[i])) };
  };
  return { securities: cut(tqcb.securities), marketdata: cut(tqcb.marketdata) };
}

describe('the 10-security filter cap', () => {
  test('16 listed bonds are asked for as two lists, 10 and 6, in the order given', () => {
    assert.equal(secids.length, 16);
    const requests = boardSnapshotRequests(location, secids);
    const lists = requests.map((r) => new URL(r.url).searchParams.get('securities')!.split(','));
    assert.deepEqual(lists, [secids.slice(0, 10), secids.slice(10)]);
    assert.ok(lists.every((l) => l.length <= ISS_MAX_FILTER_SECURITIES));
  });

  test('up to 10 tickers, or ALL: one request; a list from the crossover on: the whole board, filtered here', () => {
    assert.equal(boardSnapshotRequests(location, secids.slice(0, 10)).length, 1);
    assert.doesNotMatch(boardSnapshotRequests(location, 'ALL')[0]!.url, /securities=/);
    const many = Array.from({ length: WHOLE_BOARD_FROM_TICKERS }, (_, i) => `T${i}`);
    const whole = boardSnapshotRequests(location, many);
    assert.equal(whole.length, 1);
    assert.doesNotMatch(whole[0]!.url, /[?&]securities=/);
  });

  test('the two answers merged give every one of the 16 quotes, as the single 16-row answer does', () => {
    const expected = parseBoardSnapshot(tqcb, bonds(secids));
    // The second answer's columns come in another order: the merge reads them by name.
    const merged = parseBoardSnapshot(mergeBoardAnswers([answerFor(0, 10), answerFor(10, 16, true)]), bonds(secids));
    assert.equal(merged.quotes.length, 16);
    assert.deepEqual(merged.missingTickers, []);
    assert.deepEqual(merged, expected);
    const yieldOf = (ticker: string) => merged.quotes.find((q) => q.ticker === ticker)?.bondYield;
    assert.equal(yieldOf(secids[15]!), expected.quotes[15]!.bondYield);
  });

  test('what a capped answer loses is reported as missing, not silently dropped', () => {
    // One list of 16 sent anyway: ISS answers only the first 10.
    const capped = parseBoardSnapshot(answerFor(0, 10), bonds(secids));
    assert.deepEqual(capped.missingTickers, secids.slice(10));
  });

  test('an answer of the set without its marketdata block fails the whole board', () => {
    const broken = { securities: answerFor(10, 16).securities };
    assert.throws(
      () => mergeBoardAnswers([answerFor(0, 10), broken]),
      (err: unknown) => err instanceof PollError && err.reason === 'validation',
    );
  });
});
