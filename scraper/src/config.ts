import {
  doc,
  graphitePrefix,
  hostname,
  httpUrlOrOff,
  logShape,
  moexShape,
  streamShape,
  nonEmpty,
  nonNegativeInt,
  oneOf,
  port,
  positiveInt,
  secret,
  text,
  type ConfigOf,
} from '../../lib/config';
import { algopackBackfillShape, algopackShape } from '../../lib/moex/algopack/config';
import { httpShape } from '../../lib/web-config';

/** The scraper's environment (docs/configuration.md): the poller's plus the Graphite and InfluxDB sinks. */
export const scraperShape = {
  ...moexShape,
  ...streamShape,
  ...algopackShape,
  ...algopackBackfillShape,
  ...logShape,
  ...httpShape,
  PORT: doc("the scraper's port: /metrics, /healthz, /readyz", port(8001)),
  GRAPHITE_TRANSPORT: doc(
    "statsd (gauges over UDP → StatsD → carbon), plaintext (carbon TCP, with the quote's own timestamp) or off",
    oneOf('statsd', ['statsd', 'plaintext', 'off'], 'must be statsd, plaintext or off'),
  ),
  GRAPHITE_PREFIX: doc('first node of every Graphite series', graphitePrefix('stocks')),
  STATSD_HOST: doc('StatsD host (UDP)', hostname('127.0.0.1')),
  STATSD_PORT: doc('StatsD port (UDP)', port(8125)),
  GRAPHITE_HOST: doc('carbon plaintext host (TCP)', hostname('127.0.0.1')),
  GRAPHITE_PORT: doc('carbon plaintext port (TCP)', port(2003)),
  GRAPHITE_RESEND_SECONDS: doc(
    'plaintext: after an unexpected carbon disconnect, the lines written this many seconds before it are sent again (carbon has no acknowledgement; a point written twice is harmless); 0 = never',
    nonNegativeInt(10),
  ),
  INFLUX_URL: doc('InfluxDB; off disables the InfluxDB sink', httpUrlOrOff('http://127.0.0.1:8086')),
  INFLUX_API: doc(
    'v2: /api/v2/write (InfluxDB 1.8+, 2.x, 3.x); v1: /write (every 1.x)',
    oneOf('v2', ['v1', 'v2'], 'must be v2 (/api/v2/write: InfluxDB 1.8+, 2.x, 3.x) or v1 (/write: every 1.x)'),
  ),
  INFLUX_TOKEN: doc('v2 API token (InfluxDB 1.8: user:password)', secret()),
  INFLUX_ORG: doc('v2 API organization (empty for 1.8)', text('')),
  INFLUX_BUCKET: doc('v2 API bucket (1.8: database/retention-policy)', nonEmpty('pyexample/autogen', 'must name a bucket (1.8: database/retention-policy)')),
  INFLUX_DATABASE: doc('v1 API database', nonEmpty('pyexample', 'must name a database')),
  INFLUX_RETENTION_POLICY: doc('v1 API retention policy (empty: the default one)', text('')),
  INFLUX_USERNAME: doc('v1 API user (auth enabled)', text('')),
  INFLUX_PASSWORD: doc('v1 API password', secret()),
  INFLUX_MEASUREMENT: doc('measurement of the shares quotes (other markets have their own, docs/metrics.md)', nonEmpty('stocks', 'must name a measurement')),
  SCRAPER_BUFFER_POINTS: doc('points each sink keeps while its store is unreachable; beyond, the oldest are dropped and counted', positiveInt(200_000)),
  SCRAPER_SPOOL_DIR: doc('the durable spool of unsent points (one file per sink), so a crash or reboot loses nothing; empty: in memory only', text('')),
  SCRAPER_SPOOL_MAX_BYTES: doc("bound of each sink's spool file; beyond, the oldest records are dropped and counted", positiveInt(64 * 1024 * 1024)),
  SCRAPER_CANDLES: doc('on: 1-minute candles of the polled securities into the stores, gaps backfilled from ISS', oneOf('on', ['on', 'off'])),
  SCRAPER_CANDLES_LOOKBACK_MINUTES: doc("where a security's candles start when the scraper has no state for it", positiveInt(60)),
  SCRAPER_CANDLES_MAX_REQUESTS: doc('ISS candle requests per cycle, over all securities', positiveInt(10)),
};

export type ScraperConfig = ConfigOf<typeof scraperShape>;
