import { algopackMetricName } from '../../lib/moex/algopack/datasets';
import { fieldsOfMarket, marketKindOf } from '../../lib/moex/markets';
import { NUMERIC_FIELDS, type NumericField } from '../../lib/moex/quote';
import type { VectorSample } from './prometheus-client';

/** The fields every quote of the API has (docs/api.md), null where Prometheus has no series. */
const COMMON_FIELDS = ['last', 'bid', 'offer', 'open', 'high', 'low', 'prevClose', 'changePercent', 'volume', 'value', 'trades'] as const;

/**
 * A quote as the API answers it (docs/api.md): the common price fields, plus the fields of its own
 * market (an index's value, a bond's yield, a future's open interest), the time as ISO text, its age
 * and the feed's delay.
 */
export type ApiQuote = {
  ticker: string;
  board: string;
  engine: string;
  market: string;
  trading: boolean | null;
  time: string | null;
  ageSeconds: number | null;
  delaySeconds: number | null;
  /** Shares only, when ALGOPACK tradestats has a bar for the ticker (docs/algopack.md); absent otherwise. */
  orderFlow?: OrderFlow;
} & Partial<Record<NumericField, number | null>>;

/** The newest 5-minute ALGOPACK bar of a share: disbalance, and lots bought and sold by aggressors; null: no series. */
export interface OrderFlow {
  disbalance: number | null;
  boughtLots: number | null;
  soldLots: number | null;
}

/** Worker gauge → OrderFlow field: the shares' (ALGOPACK market `eq`) tradestats. */
const ORDER_FLOW_OF_METRIC: Record<string, keyof OrderFlow> = {
  [algopackMetricName('tradestats', 'disb')]: 'disbalance',
  [algopackMetricName('tradestats', 'vol_b')]: 'boughtLots',
  [algopackMetricName('tradestats', 'vol_s')]: 'soldLots',
};

/** Worker metric → API field (docs/metrics.md → docs/api.md), from the one table that names the fields. */
const FIELD_OF_METRIC: Record<string, NumericField | 'trading' | 'timestamp' | 'delaySeconds'> = {
  ...Object.fromEntries(NUMERIC_FIELDS.filter((f) => f.field !== 'waprice').map((f) => [f.metric, f.field])),
  moex_trading: 'trading',
  moex_quote_timestamp_seconds: 'timestamp',
  moex_data_delay_seconds: 'delaySeconds',
};

/**
 * One query for every quote family of every ticker, and whether the feed is the simulator. Option
 * series are left out: ROPD=ALL is ~30,000 of them per family, more than every other board together;
 * /api/options serves them one chain at a time (options.ts).
 */
export const QUOTES_PROMQL = `{__name__=~"${[...Object.keys(FIELD_OF_METRIC), ...Object.keys(ORDER_FLOW_OF_METRIC), 'moex_simulated_feed'].join('|')}", market!="options"}`;

/** What /api/quotes answers: the quotes, and `simulated` when their prices come from the ISS simulator. */
export interface QuotesAnswer {
  quotes: ApiQuote[];
  simulated: boolean;
}

export function quotesAnswerFromSamples(samples: readonly VectorSample[], nowSeconds: number): QuotesAnswer {
  const simulated = samples.some((s) => s.metric.__name__ === 'moex_simulated_feed' && s.value[1] === '1');
  return { quotes: quotesFromSamples(samples, nowSeconds), simulated };
}

/**
 * The price series of one ticker, for history: its last price, or an index's value. SECIDs match
 * case-insensitively (futures such as SiZ7); TICKER_PATTERN keeps regex characters out.
 */
export const lastPricePromql = (ticker: string) => `{__name__=~"moex_last_price|moex_index_value", ticker=~"(?i)${ticker}"}`;

function emptyQuote(metric: Record<string, string>): ApiQuote {
  const engine = metric.engine ?? 'stock';
  const market = metric.market ?? 'shares';
  const own = fieldsOfMarket(marketKindOf(engine, market) ?? 'shares').filter((f) => f !== 'waprice');
  const quote: ApiQuote = {
    ticker: metric.ticker!,
    board: metric.board ?? '',
    engine,
    market,
    trading: null,
    time: null,
    ageSeconds: null,
    delaySeconds: null,
  };
  for (const field of new Set<NumericField>([...COMMON_FIELDS, ...own])) quote[field] = null;
  return quote;
}

/** Groups Prometheus samples into quotes, sorted by ticker. Pure: `nowSeconds` gives the ages. */
function quotesFromSamples(samples: readonly VectorSample[], nowSeconds: number): ApiQuote[] {
  const byKey = new Map<string, ApiQuote>();
  for (const { metric, value } of samples) {
    const field = FIELD_OF_METRIC[metric.__name__ ?? ''];
    const number = Number(value[1]);
    if (!field || !metric.ticker || !Number.isFinite(number)) continue;
    const key = `${metric.ticker}\u0000${metric.board ?? ''}`;
    let quote = byKey.get(key);
    if (!quote) {
      quote = emptyQuote(metric);
      byKey.set(key, quote);
    }
    if (field === 'trading') quote.trading = number === 1;
    else if (field === 'timestamp') {
      quote.time = new Date(number * 1000).toISOString();
      quote.ageSeconds = Math.max(0, Math.round(nowSeconds - number));
    } else quote[field] = number;
  }
  const flows = orderFlowByTicker(samples);
  for (const quote of byKey.values()) {
    const flow = quote.market === 'shares' ? flows.get(quote.ticker) : undefined;
    if (flow) quote.orderFlow = flow;
  }
  return [...byKey.values()].sort((a, b) => a.ticker.localeCompare(b.ticker) || a.board.localeCompare(b.board));
}

/** The shares' order flow by ticker, from the ALGOPACK gauges; a ticker without any has no entry. */
function orderFlowByTicker(samples: readonly VectorSample[]): Map<string, OrderFlow> {
  const flows = new Map<string, OrderFlow>();
  for (const { metric, value } of samples) {
    const field = ORDER_FLOW_OF_METRIC[metric.__name__ ?? ''];
    const number = Number(value[1]);
    if (!field || metric.market !== 'eq' || !metric.ticker || !Number.isFinite(number)) continue;
    let flow = flows.get(metric.ticker);
    if (!flow) {
      flow = { disbalance: null, boughtLots: null, soldLots: null };
      flows.set(metric.ticker, flow);
    }
    flow[field] = number;
  }
  return flows;
}
