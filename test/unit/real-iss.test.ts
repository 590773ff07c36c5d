/**
 * Quotes from REAL ISS answers captured by other projects (test/fixtures/iss/real/README.md names
 * each origin): every field asserted exactly, times and feed delays included.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { BoardSource, MarketKind } from '../../lib/moex/markets';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import type { Quote } from '../../lib/moex/quote';

const real = (name: string): unknown => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', name), 'utf8'));
const source = (engine: string, market: string, board: string, kind: MarketKind, tickers: BoardSource['tickers']): BoardSource => ({
  engine,
  market,
  board,
  kind,
  tickers,
});

/** The non-null numeric fields of a quote, for exact comparison. */
function present(q: Quote): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(q)) if (typeof v === 'number' && k !== 'delaySeconds') out[k] = v;
  return out;
}

describe('real ISS answers', () => {
  test('TQBR SBER 2023-10-18 (anonymous feed): every field, quote time = UPDATETIME, delay 901 s', () => {
    const { quotes, missingTickers } = parseBoardSnapshot(real('tqbr-sber-2023-10-18.json'), source('stock', 'shares', 'TQBR', 'shares', ['SBER']));
    assert.deepEqual(missingTickers, []);
    const [sber] = quotes;
    assert.deepEqual(present(sber!), {
      last: 266.79,
      bid: 266.79,
      offer: 266.8,
      open: 270,
      high: 271.19,
      low: 266.11,
      waprice: 268.98,
      prevClose: 270,
      changePercent: -1.1889,
      volume: 28693620,
      value: 7717500748,
      trades: 70659,
    });
    assert.equal(sber!.shortName, 'Сбербанк');
    assert.equal(sber!.trading, true);
    // UPDATETIME 16:10:42 Moscow, SYSTIME 16:25:43.
    assert.deepEqual(sber!.time, new Date('2023-10-18T13:10:42Z'));
    assert.equal(sber!.delaySeconds, 901);
  });

  test('TQBR five shares 2026-09-28, filtered columns: only what was asked for, each row its own SYSTIME', () => {
    const { quotes } = parseBoardSnapshot(real('tqbr-x5-peers-2026-09-28.json'), source('stock', 'shares', 'TQBR', 'shares', 'ALL'));
    assert.deepEqual(
      quotes.map((q) => [q.ticker, q.last, q.prevClose, q.bid, q.volume, q.trading, q.time.toISOString(), q.delaySeconds]),
      [
        ['FIXR', 0.3864, 0.3898, null, null, true, '2026-09-28T09:45:00.000Z', 900],
        ['LENT', 1757, 1748, null, null, true, '2026-09-28T09:45:05.000Z', 900],
        ['MGNT', 1628.5, 1630, null, null, true, '2026-09-28T09:45:06.000Z', 901],
        ['OKEY', 49.79, 50.82, null, null, true, '2026-09-28T09:45:00.000Z', 901],
        ['X5', 1802.5, 1809.5, null, null, true, '2026-09-28T09:45:07.000Z', 900],
      ],
    );
  });

  test("MOEX on three boards 2017-06-23: only the polled board's row; after the close not trading", () => {
    const tqbr = parseBoardSnapshot(real('shares-moex-2017-06-23.json'), source('stock', 'shares', 'TQBR', 'shares', ['MOEX'])).quotes;
    assert.equal(tqbr.length, 1);
    assert.deepEqual([tqbr[0]!.board, tqbr[0]!.last, tqbr[0]!.prevClose, tqbr[0]!.trades, tqbr[0]!.trading], ['TQBR', 106.8, 105.57, 24896, false]);
    assert.equal(tqbr[0]!.delaySeconds, 900);
    const eqdp = parseBoardSnapshot(real('shares-moex-2017-06-23.json'), source('stock', 'shares', 'EQDP', 'shares', ['MOEX'])).quotes[0]!;
    assert.equal(eqdp.last, null, 'no trade on EQDP: absent, not 0');
    assert.equal(eqdp.prevClose, null);
    assert.equal(eqdp.trades, 0);
  });

  test('currency CETS USD TOD 2018-07-28: UPDATETIME 23:50 in a snapshot of 00:05 is the day before', () => {
    const { quotes } = parseBoardSnapshot(real('cets-usd-tod-2018-07-28.json'), source('currency', 'selt', 'CETS', 'currency', ['USD000000TOD']));
    const [usd] = quotes;
    assert.equal(quotes.length, 1, 'the CNGD row is another board');
    assert.deepEqual(present(usd!), {
      last: 62.71,
      open: 62.95,
      high: 63.015,
      low: 62.615,
      waprice: 62.9405,
      prevClose: 62.955,
      changePercent: -0.3892,
      volume: 1183642000,
      value: 74499053075,
      trades: 11392,
    });
    assert.equal(usd!.bid, null);
    assert.equal(usd!.trading, false);
    assert.deepEqual(usd!.time, new Date('2018-07-27T20:50:00Z'));
    assert.equal(usd!.delaySeconds, 904);
    assert.equal(usd!.engine, 'currency');
    assert.equal(usd!.market, 'selt');
  });

  test('currency CETS USD TOM 2017-09-18, trading: 15 minutes behind', () => {
    const [usd] = parseBoardSnapshot(real('cets-usd-tom-2017-09-18.json'), source('currency', 'selt', 'CETS', 'currency', ['USD000UTSTOM'])).quotes;
    assert.equal(usd!.trading, true);
    assert.deepEqual(usd!.time, new Date('2017-09-18T19:46:08Z'));
    assert.equal(usd!.delaySeconds, 901);
    assert.ok(usd!.last! > 50 && usd!.last! < 70);
  });

  test('index RTSI 2017-09-14: value, previous close, capitalization; no price fields, no trading status, no delay', () => {
    const [rtsi] = parseBoardSnapshot(real('rtsi-2017-09-14.json'), source('stock', 'index', 'RTSI', 'index', ['RTSI'])).quotes;
    assert.deepEqual(present(rtsi!), {
      indexValue: 1125.69,
      indexPrevClose: 1118.38,
      open: 1116.82,
      high: 1127.45,
      low: 1112.43,
      value: 31569273506,
      capitalization: 9511542707105,
      changePercent: 0.6536,
    });
    assert.equal(rtsi!.trading, null, 'no TRADINGSTATUS column: unknown, not "not trading"');
    assert.equal(rtsi!.delaySeconds, 0);
    assert.equal(rtsi!.last, null);
  });

  test('bonds EQOB 2017-09-22: price in percent of face, yield, duration, coupon, accrued, maturity', () => {
    const [bond] = parseBoardSnapshot(real('eqob-2017-09-22.json'), source('stock', 'bonds', 'EQOB', 'bonds', ['RU000A0JVBS1'])).quotes;
    assert.deepEqual(present(bond!), {
      last: 98.6,
      open: 97.79,
      high: 98.6,
      low: 97.12,
      waprice: 97.66,
      prevClose: 97.07,
      changePercent: 1.5762,
      volume: 478,
      value: 467437,
      trades: 33,
      bondYield: 14.37,
      bondDuration: 240,
      accruedInterest: 36.7,
      faceValue: 1000,
      couponValue: 58.59,
      daysToMaturity: 1342,
    });
    assert.equal(bond!.delaySeconds, 900);
  });

  test('bonds TQCB 16 rows 2026-09-28, filtered columns without UPDATETIME: the snapshot time', () => {
    const { quotes } = parseBoardSnapshot(real('tqcb-x5-2026-09-28.json'), source('stock', 'bonds', 'TQCB', 'bonds', 'ALL'));
    assert.equal(quotes.length, 16);
    const first = quotes[0]!;
    assert.deepEqual(
      [first.ticker, first.last, first.bondYield, first.bondDuration, first.faceValue, first.daysToMaturity],
      ['RU000A1075S4', 99.95, 17.33, 18, 1000, 19],
    );
    assert.deepEqual(first.time, new Date('2026-09-28T09:59:21Z'));
    assert.equal(first.delaySeconds, 0);
  });

  test('futures RFUD SiZ7 2017-09-22: settle price, open interest, previous settle; mixed-case SECID matched', () => {
    const [si] = parseBoardSnapshot(real('rfud-2017-09-22.json'), source('futures', 'forts', 'RFUD', 'futures', ['SIZ7'])).quotes;
    assert.equal(si!.ticker, 'SiZ7', 'ISS spelling kept');
    assert.deepEqual(present(si!), {
      last: 58358,
      open: 58883,
      high: 58883,
      low: 58346,
      prevClose: 58889,
      changePercent: -0.9017,
      volume: 1060377,
      value: 62097497536,
      trades: 202284,
      openInterest: 3526602,
      settlePrice: 58358,
    });
    assert.equal(si!.trading, null);
    assert.deepEqual(si!.time, new Date('2017-09-22T09:30:04Z'));
    assert.equal(si!.delaySeconds, 900);
  });
});
