import { familyHeader, labelPairs, sampleValue } from '../../lib/exposition';
import { NUMERIC_FIELDS, type Quote } from '../../lib/moex/quote';

/** Each quote gauge of docs/metrics.md and the quote field it shows; null → the series is absent. */
const QUOTE_GAUGES: ReadonlyArray<{ name: string; help: string; read: (q: Quote) => number | null }> = [
  ...NUMERIC_FIELDS.map(({ metric, help, field }) => ({ name: metric, help, read: (q: Quote) => q[field] })),
  { name: 'moex_trading', help: '1 while the security trades (TRADINGSTATUS T), else 0; absent where ISS has no status', read: (q) => (q.trading === null ? null : q.trading ? 1 : 0) },
  { name: 'moex_quote_timestamp_seconds', help: 'Exchange time the quote belongs to (UPDATETIME on SYSTIME\'s date), Unix seconds', read: (q) => q.time.getTime() / 1000 },
  { name: 'moex_data_delay_seconds', help: 'SYSTIME minus the quote time: the feed\'s delay (about 900 anonymous, about 0 real-time)', read: (q) => q.delaySeconds },
];

export const PRICE_RATIO_BUCKETS = [0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 1, 1.005, 1.01, 1.02, 1.03, 1.05, 1.1];
const RATIO = { name: 'moex_price_relative_to_prev_close', help: 'Last price divided by the previous close, observed once per poll per ticker' };

/** One security's series: its labels rendered once, its gauges' values, its histogram. */
interface Series {
  /** `ticker="…",board="…",engine="…",market="…"` */
  labels: string;
  values: Array<number | null>;
  /** Observations per bucket (not cumulative; the last slot is above every bound), sum, count. */
  ratio: { counts: number[]; sum: number; count: number } | null;
}

/**
 * The quote families (docs/metrics.md: labels ticker, board, engine, market), kept per security and
 * rendered by hand rather than through prom-client: at 30,000 securities prom-client's label
 * hashing per Gauge.set and its per-sample formatting took seconds of every cycle. The text is what
 * prom-client writes for the same series (test/unit/worker-metrics.test.ts compares the two).
 */
export function createQuoteMetrics() {
  const series = new Map<string, Series>();

  return {
    /** Applies one poll's quotes: a field that is null removes its series. */
    update(quotes: readonly Quote[]): void {
      for (const quote of quotes) {
        const key = `${quote.ticker}\u0000${quote.board}\u0000${quote.engine}\u0000${quote.market}`;
        let s = series.get(key);
        if (!s) {
          s = { labels: labelPairs({ ticker: quote.ticker, board: quote.board, engine: quote.engine, market: quote.market }), values: [], ratio: null };
          series.set(key, s);
        }
        for (let g = 0; g < QUOTE_GAUGES.length; g++) s.values[g] = QUOTE_GAUGES[g]!.read(quote);
        if (quote.last !== null && quote.prevClose !== null) {
          const ratio = quote.last / quote.prevClose;
          s.ratio ??= { counts: new Array<number>(PRICE_RATIO_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
          const bucket = PRICE_RATIO_BUCKETS.findIndex((bound) => ratio <= bound);
          s.ratio.counts[bucket === -1 ? PRICE_RATIO_BUCKETS.length : bucket]! += 1;
          s.ratio.sum += ratio;
          s.ratio.count += 1;
        }
      }
    },

    /** The families as Prometheus text, one family after another as prom-client joins them. */
    render(): string {
      const families: string[] = [];
      for (let g = 0; g < QUOTE_GAUGES.length; g++) {
        const { name, help } = QUOTE_GAUGES[g]!;
        const lines = [familyHeader(name, help, 'gauge')];
        for (const s of series.values()) {
          const value = s.values[g];
          if (value !== null && value !== undefined) lines.push(`${name}{${s.labels}} ${sampleValue(value)}`);
        }
        families.push(lines.join('\n'));
      }
      const lines = [familyHeader(RATIO.name, RATIO.help, 'histogram')];
      const les = [...PRICE_RATIO_BUCKETS.map((b) => sampleValue(b)), '+Inf'];
      for (const s of series.values()) {
        if (!s.ratio) continue;
        let cumulative = 0;
        for (let b = 0; b < les.length; b++) {
          cumulative += s.ratio.counts[b]!;
          lines.push(`${RATIO.name}_bucket{le="${les[b]}",${s.labels}} ${cumulative}`);
        }
        lines.push(`${RATIO.name}_sum{${s.labels}} ${sampleValue(s.ratio.sum)}`, `${RATIO.name}_count{${s.labels}} ${s.ratio.count}`);
      }
      families.push(lines.join('\n'));
      return `${families.join('\n\n')}\n`;
    },
  };
}
