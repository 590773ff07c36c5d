import { Gauge, type Registry } from 'prom-client';
import { algopackMetricName, DATASETS, type AlgopackFeed } from '../../lib/moex/algopack/datasets';
import type { AlgopackBar } from '../../lib/moex/algopack/parse';

const seriesKey = (bar: AlgopackBar) => `${bar.market}/${bar.dataset}/${bar.ticker}/${bar.group ?? ''}`;

/**
 * The worker's ALGOPACK gauges: `moex_algopack_<dataset>_<column>{ticker,market}` (futoi also
 * `clgroup`) for the exported columns of lib/moex/algopack/datasets.ts, plus each bar's end time
 * and publication lag. Always the newest bar per instrument: an older bar (a page read late) does
 * not overwrite it, and a column that is null in the newest bar has no series.
 */
export function createAlgopackMetrics(feeds: readonly AlgopackFeed[], registry: Registry) {
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
  const newest = new Map<string, number>();

  return {
    update(bars: readonly AlgopackBar[]): void {
      for (const bar of bars) {
        const key = seriesKey(bar);
        if ((newest.get(key) ?? -Infinity) > bar.end.getTime()) continue;
        newest.set(key, bar.end.getTime());
        const labels = bar.group === null ? { ticker: bar.ticker, market: bar.market } : { ticker: bar.ticker, market: bar.market, clgroup: bar.group };
        for (const { column } of DATASETS[bar.dataset].exported) {
          const gauge = gauges.get(`${bar.dataset}/${column}`)!;
          const value = bar.fields[column];
          if (value === undefined) gauge.remove(labels);
          else gauge.set(labels, value);
        }
        const timeLabels = { dataset: bar.dataset, market: bar.market, ticker: bar.ticker, clgroup: bar.group ?? '' };
        barTime.set(timeLabels, bar.end.getTime() / 1000);
        if (bar.published) barLag.set(timeLabels, (bar.published.getTime() - bar.end.getTime()) / 1000);
        else barLag.remove(timeLabels);
      }
    },
  };
}
