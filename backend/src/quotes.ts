import type { Quote } from '../../lib/moex/quote';
import type { VectorSample } from './prometheus-client';

/**
 * A quote as the API answers it (CONTRACT §7): the quote model's fields as the worker exports them
 * (no short name or waprice), with null where Prometheus has no series, the time as ISO text and its age.
 */
export type ApiQuote = Omit<Quote, 'shortName' | 'waprice' | 'trading' | 'time' | 'delaySeconds'> & {
  delaySeconds: number | null;
  trading: boolean | null;
  time: string | null;
  ageSeconds: number | null;
};

type NumericKey = 'last' | 'bid' | 'offer' | 'open' | 'high' | 'low' | 'prevClose' | 'changePercent' | 'volume' | 'value' | 'trades' | 'delaySeconds';

/** Worker metric → API field (CONTRACT §4 → §7). */
const FIELD_OF_METRIC: Record<string, NumericKey | 'trading' | 'timestamp'> = {
  moex_last_price: 'last',
  moex_bid_price: 'bid',
  moex_offer_price: 'offer',
  moex_open_price: 'open',
  moex_high_price: 'high',
  moex_low_price: 'low',
  moex_prev_close_price: 'prevClose',
  moex_change_percent: 'changePercent',
  moex_volume_today: 'volume',
  moex_value_today: 'value',
  moex_trades_today: 'trades',
  moex_trading: 'trading',
  moex_quote_timestamp_seconds: 'timestamp',
  moex_data_delay_seconds: 'delaySeconds',
};

/** One query for every quote family of every ticker. */
export const QUOTES_PROMQL = `{__name__=~"${Object.keys(FIELD_OF_METRIC).join('|')}"}`;

/** The last price series of one ticker, for history. */
export const lastPricePromql = (ticker: string) => `moex_last_price{ticker="${ticker}"}`;

/** Groups Prometheus samples into quotes, sorted by ticker. Pure: `nowSeconds` gives the ages. */
export function quotesFromSamples(samples: readonly VectorSample[], nowSeconds: number): ApiQuote[] {
  const byKey = new Map<string, ApiQuote>();
  for (const { metric, value } of samples) {
    const field = FIELD_OF_METRIC[metric.__name__ ?? ''];
    const { ticker, board } = metric;
    const number = Number(value[1]);
    if (!field || !ticker || !Number.isFinite(number)) continue;
    const key = `${ticker}\u0000${board ?? ''}`;
    let quote = byKey.get(key);
    if (!quote) {
      quote = {
        ticker, board: board ?? '', last: null, bid: null, offer: null, open: null, high: null, low: null, prevClose: null,
        changePercent: null, volume: null, value: null, trades: null, trading: null, time: null, ageSeconds: null, delaySeconds: null,
      };
      byKey.set(key, quote);
    }
    if (field === 'trading') quote.trading = number === 1;
    else if (field === 'timestamp') {
      quote.time = new Date(number * 1000).toISOString();
      quote.ageSeconds = Math.max(0, Math.round(nowSeconds - number));
    } else quote[field] = number;
  }
  return [...byKey.values()].sort((a, b) => a.ticker.localeCompare(b.ticker) || a.board.localeCompare(b.board));
}
