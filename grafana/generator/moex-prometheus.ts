import { BigValueColorMode } from '@grafana/grafana-foundation-sdk/common';
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { binaryMapping, buildDashboard, heatmap, queryVariable, stat, table, type Threshold, timeseries } from './panels';
import { DS, infinityJson, prom } from './queries';

// Quotes as the worker exposes them (docs/metrics.md), scraped by Prometheus. Every quote series
// carries engine and market (shares: stock/shares): $market picks the markets, $ticker lists
// only the tickers of those markets.
const sel = '{market=~"$market", ticker=~"$ticker"}';

const marketVariable = queryVariable(
  'market',
  'Market',
  DS.prometheus,
  { qryType: 1, query: 'label_values(moex_last_price,market)', refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  'label_values(moex_last_price,market)',
  { current: 'shares' },
);

const tickerVariable = queryVariable(
  'ticker',
  'Ticker',
  DS.prometheus,
  { qryType: 1, query: 'label_values(moex_last_price{market=~"$market"},ticker)', refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  'label_values(moex_last_price{market=~"$market"},ticker)',
);

// Anonymous ISS quotes are ~15 min late by design: yellow only past 20 min, red past 1 h.
const ageThresholds: Threshold[] = [
  { color: 'green', value: null },
  { color: 'yellow', value: 1200 },
  { color: 'red', value: 3600 },
];
const signThresholds: Threshold[] = [
  { color: 'red', value: null },
  { color: 'green', value: 0 },
];

// One row per ticker: several instant queries merged on their shared fields. Grafana's merge
// matches rows on every field the frames share, the metric name (__name__) included, so each
// query keeps exactly the same labels and no name.
const row = (expr: string) => prom(`max by (ticker, board, market) (${expr})`, '', { instant: true, format: PromQueryFormat.Table });
const quotesTable = table({
  title: 'Quotes',
  description: 'Current quote per ticker from the worker’s gauges. Age is exchange time vs now (ISS delays anonymous data ~15 min).',
  targets: [
    row(`moex_last_price${sel}`),
    row(`moex_bid_price${sel}`),
    row(`moex_offer_price${sel}`),
    row(`moex_change_percent${sel}`),
    row(`moex_volume_today${sel}`),
    row(`moex_trading${sel}`),
    row(`time() - moex_quote_timestamp_seconds${sel}`),
  ],
  transformations: [
    { id: 'merge', options: {} },
    {
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: {
          ticker: 0,
          board: 1,
          market: 2,
          'Value #A': 3,
          'Value #B': 4,
          'Value #C': 5,
          'Value #D': 6,
          'Value #E': 7,
          'Value #F': 8,
          'Value #G': 9,
        },
        renameByName: {
          ticker: 'Ticker',
          board: 'Board',
          market: 'Market',
          'Value #A': 'Last',
          'Value #B': 'Bid',
          'Value #C': 'Offer',
          'Value #D': 'Change %',
          'Value #E': 'Volume',
          'Value #F': 'Trading',
          'Value #G': 'Age',
        },
      },
    },
  ],
  overrides: [
    {
      name: 'Change %',
      properties: [
        { id: 'unit', value: 'percent' },
        { id: 'decimals', value: 2 },
      ],
    },
    { name: 'Age', properties: [{ id: 'unit', value: 's' }] },
    { name: 'Trading', properties: [{ id: 'mappings', value: binaryMapping('trading', 'closed') }] },
  ],
});

const backendQuotesTable = table({
  title: 'Quotes from the backend API',
  description: 'GET /api/quotes of the backend (Infinity datasource): the same Prometheus data as the service’s users see it.',
  targets: [
    infinityJson('/api/quotes', '$.quotes', [
      { selector: 'ticker', text: 'Ticker', type: 'string' },
      { selector: 'market', text: 'Market', type: 'string' },
      { selector: 'last', text: 'Last', type: 'number' },
      { selector: 'changePercent', text: 'Change %', type: 'number' },
      { selector: 'volume', text: 'Volume', type: 'number' },
      { selector: 'trading', text: 'Trading', type: 'boolean' },
      { selector: 'ageSeconds', text: 'Age (s)', type: 'number' },
    ]),
  ],
});

export const moexPrometheus = buildDashboard(
  {
    uid: 'moex-prometheus',
    title: 'MOEX quotes (Prometheus)',
    description: 'MOEX ISS quotes exported by worker-prometheus and scraped by Prometheus.',
    tags: ['moex', 'prometheus'],
    variables: [marketVariable, tickerVariable],
  },
  [
    {
      row: 'Now',
      panels: [
        [stat({ title: 'Last price', targets: [prom(`moex_last_price${sel}`, '{{ticker}}')], sparkline: true, decimals: 2 }), 8, 5],
        [
          stat({
            title: 'Change vs previous close',
            targets: [prom(`moex_change_percent${sel}`, '{{ticker}}')],
            unit: 'percent',
            decimals: 2,
            thresholds: signThresholds,
          }),
          6,
          5,
        ],
        [
          stat({
            title: 'Trading status',
            description: 'moex_trading: 1 while the board reports TRADINGSTATUS = T. Indices and futures have no trading status (no series).',
            targets: [prom(`moex_trading${sel}`, '{{ticker}}')],
            mappings: binaryMapping('Trading', 'Closed'),
            colorMode: BigValueColorMode.Background,
          }),
          5,
          5,
        ],
        [
          stat({
            title: 'Data age',
            description: 'time() - moex_quote_timestamp_seconds. About 15 min is normal for anonymous ISS data.',
            targets: [prom(`time() - moex_quote_timestamp_seconds${sel}`, '{{ticker}}')],
            unit: 's',
            thresholds: ageThresholds,
          }),
          5,
          5,
        ],
        [quotesTable, 14, 8],
        [backendQuotesTable, 10, 8],
      ],
    },
    {
      row: 'Prices',
      panels: [
        [timeseries({ title: 'Last price', targets: [prom(`moex_last_price${sel}`, '{{ticker}}')], decimals: 2 }), 12, 8],
        [
          timeseries({
            title: 'Bid / offer',
            description: 'Best bid and offer. Absent outside the session, when ISS reports them as null.',
            targets: [prom(`moex_bid_price${sel}`, '{{ticker}} bid'), prom(`moex_offer_price${sel}`, '{{ticker}} offer')],
            decimals: 2,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Open / high / low / weighted average',
            targets: [
              prom(`moex_open_price${sel}`, '{{ticker}} open'),
              prom(`moex_high_price${sel}`, '{{ticker}} high'),
              prom(`moex_low_price${sel}`, '{{ticker}} low'),
              prom(`moex_waprice${sel}`, '{{ticker}} wap'),
            ],
            decimals: 2,
          }),
          12,
          8,
        ],
        [timeseries({ title: 'Change vs previous close', targets: [prom(`moex_change_percent${sel}`, '{{ticker}}')], unit: 'percent', decimals: 2 }), 12, 8],
      ],
    },
    {
      row: 'Distribution of last / previous close',
      panels: [
        [
          heatmap({
            title: 'last / previous close (histogram)',
            description:
              'moex_price_relative_to_prev_close, observed once per poll while a security trades (listed tickers unless MOEX_HISTOGRAM says otherwise): how far from yesterday’s close the price sat during trading. Empty while the market is closed.',
            targets: [
              prom(`sum by (le) (increase(moex_price_relative_to_prev_close_bucket${sel}[$__rate_interval]))`, '{{le}}', { format: PromQueryFormat.Heatmap }),
            ],
          }),
          12,
          9,
        ],
        [
          timeseries({
            title: 'last / previous close quantiles',
            description: 'Median and 90th percentile of the same histogram per ticker; 1.0 = at the previous close.',
            targets: [
              prom(`histogram_quantile(0.5, sum by (le, ticker) (rate(moex_price_relative_to_prev_close_bucket${sel}[$__rate_interval])))`, '{{ticker}} p50'),
              prom(`histogram_quantile(0.9, sum by (le, ticker) (rate(moex_price_relative_to_prev_close_bucket${sel}[$__rate_interval])))`, '{{ticker}} p90'),
            ],
            decimals: 3,
          }),
          12,
          9,
        ],
      ],
    },
    {
      row: 'Activity',
      panels: [
        [timeseries({ title: 'Volume today (units)', targets: [prom(`moex_volume_today${sel}`, '{{ticker}}')] }), 8, 8],
        [timeseries({ title: 'Value today (RUB)', targets: [prom(`moex_value_today${sel}`, '{{ticker}}')], unit: 'currencyRUB' }), 8, 8],
        [timeseries({ title: 'Trades today', targets: [prom(`moex_trades_today${sel}`, '{{ticker}}')] }), 8, 8],
        [timeseries({ title: 'Data age', targets: [prom(`time() - moex_quote_timestamp_seconds${sel}`, '{{ticker}}')], unit: 's', min: 0 }), 24, 7],
      ],
    },
  ],
);
