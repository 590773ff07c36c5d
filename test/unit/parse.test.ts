import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PollError } from '../../lib/moex/errors';
import { parseMoscowTime } from '../../lib/moex/moscow-time';
import { parseBoardSnapshot, quoteTime } from '../../lib/moex/parse';
import { issFixture, sharesBoard } from '../support/fixtures';

const TICKERS = ['SBERP', 'SBER', 'GAZP'];

/** The fields shares do not have: null on every share quote. */
const NO_MARKET_SPECIFIC_FIELDS = {
  indexValue: null,
  indexPrevClose: null,
  capitalization: null,
  bondYield: null,
  bondDuration: null,
  accruedInterest: null,
  faceValue: null,
  couponValue: null,
  daysToMaturity: null,
  openInterest: null,
  settlePrice: null,
  optionOpenInterest: null,
  optionOpenInterestChange: null,
  centralStrike: null,
  underlyingPrice: null,
};

describe('parseBoardSnapshot', () => {
  test('trading day: every field of every ticker, exactly', () => {
    const { quotes, missingTickers, invalidValues } = parseBoardSnapshot(issFixture('trading-day'), sharesBoard(TICKERS));
    assert.deepEqual(missingTickers, []);
    assert.deepEqual(invalidValues, []);
    assert.deepEqual(
      quotes.map((q) => q.ticker),
      TICKERS,
    );
    assert.deepEqual(quotes[1], {
      ...NO_MARKET_SPECIFIC_FIELDS,
      ticker: 'SBER',
      board: 'TQBR',
      engine: 'stock',
      market: 'shares',
      shortName: 'Сбербанк',
      last: 315.56,
      bid: 315.55,
      offer: 315.57,
      open: 312.9,
      high: 316.2,
      low: 311.1,
      waprice: 314.02,
      prevClose: 312.5,
      changePercent: 0.9792,
      volume: 25678900,
      value: 8063687123,
      trades: 120456,
      trading: true,
      time: new Date('2024-03-15T11:35:12Z'),
      delaySeconds: 0,
    });
    assert.equal(quotes[0]!.shortName, 'Сбербанк-п');
    assert.equal(quotes[2]!.changePercent, -0.6854);
  });

  test('before the first trade: no last/open/high/low/waprice/bid/offer, zero trades stay real zeros', () => {
    const { quotes } = parseBoardSnapshot(issFixture('before-first-trade'), sharesBoard(TICKERS));
    const gazp = quotes.find((q) => q.ticker === 'GAZP')!;
    assert.equal(gazp.last, null);
    assert.equal(gazp.open, null);
    assert.equal(gazp.high, null);
    assert.equal(gazp.low, null);
    assert.equal(gazp.waprice, null);
    assert.equal(gazp.bid, null);
    assert.equal(gazp.changePercent, null);
    assert.equal(gazp.prevClose, 128.4);
    assert.equal(gazp.trades, 0);
    assert.equal(gazp.volume, 0);
    assert.equal(gazp.value, 0);
    assert.equal(gazp.trading, false);
    assert.deepEqual(gazp.time, new Date('2024-03-15T03:55:01Z'));
  });

  test('after the close: bid/offer null, not trading, last price kept', () => {
    const { quotes } = parseBoardSnapshot(issFixture('after-close'), sharesBoard(TICKERS));
    const sber = quotes.find((q) => q.ticker === 'SBER')!;
    assert.equal(sber.bid, null);
    assert.equal(sber.offer, null);
    assert.equal(sber.trading, false);
    assert.equal(sber.last, 315.56);
    assert.equal(sber.changePercent, 0.9792);
  });

  test('reordered and extra columns give the same quotes as the usual order', () => {
    const usual = parseBoardSnapshot(issFixture('trading-day'), sharesBoard(TICKERS));
    const reordered = parseBoardSnapshot(issFixture('reordered-extra-columns'), sharesBoard(TICKERS));
    assert.deepEqual(reordered, usual);
  });

  test('a requested ticker missing from the board is reported, the others parse', () => {
    const { quotes, missingTickers } = parseBoardSnapshot(issFixture('ticker-missing'), sharesBoard(TICKERS));
    assert.deepEqual(missingTickers, ['GAZP']);
    assert.deepEqual(
      quotes.map((q) => [q.ticker, q.last]),
      [
        ['SBERP', 313.1],
        ['SBER', 315.56],
      ],
    );
  });

  test('ALL takes every security the board returned, in board order', () => {
    const { quotes, missingTickers } = parseBoardSnapshot(issFixture('ticker-missing'), sharesBoard('ALL'));
    assert.deepEqual(missingTickers, []);
    assert.deepEqual(
      quotes.map((q) => q.ticker),
      ['SBERP', 'SBER'],
    );
  });

  test('SYSTIME around midnight Moscow time lands on the right UTC day', () => {
    const after = parseBoardSnapshot(issFixture('around-midnight'), sharesBoard(TICKERS)).quotes[0]!;
    assert.deepEqual(after.time, new Date('2024-03-15T21:00:05Z'));
    const before = parseBoardSnapshot(issFixture('before-midnight'), sharesBoard(TICKERS)).quotes[0]!;
    assert.deepEqual(before.time, new Date('2024-03-15T20:59:59Z'));
  });

  test('bad cells are left out and reported, never turned into 0, NaN or -1', () => {
    const json = issFixture('trading-day') as { marketdata: { columns: string[]; data: unknown[][] } };
    const col = (name: string) => json.marketdata.columns.indexOf(name);
    const sber = json.marketdata.data[1]!;
    sber[col('LAST')] = 'n/a';
    sber[col('BID')] = -1;
    sber[col('OFFER')] = 0;
    sber[col('VOLTODAY')] = 12.5;
    sber[col('NUMTRADES')] = -3;
    const { quotes, invalidValues } = parseBoardSnapshot(json, sharesBoard(TICKERS));
    const q = quotes.find((x) => x.ticker === 'SBER')!;
    assert.equal(q.last, null);
    assert.equal(q.bid, null);
    assert.equal(q.offer, null);
    assert.equal(q.volume, null);
    assert.equal(q.trades, null);
    assert.equal(q.changePercent, null);
    assert.equal(q.high, 316.2);
    assert.deepEqual(invalidValues.map((v) => v.field).sort(), ['bid', 'last', 'offer', 'trades', 'volume']);
  });

  test('a row without a valid SYSTIME is skipped as missing', () => {
    const json = issFixture('trading-day') as { marketdata: { columns: string[]; data: unknown[][] } };
    json.marketdata.data[2]![json.marketdata.columns.indexOf('SYSTIME')] = '15.03.2024 14:35';
    const { quotes, missingTickers, invalidValues } = parseBoardSnapshot(json, sharesBoard(TICKERS));
    assert.deepEqual(missingTickers, ['GAZP']);
    assert.equal(quotes.length, 2);
    assert.deepEqual(invalidValues[0]?.field, 'time');
  });

  test('answers that are not ISS-shaped are validation errors', () => {
    const noMarketdata = { securities: (issFixture('trading-day') as { securities: unknown }).securities };
    for (const bad of [null, [], 'text', {}, noMarketdata, { securities: { columns: ['X'], data: [] }, marketdata: { columns: [], data: [] } }]) {
      assert.throws(
        () => parseBoardSnapshot(bad, sharesBoard(TICKERS)),
        (err: unknown) => err instanceof PollError && err.reason === 'validation',
      );
    }
  });
});

