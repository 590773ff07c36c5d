import { binaryMapping, DashboardBuilder, DS, heatmap, jsonApi, prom, queryVariable, stat, table, timeseries } from './model';

// Quotes as the worker exposes them (CONTRACT §4), scraped by Prometheus.
const sel = '{ticker=~"$ticker"}';

const tickerVariable = queryVariable(
  'ticker',
  'Ticker',
  DS.prometheus,
  { qryType: 1, query: 'label_values(moex_last_price,ticker)', refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  'label_values(moex_last_price,ticker)',
);

// Anonymous ISS quotes are ~15 min late by design: yellow only past 20 min, red past 1 h.
const ageThresholds = [
  { color: 'green', value: null },
  { color: 'yellow', value: 1200 },
  { color: 'red', value: 3600 },
];
const signThresholds = [
  { color: 'red', value: null },
  { color: 'green', value: 0 },
];

// One row per ticker: several instant queries merged on their shared labels.
const quotesTable = table({
  title: 'Quotes',
  description: 'Current quote per ticker from the worker’s gauges. Age is exchange time vs now (ISS delays anonymous data ~15 min).',
  targets: [
    prom(`moex_last_price${sel}`, '', { instant: true, format: 'table' }),
    prom(`moex_bid_price${sel}`, '', { instant: true, format: 'table' }),
    prom(`moex_offer_price${sel}`, '', { instant: true, format: 'table' }),
    prom(`moex_change_percent${sel}`, '', { instant: true, format: 'table' }),
    prom(`moex_volume_today${sel}`, '', { instant: true, format: 'table' }),
    prom(`moex_trading${sel}`, '', { instant: true, format: 'table' }),
    prom(`time() - moex_quote_timestamp_seconds${sel}`, '', { instant: true, format: 'table' }),
  ],
  transformations: [
    { id: 'merge', options: {} },
    {
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, instance: true, job: true },
        indexByName: { ticker: 0, board: 1, 'Value #A': 2, 'Value #B': 3, 'Value #C': 4, 'Value #D': 5, 'Value #E': 6, 'Value #F': 7, 'Value #G': 8 },
        renameByName: {
          ticker: 'Ticker',
          board: 'Board',
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
    { matcher: { id: 'byName', options: 'Change %' }, properties: [{ id: 'unit', value: 'percent' }, { id: 'decimals', value: 2 }] },
    { matcher: { id: 'byName', options: 'Age' }, properties: [{ id: 'unit', value: 's' }] },
    { matcher: { id: 'byName', options: 'Trading' }, properties: [{ id: 'mappings', value: binaryMapping('trading', 'closed') }] },
  ],
});

const backendQuotesTable = table({
  title: 'Quotes from the backend API',
  description: 'GET /api/quotes of the backend (JSON API datasource): the same Prometheus data as the service’s users see it.',
  targets: [
    jsonApi('/api/quotes', [
      { name: 'Ticker', jsonPath: '$.quotes[*].ticker', type: 'string' },
      { name: 'Last', jsonPath: '$.quotes[*].last', type: 'number' },
      { name: 'Change %', jsonPath: '$.quotes[*].changePercent', type: 'number' },
      { name: 'Volume', jsonPath: '$.quotes[*].volume', type: 'number' },
      { name: 'Trading', jsonPath: '$.quotes[*].trading', type: 'boolean' },
      { name: 'Age (s)', jsonPath: '$.quotes[*].ageSeconds', type: 'number' },
    ]),
  ],
});

export const moexPrometheus = new DashboardBuilder()
  .row('Now')
  .add(stat({ title: 'Last price', targets: [prom(`moex_last_price${sel}`, '{{ticker}}')], sparkline: true, decimals: 2 }), 8, 5)
  .add(stat({ title: 'Change vs previous close', targets: [prom(`moex_change_percent${sel}`, '{{ticker}}')], unit: 'percent', decimals: 2, thresholds: signThresholds }), 6, 5)
  .add(
    stat({
      title: 'Trading status',
      description: 'moex_trading: 1 while the board reports TRADINGSTATUS = T.',
      targets: [prom(`moex_trading${sel}`, '{{ticker}}')],
      mappings: binaryMapping('Trading', 'Closed'),
      colorMode: 'background',
    }),
    5,
    5,
  )
  .add(
    stat({
      title: 'Data age',
      description: 'time() - moex_quote_timestamp_seconds. About 15 min is normal for anonymous ISS data.',
      targets: [prom(`time() - moex_quote_timestamp_seconds${sel}`, '{{ticker}}')],
      unit: 's',
      thresholds: ageThresholds,
    }),
    5,
    5,
  )
  .add(quotesTable, 14, 8)
  .add(backendQuotesTable, 10, 8)
  .row('Prices')
  .add(timeseries({ title: 'Last price', targets: [prom(`moex_last_price${sel}`, '{{ticker}}')], decimals: 2 }), 12, 8)
  .add(
    timeseries({
      title: 'Bid / offer',
      description: 'Best bid and offer. Absent outside the session, when ISS reports them as null.',
      targets: [prom(`moex_bid_price${sel}`, '{{ticker}} bid'), prom(`moex_offer_price${sel}`, '{{ticker}} offer')],
      decimals: 2,
    }),
    12,
    8,
  )
  .add(
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
  )
  .add(timeseries({ title: 'Change vs previous close', targets: [prom(`moex_change_percent${sel}`, '{{ticker}}')], unit: 'percent', decimals: 2 }), 12, 8)
  .row('Distribution of last / previous close')
  .add(
    heatmap({
      title: 'last / previous close (histogram)',
      description: 'moex_price_relative_to_prev_close, observed once per poll per ticker: how far from yesterday’s close the price sat.',
      targets: [prom(`sum by (le) (increase(moex_price_relative_to_prev_close_bucket${sel}[$__rate_interval]))`, '{{le}}', { format: 'heatmap' })],
    }),
    12,
    9,
  )
  .add(
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
  )
  .row('Activity')
  .add(timeseries({ title: 'Volume today (shares)', targets: [prom(`moex_volume_today${sel}`, '{{ticker}}')] }), 8, 8)
  .add(timeseries({ title: 'Value today (RUB)', targets: [prom(`moex_value_today${sel}`, '{{ticker}}')], unit: 'currencyRUB' }), 8, 8)
  .add(timeseries({ title: 'Trades today', targets: [prom(`moex_trades_today${sel}`, '{{ticker}}')] }), 8, 8)
  .add(timeseries({ title: 'Data age', targets: [prom(`time() - moex_quote_timestamp_seconds${sel}`, '{{ticker}}')], unit: 's', min: 0 }), 24, 7)
  .build({
    uid: 'moex-prometheus',
    title: 'MOEX quotes (Prometheus)',
    description: 'MOEX ISS quotes exported by worker-prometheus and scraped by Prometheus.',
    tags: ['moex', 'prometheus'],
    variables: [tickerVariable],
  });
