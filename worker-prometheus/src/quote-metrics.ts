import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Quote } from '../../lib/moex/quote';

const LABELS = ['ticker', 'board'] as const;

/** Each quote gauge of CONTRACT §4 and the quote field it shows; null → the series is absent. */
const QUOTE_GAUGES: ReadonlyArray<{ name: string; help: string; read: (q: Quote) => number | null }> = [
  { name: 'moex_last_price', help: 'Last trade price (LAST), board currency', read: (q) => q.last },
  { name: 'moex_bid_price', help: 'Best bid (BID), board currency', read: (q) => q.bid },
  { name: 'moex_offer_price', help: 'Best offer (OFFER), board currency', read: (q) => q.offer },
  { name: 'moex_open_price', help: 'Opening price (OPEN), board currency', read: (q) => q.open },
  { name: 'moex_high_price', help: 'Day high (HIGH), board currency', read: (q) => q.high },
  { name: 'moex_low_price', help: 'Day low (LOW), board currency', read: (q) => q.low },
  { name: 'moex_waprice', help: 'Weighted average price (WAPRICE), board currency', read: (q) => q.waprice },
  { name: 'moex_prev_close_price', help: 'Previous close (PREVPRICE), board currency', read: (q) => q.prevClose },
  { name: 'moex_change_percent', help: 'Last price vs previous close, percent', read: (q) => q.changePercent },
  { name: 'moex_volume_today', help: 'Shares traded today (VOLTODAY)', read: (q) => q.volume },
  { name: 'moex_value_today', help: 'Money traded today (VALTODAY), board currency', read: (q) => q.value },
  { name: 'moex_trades_today', help: 'Trades today (NUMTRADES)', read: (q) => q.trades },
  { name: 'moex_trading', help: '1 while the security trades (TRADINGSTATUS T), else 0', read: (q) => (q.trading ? 1 : 0) },
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
        const labels = { ticker: quote.ticker, board: quote.board };
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