describe('parseMoscowTime', () => {
  test('is UTC+3 all year, including summer', () => {
    assert.deepEqual(parseMoscowTime('2024-07-01 10:00:00'), new Date('2024-07-01T07:00:00Z'));
    assert.deepEqual(parseMoscowTime('2024-01-01 02:30:00'), new Date('2023-12-31T23:30:00Z'));
  });
  test('rejects what is not a SYSTIME', () => {
    for (const bad of ['2024-02-30 10:00:00', '2024-13-01 10:00:00', '2024-01-01T10:00:00', '', null, 1710500000]) {
      assert.equal(parseMoscowTime(bad), null, String(bad));
    }
  });
});

describe("quoteTime: UPDATETIME on SYSTIME's date", () => {
  const at = (systime: string) => parseMoscowTime(systime)!;

  test('the anonymous feed: 15 minutes before the snapshot, the same day', () => {
    assert.deepEqual(quoteTime(at('2024-02-15 18:09:06'), '17:54:06'), new Date('2024-02-15T14:54:06Z'));
  });

  test('midnight: a row updated at 23:50 in a snapshot of 00:05 belongs to the day before', () => {
    assert.deepEqual(quoteTime(at('2024-02-16 00:05:00'), '23:50:00'), new Date('2024-02-15T20:50:00Z'));
    // ...and across a month and a year boundary.
    assert.deepEqual(quoteTime(at('2024-01-01 00:10:00'), '23:55:00'), new Date('2023-12-31T20:55:00Z'));
  });

  test('a real-time row stamped a moment after the snapshot stays on the same day', () => {
    assert.deepEqual(quoteTime(at('2024-02-15 18:09:06'), '18:09:07'), new Date('2024-02-15T15:09:07Z'));
  });

  test('no usable UPDATETIME: the snapshot time', () => {
    for (const missing of [null, undefined, '', '25:00:00', '18:09', 64800]) {
      assert.deepEqual(quoteTime(at('2024-02-15 18:09:06'), missing), new Date('2024-02-15T15:09:06Z'), String(missing));
    }
  });

  test('parseBoardSnapshot: time and delaySeconds of a delayed row across midnight', () => {
    const json = issFixture('trading-day') as { marketdata: { columns: string[]; data: unknown[][] } };
    const col = (name: string) => json.marketdata.columns.indexOf(name);
    for (const row of json.marketdata.data) {
      row[col('SYSTIME')] = '2024-03-16 00:05:00';
      row[col('UPDATETIME')] = '23:50:00';
    }
    json.marketdata.data[0]![col('UPDATETIME')] = null;
    const { quotes } = parseBoardSnapshot(json, sharesBoard(TICKERS));
    const sber = quotes.find((q) => q.ticker === 'SBER')!;
    assert.deepEqual(sber.time, new Date('2024-03-15T20:50:00Z'));
    assert.equal(sber.delaySeconds, 900);
    const sberp = quotes.find((q) => q.ticker === 'SBERP')!;
    assert.deepEqual(sberp.time, new Date('2024-03-15T21:05:00Z'), 'null UPDATETIME: SYSTIME');
    assert.equal(sberp.delaySeconds, 0);
  });
});
