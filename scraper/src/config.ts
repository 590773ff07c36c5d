import { graphitePrefix, hostname, httpUrlOrOff, logShape, moexShape, nonEmpty, nonNegativeInt, oneOf, port, positiveInt, secret, text, type ConfigOf } from '../../lib/config';
import { algopackBackfillShape, algopackShape } from '../../lib/moex/algopack/config';
import { httpShape } from '../../lib/web-config';

/** The scraper's environment (CONTRACT §2): the poller's plus the Graphite and InfluxDB sinks. */
export const scraperShape = {
  ...moexShape,
  ...algopackShape,
  ...algopackBackfillShape,
  ...logShape,
  ...httpShape,
  PORT: port(8001),
  GRAPHITE_TRANSPORT: oneOf('statsd', ['statsd', 'plaintext', 'off'], 'must be statsd, plaintext or off'),
  GRAPHITE_PREFIX: graphitePrefix('stocks'),
  STATSD_HOST: hostname('127.0.0.1'),
  STATSD_PORT: port(8125),
  GRAPHITE_HOST: hostname('127.0.0.1'),
  GRAPHITE_PORT: port(2003),
  /** Plaintext: after an unexpected carbon disconnect, lines written this many seconds before it are sent again. */
  GRAPHITE_RESEND_SECONDS: nonNegativeInt(10),
  INFLUX_URL: httpUrlOrOff('http://127.0.0.1:8086'),
  INFLUX_API: oneOf('v2', ['v1', 'v2'], 'must be v2 (/api/v2/write: InfluxDB 1.8+, 2.x, 3.x) or v1 (/write: every 1.x)'),
  INFLUX_TOKEN: secret(),
  INFLUX_ORG: text(''),
  INFLUX_BUCKET: nonEmpty('pyexample/autogen', 'must name a bucket (1.8: database/retention-policy)'),
  INFLUX_DATABASE: nonEmpty('pyexample', 'must name a database'),
  INFLUX_RETENTION_POLICY: text(''),
  INFLUX_USERNAME: text(''),
  INFLUX_PASSWORD: secret(),
  INFLUX_MEASUREMENT: nonEmpty('stocks', 'must name a measurement'),
  /** Points each sink keeps while its store is unreachable (oldest dropped beyond). */
  SCRAPER_BUFFER_POINTS: positiveInt(200_000),
  /** The durable spool of unsent points (one file per sink); empty = in memory only, as before. */
  SCRAPER_SPOOL_DIR: text(''),
  SCRAPER_SPOOL_MAX_BYTES: positiveInt(64 * 1024 * 1024),
  /** 1-minute candles of the polled securities into the stores, gaps backfilled from ISS. */
  SCRAPER_CANDLES: oneOf('on', ['on', 'off']),
  SCRAPER_CANDLES_LOOKBACK_MINUTES: positiveInt(60),
  SCRAPER_CANDLES_MAX_REQUESTS: positiveInt(10),
};

export type ScraperConfig = ConfigOf<typeof scraperShape>;
