import { Counter, Gauge, type Registry } from 'prom-client';
import { algopackMetricName, DATASETS, feedName, type AlgopackFeed } from '../../lib/moex/algopack/datasets';
import type { AlgopackBar } from '../../lib/moex/algopack/parse';
import { instrumentKey } from '../../lib/moex/algopack/plan';

/** One instrument's series of one dataset: its newest bar's end, and how long its dataset has gone without it. */
interface Tracked {
  end: number;
  labels: Record<string, string>;
  timeLabels: Record<string, string>;
  /** Successful walks of its dataset in a row that did not return it. */
  absentWalks: number;
}

/**
 * The worker's ALGOPACK gauges: `moex_algopack_<dataset>_<column>{ticker,market}` (futoi also
 * `clgroup`) for the exported columns of lib/moex/algopack/datasets.ts, plus each bar's end time
 * and publication lag. Always the newest bar per instrument: an older bar (a page read late) does
 * not overwrite it, and a column that is null in the newest bar has no series. An instrument its
 * dataset has not returned for `removeAfterWalks` successful walks in a row (delisted, an expired
 * contract) loses its series, counted in moex_algopack_series_removed_total{market,dataset}.
 */
export function createAlgopackMetrics(feeds: readonly AlgopackFeed[], registry: Registry, removeAfterWalks: number) {
  const registers = [registry];
  const datasets = [...new Set(feeds.map((f) => f.dataset))];
  const gauges = new Map(
    datasets.flatMap((dataset) =>
      DATASETS[dataset].exported.map(({ column, help }) => {
        const labelNames = DATASETS[dataset].groupColumn ? ['ticker', 'market', 'clgroup'] : ['ticker', 'market'];
        return [
          `${dataset}/${column}`,
          new Gauge({ name: algopackMetricName(dataset, column), help: `${help} (ALGOPACK ${dataset}.${column})`, labelNames, registers }),
        ] as const;
      }),
    ),
  );
  const labelNames = ['dataset', 'market', 'ticker', 'clgroup'] as const;
  const barTime = new Gauge({
    name: 'moex_algopack_bar_timestamp_seconds',
    help: 'End of the newest ALGOPACK bar (tradedate + tradetime, Moscow time), Unix seconds',
    labelNames,
    registers,
  });
  const barLag = new Gauge({
    name: 'moex_algopack_bar_lag_seconds',
    help: 'Publication delay of the newest ALGOPACK bar: SYSTIME minus the bar end',
    labelNames,
    registers,
  });
  const removed = new Counter({
    name: 'moex_algopack_series_removed_total',
    help: 'ALGOPACK instruments (futoi: client groups) whose series were removed because their dataset stopped returning them (MOEX_REMOVE_AFTER_POLLS successful cycles)',
    labelNames: ['market', 'dataset'] as const,
    registers,
  });
  for (const { market, dataset } of feeds) removed.inc({ market, dataset }, 0);
  /** Per feed (`market/dataset`), per instrumentKey. */
  const tracked = new Map<string, Map<string, Tracked>>(feeds.map((f) => [feedName(f), new Map()]));

  return {
    update(bars: readonly AlgopackBar[]): void {
      for (const bar of bars) {
        const instruments = tracked.get(feedName(bar))!;
        const key = instrumentKey(bar);
        const previous = instruments.get(key);
        if (previous && previous.end > bar.end.getTime()) continue;
        const labels: Record<string, string> =
          bar.group === null ? { ticker: bar.ticker, market: bar.market } : { ticker: bar.ticker, market: bar.market, clgroup: bar.group };
        const timeLabels = { dataset: bar.dataset, market: bar.market, ticker: bar.ticker, clgroup: bar.group ?? '' };
        instruments.set(key, { end: bar.end.getTime(), labels, timeLabels, absentWalks: 0 });
        for (const { column } of DATASETS[bar.dataset].exported) {
          const gauge = gauges.get(`${bar.dataset}/${column}`)!;
          const value = bar.fields[column];
          if (value === undefined) gauge.remove(labels);
          else gauge.set(labels, value);
        }
        barTime.set(timeLabels, bar.end.getTime() / 1000);
        if (bar.published) barLag.set(timeLabels, (bar.published.getTime() - bar.end.getTime()) / 1000);
        else barLag.remove(timeLabels);
      }
    },

    /**
     * A successful walk of a feed's newest bars returned these instruments (instrumentKey); each
     * other one with series counts a walk without it. A failed walk is never reported: no evidence
     * that an instrument is gone.
     */
    instrumentsSeen(feed: AlgopackFeed, seen: ReadonlySet<string>): void {
      const instruments = tracked.get(feedName(feed))!;
      for (const [key, s] of instruments) {
        if (seen.has(key)) s.absentWalks = 0;
        else if (++s.absentWalks >= removeAfterWalks) {
          for (const { column } of DATASETS[feed.dataset].exported) gauges.get(`${feed.dataset}/${column}`)!.remove(s.labels);
          barTime.remove(s.timeLabels);
          barLag.remove(s.timeLabels);
          instruments.delete(key);
          removed.inc({ market: feed.market, dataset: feed.dataset });
        }
      }
    },
  };
}
