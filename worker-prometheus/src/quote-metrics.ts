import { Counter, type Registry } from 'prom-client';
import { familyHeader, joinText, labelPairs, sampleValue } from '../../lib/exposition';
import type { BoardSource } from '../../lib/moex/markets';
import { optionLabels } from '../../lib/moex/options';
import { NUMERIC_FIELDS, type Quote } from '../../lib/moex/quote';

/** Each quote gauge of docs/metrics.md and the quote field it shows; null → the series is absent. */
const QUOTE_GAUGES: ReadonlyArray<{ name: string; help: string; read: (q: Quote) => number | null }> = [
  ...NUMERIC_FIELDS.map(({ metric, help, field }) => ({ name: metric, help, read: (q: Quote) => q[field] })),
  {
    name: 'moex_trading',
    help: '1 while the security trades (TRADINGSTATUS T), else 0; absent where ISS has no status',
    read: (q) => (q.trading === null ? null : q.trading ? 1 : 0),
  },
  {
    name: 'moex_option_at_the_money',
    help: 'Option series: 1 when its strike is the central strike of its underlying and expiry (CENTRALSTRIKE), else 0',
    read: (q) => (q.option && q.centralStrike !== null ? (Number(q.option.strike) === q.centralStrike ? 1 : 0) : null),
  },
  {
    name: 'moex_quote_timestamp_seconds',
    help: "Exchange time the quote belongs to (UPDATETIME on SYSTIME's date), Unix seconds",
    read: (q) => q.time.getTime() / 1000,
  },
  {
    name: 'moex_data_delay_seconds',
    help: "SYSTIME minus the quote time: the feed's delay (about 900 anonymous, about 0 real-time)",
    read: (q) => q.delaySeconds,
  },
];

export const PRICE_RATIO_BUCKETS = [0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 1, 1.005, 1.01, 1.02, 1.03, 1.05, 1.1];
const RATIO = {
  name: 'moex_price_relative_to_prev_close',
  help: 'Last price divided by the previous close, observed once per poll while the security trades (MOEX_HISTOGRAM boards)',
};

/** MOEX_HISTOGRAM: which securities get the relative-price histogram. */
export const HISTOGRAM_MODES = ['listed', 'off', 'all'] as const;
export type HistogramMode = (typeof HISTOGRAM_MODES)[number];

/**
 * The boards whose securities get the histogram: its 16 series per security are about half of all
 * samples at an `ALL` board, so by default (`listed`) only boards of listed tickers have it.
 */
export function histogramBoards(mode: HistogramMode, sources: readonly BoardSource[]): ReadonlySet<string> {
  return new Set(sources.filter((s) => mode === 'all' || (mode === 'listed' && s.tickers !== 'ALL')).map((s) => s.board));
}

/** One security's series: its labels rendered once, its gauges' values, its histogram. */
interface Series {
  board: string;
  /** `ticker="…",board="…",engine="…",market="…"` */
  labels: string;
  values: Array<number | null>;
  /** Observations per bucket (not cumulative; the last slot is above every bound), sum, count. */
  ratio: { counts: number[]; sum: number; count: number } | null;
  /** The day's NUMTRADES and VOLTODAY at the last poll: a rise is a trade since then. */
  trades: number | null;
  volume: number | null;
  /** Successful polls of its board in a row that did not return it. */
  absentPolls: number;
  /** The update that last returned it. */
  seenInUpdate: number;
}

/**
 * Whether the security trades now: TRADINGSTATUS T, or, on markets whose answers have no
 * TRADINGSTATUS (indices, futures), a trade since the previous poll. Only then is its price
 * observed, so the histogram is weighted by trading time rather than by POLL_SCHEDULE.
 */
export function tradesNow(quote: Quote, previous: { trades: number | null; volume: number | null } | undefined): boolean {
  if (quote.trading !== null) return quote.trading;
  if (!previous) return false;
  const rose = (now: number | null, before: number | null) => now !== null && before !== null && now > before;
  return rose(quote.trades, previous.trades) || rose(quote.volume, previous.volume);
}

/** One security's series: the same ticker on another board or market is another. */
const seriesKey = (quote: Quote) => `${quote.ticker}\u0000${quote.board}\u0000${quote.engine}\u0000${quote.market}`;

export interface QuoteMetricsOptions {
  /** Boards whose securities get the relative-price histogram (see histogramBoards). */
  histogramBoards: ReadonlySet<string>;
  /** A security absent from this many successful polls of its board in a row loses every series. */
  removeAfterPolls: number;
  /** Called once per security whose series were removed that way. */
  onSeriesRemoved?(board: string): void;
}

