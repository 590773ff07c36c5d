import { buildDashboard, candlestick, queryVariable, stat, table, type Threshold, timeseries } from './panels';
import { DS, influx } from './queries';

// Measurement `stocks`, tags ticker/board (docs/metrics.md), written by the scraper. Point
// time is the quote's exchange time, so "last point" is the age of the newest quote.
const where = `WHERE "ticker" =~ /^$ticker$/ AND $timeFilter`;
const overTime = (selectors: string) => `SELECT ${selectors} FROM "stocks" ${where} GROUP BY time($__interval), "ticker" fill(none)`;
const latest = (selectors: string) => `SELECT ${selectors} FROM "stocks" ${where} GROUP BY "ticker"`;

// Measurement `candles` (docs/metrics.md): the scraper's 1-minute candles, time = the candle's start.
// Re-aggregated per $__interval (never below 1m), so a wide range still shows proper candles.
const candles = `SELECT first("open") AS "open", max("high") AS "high", min("low") AS "low", last("close") AS "close", sum("volume") AS "volume" FROM "candles" ${where} AND "interval" = '1m' GROUP BY time($__interval) fill(none)`;

const tickerVariable = queryVariable(
  'ticker',
  'Ticker',
  DS.influxdb,
  'SHOW TAG VALUES FROM "stocks" WITH KEY = "ticker"',
  'SHOW TAG VALUES FROM "stocks" WITH KEY = "ticker"',
);

const signThresholds: Threshold[] = [
  { color: 'red', value: null },
  { color: 'green', value: 0 },
];

export const moexInfluxdb = buildDashboard(
  {
    uid: 'moex-influxdb',
    title: 'MOEX quotes (InfluxDB)',
    description: 'MOEX ISS quotes written by the scraper to InfluxDB (database pyexample, measurement stocks).',
    tags: ['moex', 'influxdb'],
    variables: [tickerVariable],
  },
  [
    {
      row: 'Now',
      panels: [
        [stat({ title: 'Last price', targets: [influx(latest('last("last")'))], decimals: 2 }), 8, 5],
        [
          stat({
            title: 'Change vs previous close',
            targets: [influx(latest('last("change_percent")'))],
            unit: 'percent',
            decimals: 2,
            thresholds: signThresholds,
          }),
          8,
          5,
        ],
        [
          stat({
            title: 'Newest quote',
            description: 'Exchange time of the newest stored quote per ticker (about 15 min behind for anonymous ISS data).',
            targets: [influx(latest('last("last")'))],
            fields: '/^Time$/',
            unit: 'dateTimeFromNow',
          }),
          8,
          5,
        ],
        [
          table({
            title: 'Quotes',
            targets: [
              influx(
                latest(
                  'last("last") AS "Last", last("bid") AS "Bid", last("offer") AS "Offer", last("change_percent") AS "Change %", last("volume") AS "Volume", last("trades") AS "Trades"',
                ),
                '',
                'table',
              ),
            ],
            transformations: [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { ticker: 'Ticker' } } }],
            overrides: [
              {
                name: 'Change %',
                properties: [
                  { id: 'unit', value: 'percent' },
                  { id: 'decimals', value: 2 },
                ],
              },
            ],
          }),
          24,
          7,
        ],
      ],
    },
    {
      row: 'Prices',
      panels: [
        [timeseries({ title: 'Last price', targets: [influx(overTime('last("last")'))], decimals: 2 }), 12, 8],
        [
          timeseries({
            title: 'Bid / offer',
            description: 'Omitted from points while ISS reports them as null (outside the session).',
            targets: [influx(overTime('last("bid") AS "bid", last("offer") AS "offer"'), '$tag_ticker $col')],
            decimals: 2,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Open / high / low / weighted average',
            targets: [influx(overTime('last("open") AS "open", last("high") AS "high", last("low") AS "low", last("waprice") AS "wap"'), '$tag_ticker $col')],
            decimals: 2,
          }),
          12,
          8,
        ],
        [timeseries({ title: 'Change vs previous close', targets: [influx(overTime('last("change_percent")'))], unit: 'percent', decimals: 2 }), 12, 8],
      ],
    },
    {
      row: 'Candles',
      panels: [
        [
          candlestick({
            title: 'Candles $ticker',
            description: 'ISS 1-minute candles the scraper stores (measurement candles), one panel per selected ticker; volume below.',
            targets: [influx(candles, '', 'table')],
            decimals: 2,
            repeat: 'ticker',
            minInterval: '1m',
          }),
          24,
          10,
        ],
      ],
    },
    {
      row: 'Activity',
      panels: [
        [timeseries({ title: 'Volume today (shares)', targets: [influx(overTime('last("volume")'))] }), 8, 8],
        [timeseries({ title: 'Value today (RUB)', targets: [influx(overTime('last("value")'))], unit: 'currencyRUB' }), 8, 8],
        [timeseries({ title: 'Trades today', targets: [influx(overTime('last("trades")'))] }), 8, 8],
        [
          timeseries({
            title: 'Quotes stored per interval',
            description:
              'Points per ticker and interval. The exchange time is the point time, so an unchanged quote is stored once: gaps mean ISS sent nothing new.',
            targets: [influx(overTime('count("last")'))],
            bars: true,
          }),
          24,
          7,
        ],
      ],
    },
  ],
);
