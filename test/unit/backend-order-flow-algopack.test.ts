import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUOTES_PROMQL, quotesAnswerFromSamples } from '../../backend/src/quotes';
import type { VectorSample } from '../../backend/src/prometheus-client';

const NOW = 1_767_000_000;
const sample = (name: string, labels: Record<string, string>, value: number): VectorSample => ({
  metric: { __name__: name, ...labels },
  value: [NOW, String(value)],
});
const share = (ticker: string) => ({ ticker, board: 'TQBR', engine: 'stock', market: 'shares' });

test('the quotes query asks Prometheus for the shares order flow too', () => {
  for (const name of ['moex_algopack_tradestats_disb', 'moex_algopack_tradestats_vol_b', 'moex_algopack_tradestats_vol_s'])
    assert.ok(QUOTES_PROMQL.includes(name), name);
});

test('a share with an ALGOPACK bar gets its order flow; one without gets no field at all, not zeros', () => {
  const { quotes } = quotesAnswerFromSamples(
    [
      sample('moex_last_price', share('SBER'), 300.5),
      sample('moex_last_price', share('GAZP'), 120.1),
      sample('moex_algopack_tradestats_disb', { ticker: 'SBER', market: 'eq' }, -0.25),
      sample('moex_algopack_tradestats_vol_b', { ticker: 'SBER', market: 'eq' }, 1500),
      sample('moex_algopack_tradestats_vol_s', { ticker: 'SBER', market: 'eq' }, 2500),
    ],
    NOW,
  );
  const byTicker = new Map(quotes.map((q) => [q.ticker, q]));
  assert.equal(quotes.length, 2, 'the ALGOPACK samples make no quote of their own');
  assert.deepEqual(byTicker.get('SBER')!.orderFlow, { disbalance: -0.25, boughtLots: 1500, soldLots: 2500 });
  assert.equal('orderFlow' in byTicker.get('GAZP')!, false);
});

test('a missing column stays null; a futures bar of the same code never lands on a share', () => {
  const { quotes } = quotesAnswerFromSamples(
    [
      sample('moex_last_price', share('SBER'), 300.5),
      sample('moex_last_price', { ticker: 'SiZ6', board: 'RFUD', engine: 'futures', market: 'forts' }, 90000),
      sample('moex_algopack_tradestats_disb', { ticker: 'SBER', market: 'eq' }, 0.5),
      sample('moex_algopack_tradestats_disb', { ticker: 'SiZ6', market: 'fo' }, 0.9),
    ],
    NOW,
  );
  const byTicker = new Map(quotes.map((q) => [q.ticker, q]));
  assert.deepEqual(byTicker.get('SBER')!.orderFlow, { disbalance: 0.5, boughtLots: null, soldLots: null });
  assert.equal('orderFlow' in byTicker.get('SiZ6')!, false, 'the page shows order flow for the polled shares only');
});
