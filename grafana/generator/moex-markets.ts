import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { buildDashboard, stat, table, type Threshold, timeseries, xychart } from './panels';
import { graphite, influx, prom } from './queries';

// Every market but shares, from every store that has it (docs/metrics.md, docs/iss.md):
// Prometheus labels market (ISS names: selt, index, bonds, forts) and board; Graphite
// `stocks.<market>.<TICKER>.<field>`; InfluxDB one measurement per market, tags ticker and board.
// Funds trade on stock/shares (board TQTF): Prometheus and InfluxDB tell them apart by board,
// Graphite cannot (they share `stocks.<TICKER>` with the shares).
const lastOf = (labels: string) => prom(`moex_last_price{${labels}}`, '{{ticker}}');
const influxOverTime = (field: string, measurement: string, where = '') =>
  influx(`SELECT last("${field}") FROM "${measurement}" WHERE ${where}$timeFilter GROUP BY time($__interval), "ticker" fill(none)`);
// aliasByNode(stocks.selt.*.last, 2) → "USD000UTSTOM".
const graphiteMarket = (market: string, field: string) => graphite(`aliasByNode(stocks.${market}.*.${field}, 2)`);

const signThresholds: Threshold[] = [
  { color: 'red', value: null },
  { color: 'green', value: 0 },
];

// The OFZ board: instant gauges, one row per bond. Grafana's merge matches rows on every field the
// frames share (a metric name too), so each query keeps the ticker alone.
const ofz = 'board="TQOB"';
const bondColumns = (exprs: string[]) => exprs.map((e) => prom(`max by (ticker) (${e}{${ofz}})`, '', { instant: true, format: PromQueryFormat.Table }));
const byMaturity = { id: 'sortBy', options: { fields: {}, sort: [{ field: 'Days to maturity', desc: false }] } };
const bondLabels = { Time: true };

