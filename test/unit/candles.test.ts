import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CandleBook } from '../../iss-sim/src/candles';
import { openingState } from '../../iss-sim/src/market';
import { CATALOGUE } from '../../iss-sim/src/catalogue';
import { parseCandles, type Candle } from '../../lib/moex/candles';
import { candlesRequest } from '../../lib/moex/iss-requests';
import { formatMoscowTime } from '../../lib/moex/moscow-time';
import { afterCandlePage, planCandleRequests, type CandlePlanOptions, type CandleState } from '../../scraper/src/candle-plan';
import { candleGraphitePoints, candleInfluxLine } from '../../scraper/src/candle-series';
import { issFixture } from '../support/fixtures';

describe('parseCandles', () => {
  test('a real ISS answer (with metadata): every row, by column name, begin from Moscow time to UTC', () => {
    const page = parseCandles(issFixture('candles-hourly'), 'GAZP', 'TQBR', 60);
    assert.equal(page.rows, 22);
    assert.equal(page.invalid, 0);
    assert.deepEqual(page.candles[0], {
      ticker: 'GAZP',
      board: 'TQBR',
      interval: 60,
      begin: new Date('2014-06-09T07:00:00Z'), // 10:00 Moscow
      open: 144.02,
      close: 143.89,
      high: 144.78,
      low: 143.03,
      value: 599770205.4000001,
      volume: 4171150,
    });
    assert.deepEqual(page.candles.at(-1)!.begin, new Date('2014-06-11T10:00:00Z'));
  });

  test('columns in another order plus unknown ones; bad rows counted and left out', () => {
    const json = {
      candles: {
        columns: ['begin', 'NEW', 'volume', 'value', 'low', 'high', 'close', 'open', 'end'],
        data: [
          ['2025-03-03 10:00:00', 'x', 100, 30000, 299, 301, 300.5, 300, '2025-03-03 10:00:59'],
          ['2025-03-03 10:01:00', 'x', 100, 30000, null, 301, 300.5, 300, '2025-03-03 10:01:59'],
          ['2025-02-30 10:02:00', 'x', 100, 30000, 299, 301, 300.5, 300, '2025-02-30 10:02:59'],
        ],
      },
    };
    const page = parseCandles(json, 'SBER', 'TQBR');
    assert.equal(page.rows, 3);
    assert.equal(page.invalid, 2);
    assert.deepEqual(
      page.candles.map((c) => [c.begin.toISOString(), c.open, c.high, c.low, c.close]),
      [['2025-03-03T07:00:00.000Z', 300, 301, 299, 300.5]],
    );
    assert.throws(() => parseCandles({ securities: {} }, 'SBER', 'TQBR'), /no "candles" block/);
  });

  test('candlesRequest: Moscow time in `from`, interval 1, `start` only when paging', () => {
    const location = { issUrl: 'https://iss.moex.com/iss', engine: 'stock', market: 'shares', board: 'TQBR' };
    const from = new Date('2025-03-03T07:05:00Z');
    assert.equal(formatMoscowTime(from), '2025-03-03 10:05:00');
    assert.equal(
      candlesRequest(location, 'SBER', from, 0).url,
      'https://iss.moex.com/iss/engines/stock/markets/shares/boards/TQBR/securities/SBER/candles.json?iss.meta=off&iss.only=candles&interval=1&from=2025-03-03+10%3A05%3A00',
    );
    assert.match(candlesRequest(location, 'SBER', from, 500).url, /&start=500$/);
    assert.deepEqual(candlesRequest(location, 'SBER', from, 0).blocks, ['candles']);
  });
});

const T0 = Date.parse('2025-03-03T07:00:00Z');
const minute = (n: number) => new Date(T0 + n * 60_000);
const options: CandlePlanOptions = { lookbackMinutes: 60, maxBackfillMinutes: 7 * 24 * 60, maxRequests: 2 };
const candle = (n: number): Candle => ({
  ticker: 'SBER',
  board: 'TQBR',
  interval: 1,
  begin: minute(n),
  open: 1,
  high: 1,
  low: 1,
  close: 1,
  value: 1,
  volume: 1,
});
const page = (from: number, count: number) => ({ rows: count, candles: Array.from({ length: count }, (_, i) => candle(from + i)) });

