import { Gauge, Histogram, type Registry } from 'prom-client';
import { NUMERIC_FIELDS, type Quote } from '../../lib/moex/quote';

const LABELS = ['ticker', 'board', 'engine', 'market'] as const;

/** Each quote gauge of CONTRACT §4 and the quote field it shows; null → the series is absent. */
const QUOTE_GAUGES: ReadonlyArray<{ name: string; help: string; read: (q: Quote) => number | null }> = [
  ...NUMERIC_FIELDS.map(({ metric, help, field }) => ({ name: metric, help, read: (q: Quote) => q[field] })),
  { name: 'moex_trading', help: '1 while the security trades (TRADINGSTATUS T), else 0; absent where ISS has no status', read: (q) => (q.trading === null ? null : q.trading ? 1 : 0) },
  { name: 'moex_quote_timestamp_seconds', help: 'Exchange time the quote belongs to (UPDATETIME on SYSTIME\'s date), Unix seconds', read: (q) => q.time.getTime() / 1000 },
  { name: 'moex_data_delay_seconds', help: 'SYSTIME minus the quote time: the feed\'s delay (about 900 anonymous, about 0 real-time)', read: (q) => q.delaySeconds },
];

export const PRICE_RATIO_BUCKETS = [0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 1, 1.005, 1.01, 1.02, 1.03, 1.05, 1.1];

/** Registers the quote metrics on `registry`; `update` applies one poll's quotes. */
export function registerQuoteMetrics(registry: Registry) {
  const registers = [registry];
  const gauges = QUOTE_GAUGES.map(({ name, help, read }) => ({
    gauge: new Gauge({ name, help, labelNames: LABELS, registers }),
    read,
  }));
  const priceRatio = new Histogram({
    name: 'moex_price_relative_to_prev_close',
    help: 'Last price divided by the previous close, observed once per poll per ticker',
    labelNames: LABELS,
    buckets: PRICE_RATIO_BUCKETS,
    registers,
  });

  return {
    update(quotes: readonly Quote[]): void {
      for (const quote of quotes) {
        const labels = { ticker: quote.ticker, board: quote.board, engine: quote.engine, market: quote.market };
        for (const { gauge, read } of gauges) {
          const value = read(quote);
          if (value === null) gauge.remove(labels);
          else gauge.set(labels, value);
        }
        if (quote.last !== null && quote.prevClose !== null) priceRatio.observe(labels, quote.last / quote.prevClose);
      }
    },
  };
}
