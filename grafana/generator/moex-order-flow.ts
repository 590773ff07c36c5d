import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { buildDashboard, table, type Threshold, timeseries } from './panels';
import { influx, prom } from './queries';

// ALGOPACK (docs/algopack.md): the worker's gauges hold each instrument's newest 5-minute bar,
// labelled ticker and market (ALGOPACK's names: eq, fo, fx), futoi also clgroup (FIZ persons,
// YUR companies); InfluxDB has every bar at its own end time, one measurement per dataset.
// A dataset MOEX_ALGOPACK does not poll leaves its panels empty.

const signThresholds: Threshold[] = [
  { color: 'red', value: null },
  { color: 'green', value: 0 },
];

// One row per instrument: instant queries merged on their shared labels (no metric name, see moex-prometheus.ts).
const column = (expr: string) => prom(`max by (ticker, market) (${expr})`, '', { instant: true, format: PromQueryFormat.Table });
const orderFlowTable = table({
  title: 'Newest bar per instrument',
  description: 'Disbalance, volume bought and sold by aggressive buyers and sellers (lots), and the bar’s end, from ALGOPACK tradestats.',
  targets: [
    column('moex_algopack_tradestats_disb'),
    column('moex_algopack_tradestats_vol_b'),
    column('moex_algopack_tradestats_vol_s'),
    column('time() - moex_algopack_bar_timestamp_seconds{dataset="tradestats"}'),
  ],
  transformations: [
    { id: 'merge', options: {} },
    {
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: { ticker: 0, market: 1, 'Value #A': 2, 'Value #B': 3, 'Value #C': 4, 'Value #D': 5 },
        renameByName: {
          ticker: 'Ticker',
          market: 'Market',
          'Value #A': 'Disbalance',
          'Value #B': 'Bought (lots)',
          'Value #C': 'Sold (lots)',
          'Value #D': 'Bar age',
        },
      },
    },
  ],
  overrides: [
    { name: 'Disbalance', properties: [{ id: 'decimals', value: 2 }] },
    { name: 'Bar age', properties: [{ id: 'unit', value: 's' }] },
  ],
});

export const moexOrderFlow = buildDashboard(
  {
    uid: 'moex-order-flow',
    title: 'MOEX order flow',
    description: 'ALGOPACK super candles and futures open interest (subscribers): who is buying, how the book looks, who holds futures.',
    tags: ['moex', 'algopack'],
    time: 'now-6h',
  },
  [
    {
      row: 'Order flow (tradestats)',
      panels: [
        [
          timeseries({
            title: 'Disbalance',
            description: '(bought - sold) / (bought + sold) of each 5-minute bar: 1 all buys, -1 all sells.',
            targets: [prom('moex_algopack_tradestats_disb', '{{ticker}} ({{market}})')],
            decimals: 2,
            min: -1,
            max: 1,
            thresholds: signThresholds,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Volume bought / sold',
            description: 'Lots bought by aggressive buyers and sold by aggressive sellers in the newest bar.',
            targets: [prom('moex_algopack_tradestats_vol_b', '{{ticker}} bought'), prom('moex_algopack_tradestats_vol_s', '{{ticker}} sold')],
          }),
          12,
          8,
        ],
        [orderFlowTable, 14, 8],
        [
          timeseries({
            title: 'Disbalance per bar (InfluxDB)',
            description: 'Every stored bar at its own end time, gaps after an outage backfilled by the scraper.',
            targets: [influx('SELECT last("disb") FROM "tradestats" WHERE $timeFilter GROUP BY time(5m), "ticker" fill(none)')],
            decimals: 2,
          }),
          10,
          8,
        ],
      ],
    },
    {
      row: 'Order book (obstats)',
      panels: [
        [
          timeseries({
            title: 'Spread',
            description: 'Mean best bid/offer spread of the bar (shares: spread_bbo; futures and currency: first level, spread_l1), basis points.',
            targets: [prom('moex_algopack_obstats_spread_bbo', '{{ticker}}'), prom('moex_algopack_obstats_spread_l1', '{{ticker}}')],
            decimals: 1,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Book imbalance',
            description: 'Volume imbalance at the best bid/offer, -1..1 (shares): positive, more bid volume.',
            targets: [prom('moex_algopack_obstats_imbalance_vol_bbo', '{{ticker}}')],
            decimals: 2,
            min: -1,
            max: 1,
          }),
          12,
          8,
        ],
      ],
    },
    {
      row: 'Futures open interest by client group (futoi)',
      panels: [
        [
          timeseries({
            title: 'Long / short positions',
            description: 'Open positions of persons (FIZ) and companies (YUR), contracts; short positions are negative.',
            targets: [
              prom('moex_algopack_futoi_pos_long', '{{ticker}} {{clgroup}} long'),
              prom('moex_algopack_futoi_pos_short', '{{ticker}} {{clgroup}} short'),
            ],
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Net position',
            description: 'Long minus short, per asset and client group, contracts.',
            targets: [prom('moex_algopack_futoi_pos', '{{ticker}} {{clgroup}}')],
            thresholds: signThresholds,
          }),
          12,
          8,
        ],
      ],
    },
  ],
);
