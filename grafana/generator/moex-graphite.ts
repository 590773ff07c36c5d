import { buildDashboard, queryVariable, stat, type Threshold, timeseries } from './panels';
import { DS, graphite } from './queries';

// Series `stocks.<TICKER>.<field>` (docs/metrics.md), written by the scraper through StatsD or
// carbon plaintext. The prefix is GRAPHITE_PREFIX's default; a deployment that changes it
// changes it here too.
const series = (fields: string) => `stocks.$ticker.${fields}`;
// aliasByNode(…, 1) → "SBER"; (…, 1, 2) → "SBER.bid".
const byTicker = (fields: string) => `aliasByNode(${series(fields)}, 1)`;
const byTickerAndField = (fields: string) => `aliasByNode(${series(fields)}, 1, 2)`;

// `*` for All keeps the target short with hundreds of tickers (MOEX_TICKERS=ALL) and
// picks up new tickers before the variable refreshes; `stocks.*.<field>` matches shares only.
// The nodes of the other markets and of candles (`stocks.selt`, `stocks.candles`) sit beside
// the tickers in lower case: the regex keeps them out of the list.
const tickerVariable = queryVariable('ticker', 'Ticker', DS.graphite, { queryType: 'Default', target: 'stocks.*', refId: 'A' }, 'stocks.*', {
  allValue: '*',
  regex: '/^[A-Z0-9_-]+$/',
});

const signThresholds: Threshold[] = [
  { color: 'red', value: null },
  { color: 'green', value: 0 },
];

export const moexGraphite = buildDashboard(
  {
    uid: 'moex-graphite',
    title: 'MOEX quotes (Graphite)',
    description: 'MOEX ISS quotes written by the scraper to Graphite (StatsD or carbon plaintext).',
    tags: ['moex', 'graphite'],
    variables: [tickerVariable],
  },
  [
    {
      row: 'Now',
      panels: [
        [stat({ title: 'Last price', targets: [graphite(byTicker('last'))], sparkline: true, decimals: 2 }), 12, 5],
        [
          stat({
            title: 'Change vs previous close',
            targets: [graphite(byTicker('change_percent'))],
            unit: 'percent',
            decimals: 2,
            thresholds: signThresholds,
          }),
          12,
          5,
        ],
      ],
    },
    {
      row: 'Prices',
      panels: [
        [timeseries({ title: 'Last price', targets: [graphite(byTicker('last'))], decimals: 2 }), 12, 8],
        [
          timeseries({
            title: 'Bid / offer',
            description: 'Not sent while ISS reports them as null (outside the session).',
            targets: [graphite(byTickerAndField('{bid,offer}'))],
            decimals: 2,
          }),
          12,
          8,
        ],
        [timeseries({ title: 'Open / high / low / weighted average', targets: [graphite(byTickerAndField('{open,high,low,waprice}'))], decimals: 2 }), 12, 8],
        [timeseries({ title: 'Previous close', targets: [graphite(byTicker('prev_close'))], decimals: 2 }), 12, 8],
        [timeseries({ title: 'Change vs previous close', targets: [graphite(byTicker('change_percent'))], unit: 'percent', decimals: 2 }), 24, 8],
      ],
    },
    {
      row: 'Activity',
      panels: [
        [timeseries({ title: 'Volume today (shares)', targets: [graphite(byTicker('volume'))] }), 8, 8],
        [timeseries({ title: 'Value today (RUB)', targets: [graphite(byTicker('value'))], unit: 'currencyRUB' }), 8, 8],
        [timeseries({ title: 'Trades today', targets: [graphite(byTicker('trades'))] }), 8, 8],
      ],
    },
  ],
);