export const moexMarkets = buildDashboard(
  {
    uid: 'moex-markets',
    title: 'MOEX markets',
    description: 'Rouble rates, indices, the OFZ yield curve, futures open interest and funds, from Prometheus, InfluxDB and Graphite.',
    tags: ['moex', 'markets'],
  },
  [
    {
      row: 'Rouble rates (currency/selt, CETS)',
      panels: [
        [
          stat({
            title: 'Rouble rates now',
            description: 'Last price of each currency pair, roubles.',
            targets: [lastOf('market="selt"')],
            sparkline: true,
            decimals: 4,
          }),
          24,
          4,
        ],
        [timeseries({ title: 'Rouble rates (Prometheus)', targets: [lastOf('market="selt"')], decimals: 4 }), 8, 8],
        [timeseries({ title: 'Rouble rates (InfluxDB currencies)', targets: [influxOverTime('last', 'currencies')], decimals: 4 }), 8, 8],
        [timeseries({ title: 'Rouble rates (Graphite stocks.selt)', targets: [graphiteMarket('selt', 'last')], decimals: 4 }), 8, 8],
      ],
    },
    {
      row: 'Indices (stock/index, SNDX)',
      panels: [
        [stat({ title: 'Index value', targets: [prom('moex_index_value', '{{ticker}}')], sparkline: true, decimals: 2 }), 12, 4],
        [
          stat({
            title: 'Index change vs previous close',
            targets: [prom('moex_change_percent{market="index"}', '{{ticker}}')],
            unit: 'percent',
            decimals: 2,
            thresholds: signThresholds,
          }),
          12,
          4,
        ],
        [timeseries({ title: 'Index value (Prometheus)', targets: [prom('moex_index_value', '{{ticker}}')], decimals: 2 }), 8, 8],
        [timeseries({ title: 'Index value (InfluxDB indices)', targets: [influxOverTime('index_value', 'indices')], decimals: 2 }), 8, 8],
        [timeseries({ title: 'Index value (Graphite stocks.index)', targets: [graphiteMarket('index', 'index_value')], decimals: 2 }), 8, 8],
      ],
    },
    {
      row: 'OFZ (stock/bonds, TQOB)',
      panels: [
        [
          xychart({
            title: 'OFZ yield curve',
            description:
              'Yield (moex_bond_yield_percent) against days to maturity (moex_bond_days_to_maturity), one point per bond, joined in a line by maturity.',
            targets: bondColumns(['moex_bond_days_to_maturity', 'moex_bond_yield_percent']),
            transformations: [
              { id: 'merge', options: {} },
              {
                id: 'organize',
                options: {
                  excludeByName: bondLabels,
                  indexByName: { ticker: 0, 'Value #A': 1, 'Value #B': 2 },
                  renameByName: { 'Value #A': 'Days to maturity', 'Value #B': 'Yield %' },
                },
              },
              byMaturity,
            ],
            xLabel: 'Days to maturity',
            yLabel: 'Yield %',
            decimals: 2,
          }),
          12,
          9,
        ],
        [
          table({
            title: 'OFZ by maturity',
            description: 'Price in percent of face value; accrued interest and next coupon in roubles per bond.',
            targets: bondColumns([
              'moex_bond_days_to_maturity',
              'moex_bond_yield_percent',
              'moex_bond_duration_days',
              'moex_last_price',
              'moex_bond_accrued_interest',
              'moex_bond_coupon_value',
            ]),
            transformations: [
              { id: 'merge', options: {} },
              {
                id: 'organize',
                options: {
                  excludeByName: bondLabels,
                  indexByName: { ticker: 0, 'Value #A': 1, 'Value #B': 2, 'Value #C': 3, 'Value #D': 4, 'Value #E': 5, 'Value #F': 6 },
                  renameByName: {
                    ticker: 'Bond',
                    'Value #A': 'Days to maturity',
                    'Value #B': 'Yield %',
                    'Value #C': 'Duration (days)',
                    'Value #D': 'Price (% of face)',
                    'Value #E': 'Accrued interest',
                    'Value #F': 'Next coupon',
                  },
                },
              },
              byMaturity,
            ],
            overrides: [{ name: 'Yield %', properties: [{ id: 'decimals', value: 2 }] }],
          }),
          12,
          9,
        ],
        [
          timeseries({ title: 'OFZ yields (Prometheus)', targets: [prom(`moex_bond_yield_percent{${ofz}}`, '{{ticker}}')], unit: 'percent', decimals: 2 }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'OFZ yields (InfluxDB bonds)',
            targets: [influxOverTime('yield', 'bonds', `"board" = 'TQOB' AND `)],
            unit: 'percent',
            decimals: 2,
          }),
          12,
          8,
        ],
      ],
    },
    {
      row: 'Futures (futures/forts, RFUD)',
      panels: [
        [
          timeseries({
            title: 'Open interest (Prometheus)',
            description: 'Open positions, contracts.',
            targets: [prom('moex_futures_open_interest', '{{ticker}}')],
          }),
          8,
          8,
        ],
        [timeseries({ title: 'Open interest (InfluxDB futures)', targets: [influxOverTime('open_interest', 'futures')] }), 8, 8],
        [timeseries({ title: 'Open interest (Graphite stocks.forts)', targets: [graphiteMarket('forts', 'open_interest')] }), 8, 8],
      ],
    },
    {
      row: 'Funds (stock/shares, TQTF)',
      panels: [
        [stat({ title: 'Fund prices now', targets: [lastOf('board="TQTF"')], sparkline: true, decimals: 3 }), 12, 5],
        [
          stat({
            title: 'Fund change vs previous close',
            targets: [prom('moex_change_percent{board="TQTF"}', '{{ticker}}')],
            unit: 'percent',
            decimals: 2,
            thresholds: signThresholds,
          }),
          12,
          5,
        ],
        [timeseries({ title: 'Fund prices (Prometheus)', targets: [lastOf('board="TQTF"')], decimals: 3 }), 12, 8],
        [
          timeseries({ title: 'Fund prices (InfluxDB stocks, board TQTF)', targets: [influxOverTime('last', 'stocks', `"board" = 'TQTF' AND `)], decimals: 3 }),
          12,
          8,
        ],
      ],
    },
  ],
);