describe('candle backfill planner', () => {
  test('first start: from the lookback before the quote time (the feed’s clock, not the wall clock)', () => {
    const [request] = planCandleRequests({}, [{ key: 'TQBR:SBER', time: new Date(minute(100).getTime() + 42_000) }], options);
    assert.deepEqual(request, { key: 'TQBR:SBER', from: minute(40), start: 0 });
  });

  test('a long gap is paged as ISS pages: one request per cycle, start += 500, then back to the newest candle', () => {
    let state: CandleState = { 'TQBR:SBER': { from: T0, start: 0, newest: null, askedAt: null, catchingUp: true } };
    const now = minute(1200);
    const asked: Array<[number, number]> = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const [request] = planCandleRequests(state, [{ key: 'TQBR:SBER', time: now }], options);
      asked.push([(request!.from.getTime() - T0) / 60_000, request!.start]);
      const rows = Math.min(500, 1201 - request!.start);
      state = { 'TQBR:SBER': afterCandlePage(request!, page(request!.start, rows), now, state['TQBR:SBER']) };
    }
    assert.deepEqual(asked, [
      [0, 0],
      [0, 500],
      [0, 1000],
    ]);
    assert.deepEqual(state['TQBR:SBER'], {
      from: minute(1200).getTime(),
      start: 0,
      newest: minute(1200).getTime(),
      askedAt: minute(1200).getTime(),
      catchingUp: false,
    });
    // Caught up: nothing more in the same data minute; the newest (maybe unfinished) candle again in the next one.
    assert.deepEqual(planCandleRequests(state, [{ key: 'TQBR:SBER', time: new Date(now.getTime() + 30_000) }], options), []);
    assert.deepEqual(planCandleRequests(state, [{ key: 'TQBR:SBER', time: minute(1201) }], options), [{ key: 'TQBR:SBER', from: minute(1200), start: 0 }]);
  });

  test('at most maxRequests per cycle: securities behind first, then the longest unasked', () => {
    const state: CandleState = {
      'TQBR:A': { from: T0, start: 0, newest: T0, askedAt: minute(5).getTime(), catchingUp: false },
      'TQBR:B': { from: T0, start: 500, newest: T0, askedAt: minute(9).getTime(), catchingUp: true },
      'TQBR:C': { from: T0, start: 0, newest: T0, askedAt: minute(2).getTime(), catchingUp: false },
    };
    const keys = planCandleRequests(
      state,
      ['A', 'B', 'C', 'D'].map((t) => ({ key: `TQBR:${t}`, time: minute(10) })),
      options,
    ).map((r) => r.key);
    // D has no state: behind by the whole lookback, and never asked.
    assert.deepEqual(keys, ['TQBR:D', 'TQBR:B']);
  });

  test('state older than the backfill bound moves up to it', () => {
    const state: CandleState = { 'TQBR:SBER': { from: T0, start: 0, newest: T0, askedAt: T0, catchingUp: false } };
    const [request] = planCandleRequests(state, [{ key: 'TQBR:SBER', time: minute(20_000) }], { ...options, maxBackfillMinutes: 600 });
    assert.deepEqual(request!.from, minute(20_000 - 600));
  });
});

describe('candle series', () => {
  const c: Candle = {
    ticker: 'SBER',
    board: 'TQBR',
    interval: 1,
    begin: new Date('2025-03-03T07:05:00Z'),
    open: 300,
    high: 301.5,
    low: 299,
    close: 300.25,
    value: 1234567.5,
    volume: 4100,
  };
  test('InfluxDB: measurement candles, tags ticker/board/interval, integer volume, the start as timestamp', () => {
    assert.equal(
      candleInfluxLine(c),
      'candles,board=TQBR,interval=1m,ticker=SBER close=300.25,high=301.5,low=299,open=300,value=1234567.5,volume=4100i 1740985500',
    );
  });
  test('Graphite: <prefix>.candles.<TICKER>.<field> at the start', () => {
    assert.deepEqual(
      candleGraphitePoints(c, 'stocks').map((p) => `${p.path} ${p.value} ${p.timestamp}`),
      ['open 300', 'high 301.5', 'low 299', 'close 300.25', 'value 1234567.5', 'volume 4100'].map((fv) => `stocks.candles.SBER.${fv} 1740985500`),
    );
  });
});

describe('simulator candles', () => {
  test('each minute’s open/high/low/close follow the observed prices; volume is what the day’s total grew by', () => {
    const book = new CandleBook();
    const s = openingState(CATALOGUE[0]!, () => 0.5);
    const at = (sec: number) => new Date(T0 + sec * 1000);
    const observe = (sec: number, last: number, volume: number) => {
      s.last = last;
      s.volume = volume;
      book.observe('TQBR', [s], at(sec));
    };
    observe(0, 100, 1000);
    observe(20, 103, 1010);
    observe(40, 98, 1030);
    observe(61, 99, 1035);
    const json = book.json('TQBR', s.listing.secid, new URLSearchParams({ interval: '1', from: '2025-03-03 10:00:00' }), at(70), false);
    assert.deepEqual(json.candles.data, [
      [100, 98, 103, 98, json.candles.data[0]![4], 30, '2025-03-03 10:00:00', '2025-03-03 10:00:59'],
      [99, 99, 99, 99, json.candles.data[1]![4], 5, '2025-03-03 10:01:00', '2025-03-03 10:01:01'],
    ]);
    const paged = book.json('TQBR', s.listing.secid, new URLSearchParams({ interval: '1', from: '2025-03-03 10:00:00', start: '1' }), at(70), false);
    assert.equal(paged.candles.data.length, 1);
    assert.equal(paged.candles.data[0]![6], '2025-03-03 10:01:00');
  });
});
