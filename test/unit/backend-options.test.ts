import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPTION_INDEX_PROMQL, optionChainFromSamples, optionChainPromql, optionIndexFromSamples } from '../../backend/src/options';
import type { VectorSample } from '../../backend/src/prometheus-client';
import { QUOTES_PROMQL } from '../../backend/src/quotes';

/** Samples as Prometheus answers them for the worker's option series (labels: docs/metrics.md). */
const NOW = 1_767_000_000;
const series = (ticker: string, underlying: string, type: 'call' | 'put', strike: string, expiry: string) => ({
  ticker,
  board: 'ROPD',
  engine: 'futures',
  market: 'options',
  underlying,
  option_type: type,
  strike,
  expiry,
  job: 'worker-prometheus',
  instance: '127.0.0.1:8000',
});
const sample = (name: string, labels: Record<string, string>, value: number): VectorSample => ({
  metric: { __name__: name, ...labels },
  value: [NOW, String(value)],
});

const DEC = '2026-12-17';
const C75 = series('Si75000BL6', 'Si', 'call', '75000', DEC);
const P75 = series('Si75000BX6', 'Si', 'put', '75000', DEC);
const C80 = series('Si80000BL6', 'Si', 'call', '80000', DEC);
const P80 = series('Si80000BX6', 'Si', 'put', '80000', DEC);
const C100 = series('Si100000BL6', 'Si', 'call', '100000', DEC);

test('the index query is a count by underlying, expiry and type of the option series only', () => {
  assert.match(OPTION_INDEX_PROMQL, /^count by \(underlying, expiry, option_type\) \(/);
  assert.match(OPTION_INDEX_PROMQL, /market="options"/);
});

test('index: underlyings by name, expiries by date, calls and puts counted apart', () => {
  const count = (underlying: string, expiry: string, type: string, n: number): VectorSample => ({
    metric: { underlying, expiry, option_type: type },
    value: [NOW, String(n)],
  });
  const index = optionIndexFromSamples([
    count('Si', '2027-01-21', 'call', 40),
    count('RTS', '2026-12-17', 'put', 30),
    count('Si', DEC, 'put', 61),
    count('Si', DEC, 'call', 60),
    count('RTS', '2026-12-17', 'call', 31),
  ]);
  assert.deepEqual(index, {
    underlyings: [
      { underlying: 'RTS', expiries: [{ expiry: '2026-12-17', calls: 31, puts: 30 }] },
      {
        underlying: 'Si',
        expiries: [
          { expiry: DEC, calls: 60, puts: 61 },
          { expiry: '2027-01-21', calls: 40, puts: 0 },
        ],
      },
    ],
  });
  assert.deepEqual(optionIndexFromSamples([]), { underlyings: [] });
});

test("a chain's query names its underlying (any case) and expiry and only the figures a row shows", () => {
  const promql = optionChainPromql('si', DEC);
  assert.match(promql, /market="options"/);
  assert.match(promql, /underlying=~"\(\?i\)si"/);
  assert.match(promql, /expiry="2026-12-17"/);
  for (const name of ['moex_last_price', 'moex_option_open_interest', 'moex_option_implied_volatility', 'moex_option_central_strike'])
    assert.ok(promql.includes(name), name);
  for (const name of ['moex_volume_today', 'moex_option_gamma', 'moex_quote_timestamp_seconds']) assert.ok(!promql.includes(name), name);
});

test('chain: strikes in numeric order, call and put side by side, the central strike marked, unknowns null', () => {
  const chain = optionChainFromSamples([
    sample('moex_last_price', C100, 12.5),
    sample('moex_option_open_interest', C100, 40),
    sample('moex_bid_price', P80, 1510),
    sample('moex_offer_price', P80, 1530),
    sample('moex_option_open_interest', P80, 1200),
    sample('moex_option_open_interest_change', P80, -35),
    sample('moex_option_implied_volatility', P80, 21.7),
    sample('moex_option_theoretical_price', P80, 1519.5),
    sample('moex_option_delta', P80, -0.49),
    sample('moex_last_price', C80, 1602),
    sample('moex_option_open_interest', C80, 900),
    sample('moex_option_implied_volatility', C80, 21.4),
    sample('moex_option_delta', C80, 0.51),
    sample('moex_option_open_interest', C75, 10),
    sample('moex_option_open_interest', P75, 300),
    ...[C75, P75, C80, P80, C100].map((s) => sample('moex_option_central_strike', s, 80000)),
    ...[C75, P75, C80, P80, C100].map((s) => sample('moex_option_underlying_settle_price', s, 80125)),
  ])!;
  assert.equal(chain.underlying, 'Si');
  assert.equal(chain.expiry, DEC);
  assert.equal(chain.centralStrike, 80000);
  assert.equal(chain.underlyingPrice, 80125);
  // "100000" sorts before "75000" as text: numeric order is what a chain needs.
  assert.deepEqual(
    chain.rows.map((r) => [r.strike, r.atTheMoney, r.call?.ticker ?? null, r.put?.ticker ?? null]),
    [
      ['75000', false, 'Si75000BL6', 'Si75000BX6'],
      ['80000', true, 'Si80000BL6', 'Si80000BX6'],
      ['100000', false, 'Si100000BL6', null],
    ],
  );
  assert.deepEqual(chain.rows[1]!.put, {
    ticker: 'Si80000BX6',
    last: null,
    bid: 1510,
    offer: 1530,
    openInterest: 1200,
    openInterestChange: -35,
    impliedVolatility: 21.7,
    theoreticalPrice: 1519.5,
    delta: -0.49,
  });
  assert.equal(chain.rows[1]!.call!.last, 1602);
  assert.equal(chain.rows[1]!.call!.theoreticalPrice, null, 'a figure without a series is null, not 0');
  assert.equal(chain.rows[2]!.call!.impliedVolatility, null);
});

test('chain: decimal strikes sort by value; no central strike known marks no row', () => {
  const strikes = ['0.9', '0.85', '1.05', '1'];
  const chain = optionChainFromSamples(strikes.map((k, i) => sample('moex_option_open_interest', series(`CNY${i}`, 'CNY', 'call', k, DEC), 1)))!;
  assert.deepEqual(
    chain.rows.map((r) => r.strike),
    ['0.85', '0.9', '1', '1.05'],
  );
  assert.equal(chain.centralStrike, null);
  assert.ok(chain.rows.every((r) => !r.atTheMoney && r.put === null));
});

test('chain: two series of one type at one strike each keep a row; no series at all is null', () => {
  const american = series('Si80000BL6', 'Si', 'call', '80000', DEC);
  const european = series('Si80000BL6E', 'Si', 'call', '80000', DEC);
  const chain = optionChainFromSamples([sample('moex_last_price', european, 2), sample('moex_last_price', american, 1), sample('moex_last_price', P80, 3)])!;
  assert.deepEqual(
    chain.rows.map((r) => [r.strike, r.call?.ticker, r.put?.ticker ?? null]),
    [
      ['80000', 'Si80000BL6', 'Si80000BX6'],
      ['80000', 'Si80000BL6E', null],
    ],
  );
  assert.equal(optionChainFromSamples([]), null);
});

test('/api/quotes reads no option series: its query leaves market "options" out', () => {
  assert.match(QUOTES_PROMQL, /market!="options"\}$/);
});
