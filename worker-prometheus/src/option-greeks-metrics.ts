import { familyHeader, joinText, labelPairs, sampleValue } from '../../lib/exposition';
import { GREEK_FIELDS, type SelectedSeries, type SeriesGreeks } from '../../lib/moex/option-greeks';
import { optionLabels } from '../../lib/moex/options';

/**
 * moex_option_implied_volatility, moex_option_theoretical_price, moex_option_delta … (docs/metrics.md):
 * the calculator's figures of each polled option series, with the series' labels (as its quote
 * gauges have them), rendered by hand like the quote families: ALL option series are 30,000.
 */
export function createOptionGreeksMetrics() {
  const series = new Map<string, { labels: string; asset: string; values: Array<number | null> }>();
  const keyOf = (s: SelectedSeries) => `${s.ticker}\u0000${s.board}`;

  return {
    /**
     * One refresh: the answered series take their new figures; a series of an asset that failed keeps
     * its last; any other series (no longer polled, or no longer on the calculator's board) is dropped.
     */
    update(answered: readonly SeriesGreeks[], failedAssets: ReadonlySet<string>): void {
      const fresh = new Set(answered.map(keyOf));
      for (const [key, s] of series) if (!fresh.has(key) && !failedAssets.has(s.asset)) series.delete(key);
      for (const a of answered) {
        const key = keyOf(a);
        // A series' contract (its SECID's strike and expiry) never changes: its label text is rendered once.
        const labels =
          series.get(key)?.labels ?? labelPairs({ ticker: a.ticker, board: a.board, engine: a.engine, market: a.market, ...optionLabels(a.contract) });
        series.set(key, { labels, asset: a.contract.underlying, values: GREEK_FIELDS.map(({ field }) => a.greeks[field]) });
      }
    },

    render(): string {
      return joinText(...this.families());
    },

    /** Each family's text, as the quote families (quote-metrics.ts). */
    *families(): Generator<string> {
      for (const [g, { metric, help }] of GREEK_FIELDS.entries()) {
        const lines = [familyHeader(metric, help, 'gauge')];
        for (const s of series.values()) {
          const value = s.values[g];
          if (value !== null && value !== undefined) lines.push(`${metric}{${s.labels}} ${sampleValue(value)}`);
        }
        yield lines.join('\n');
      }
    },
  };
}