/**
 * The quote families (docs/metrics.md: labels ticker, board, engine, market; option series also
 * underlying, option_type, strike, expiry), kept per security and
 * rendered by hand rather than through prom-client: at 30,000 securities prom-client's label
 * hashing per Gauge.set and its per-sample formatting took seconds of every cycle. The text is what
 * prom-client writes for the same series (test/unit/worker-metrics.test.ts compares the two).
 */
export function createQuoteMetrics({ histogramBoards: withHistogram, removeAfterPolls, onSeriesRemoved }: QuoteMetricsOptions) {
  const series = new Map<string, Series>();
  let updates = 0;

  return {
    /**
     * Applies one poll cycle: the quotes, and the boards that answered it (a failed board's
     * securities are left as they were: a failed poll is no evidence that a security is gone).
     * A field that is null removes its series.
     */
    update(quotes: readonly Quote[], answeredBoards: readonly string[]): void {
      const update = ++updates;
      for (const quote of quotes) {
        const key = seriesKey(quote);
        const previous = series.get(key);
        const s: Series = previous ?? {
          board: quote.board,
          labels: labelPairs({
            ticker: quote.ticker,
            board: quote.board,
            engine: quote.engine,
            market: quote.market,
            ...(quote.option ? optionLabels(quote.option) : {}),
          }),
          values: [],
          ratio: null,
          trades: null,
          volume: null,
          absentPolls: 0,
          seenInUpdate: update,
        };
        if (!previous) series.set(key, s);
        for (let g = 0; g < QUOTE_GAUGES.length; g++) s.values[g] = QUOTE_GAUGES[g]!.read(quote);
        if (quote.last !== null && quote.prevClose !== null && withHistogram.has(quote.board) && tradesNow(quote, previous)) {
          const ratio = quote.last / quote.prevClose;
          s.ratio ??= { counts: new Array<number>(PRICE_RATIO_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
          const bucket = PRICE_RATIO_BUCKETS.findIndex((bound) => ratio <= bound);
          s.ratio.counts[bucket === -1 ? PRICE_RATIO_BUCKETS.length : bucket]! += 1;
          s.ratio.sum += ratio;
          s.ratio.count += 1;
        }
        s.trades = quote.trades;
        s.volume = quote.volume;
        s.absentPolls = 0;
        s.seenInUpdate = update;
      }
      const answered = new Set(answeredBoards);
      for (const [key, s] of series) {
        if (s.seenInUpdate === update || !answered.has(s.board)) continue;
        if (++s.absentPolls < removeAfterPolls) continue;
        series.delete(key);
        onSeriesRemoved?.(s.board);
      }
    },

    /**
     * Quotes the stream (ISS+) changed between polls: their gauges take the new values. Only the
     * poll observes the histogram and tells a security gone, so neither is touched here; a security
     * with no series yet (the poll has not returned it) waits for the poll.
     */
    refresh(quotes: readonly Quote[]): void {
      for (const quote of quotes) {
        const s = series.get(seriesKey(quote));
        if (s) for (let g = 0; g < QUOTE_GAUGES.length; g++) s.values[g] = QUOTE_GAUGES[g]!.read(quote);
      }
    },

    /** Drops every series uncounted: the securities went to another replica (MOEX_SHARD=auto/N). */
    forgetAll(): void {
      series.clear();
    },

    /** The families as Prometheus text, one family after another as prom-client joins them. */
    render(): string {
      return joinText(...this.families());
    },

    /** Each family's text, one at a time (the worker encodes each as it comes, never joining them: lib/exposition.ts). */
    *families(): Generator<string> {
      for (let g = 0; g < QUOTE_GAUGES.length; g++) {
        const { name, help } = QUOTE_GAUGES[g]!;
        const lines = [familyHeader(name, help, 'gauge')];
        for (const s of series.values()) {
          const value = s.values[g];
          if (value !== null && value !== undefined) lines.push(`${name}{${s.labels}} ${sampleValue(value)}`);
        }
        yield lines.join('\n');
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
      yield lines.join('\n');
    },
  };
}

/** moex_series_removed_total{board}: one count per security whose series were removed for having left its board. */
export function registerSeriesRemovedCounter(registry: Registry, boards: readonly string[]): (board: string) => void {
  const removed = new Counter({
    name: 'moex_series_removed_total',
    help: 'Securities whose series were removed because their board stopped returning them (MOEX_REMOVE_AFTER_POLLS successful polls)',
    labelNames: ['board'] as const,
    registers: [registry],
  });
  for (const board of boards) removed.inc({ board }, 0);
  return (board) => removed.inc({ board });
}
