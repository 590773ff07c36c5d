import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Quote } from '../../lib/moex/quote';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { createStreamCoalescer } from '../../scraper/src/stream-coalescer';

/** A polled quote of `secid` (parse.ts from a board answer), then changed as the stream changes it. */
function quote(secid: string, last: number, updateTime: string): Quote {
  const answer = {
    securities: { columns: ['SECID', 'PREVPRICE'], data: [[secid, 300]] },
    marketdata: { columns: ['SECID', 'LAST', 'SYSTIME', 'UPDATETIME'], data: [[secid, last, '2026-01-22 10:30:00', updateTime]] },
  };
  return parseBoardSnapshot(answer, { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: [secid] }).quotes[0]!;
}

describe('stream coalescer: at most one point per security per period', () => {
  test('a change after a quiet period leaves at once; those within the period leave together at its end, the newest of each security', async () => {
    const writes: Array<{ at: number; quotes: Array<[string, number | null]> }> = [];
    const coalescer = createStreamCoalescer((quotes) => writes.push({ at: Date.now(), quotes: quotes.map((q) => [q.ticker, q.last]) }), 100);
    coalescer.add([quote('SBER', 301, '10:15:01')]);
    assert.deepEqual(
      writes.map((w) => w.quotes),
      [[['SBER', 301]]],
      'the first change leaves at once',
    );
    coalescer.add([quote('SBER', 302, '10:15:01'), quote('GAZP', 150, '10:15:01')]);
    coalescer.add([quote('SBER', 303, '10:15:02')]);
    assert.equal(writes.length, 1, 'nothing more before the period ends');
    await sleep(250);
    assert.deepEqual(
      writes.map((w) => w.quotes),
      [
        [['SBER', 301]],
        [
          ['SBER', 303],
          ['GAZP', 150],
        ],
      ],
    );
    assert.ok(writes[1]!.at - writes[0]!.at >= 99, `batches ${writes[1]!.at - writes[0]!.at} ms apart`);
    // A period after the last batch, the next change leaves at once again.
    coalescer.add([quote('SBER', 304, '10:15:03')]);
    assert.deepEqual(writes[2]?.quotes, [['SBER', 304]]);
  });

  test('a change the poll wrote at the same instant is not written again; flush writes what waits', () => {
    const writes: Quote[][] = [];
    const coalescer = createStreamCoalescer((quotes) => writes.push([...quotes]), 60_000);
    coalescer.add([quote('SBER', 300, '10:15:00')]); // leaves at once and opens the period
    writes.length = 0;
    coalescer.add([quote('SBER', 301, '10:15:01'), quote('GAZP', 150, '10:15:03')]);
    coalescer.written([quote('SBER', 301, '10:15:01'), quote('GAZP', 149, '10:15:00')]);
    coalescer.flush();
    assert.deepEqual(
      writes.map((w) => w.map((q) => q.ticker)),
      [['GAZP']],
    );
  });
});
