import { z } from 'zod';
import { hostname, isHttpUrl, logShape, moexShape, port, positiveInt } from '../../lib/config';

const text = (fallback: string) => z.string().trim().default(fallback);

/** The scraper's environment (CONTRACT §2): the poller's plus the Graphite and InfluxDB sinks. */
export const scraperShape = {
  ...moexShape,
  ...logShape,
  PORT: port(8001),
  GRAPHITE_TRANSPORT: text('statsd').pipe(z.enum(['statsd', 'plaintext', 'off'], { error: 'must be statsd, plaintext or off' })),
  GRAPHITE_PREFIX: text('stocks').refine((v) => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(v), 'must be dot-separated Graphite nodes such as stocks'),
  STATSD_HOST: hostname('127.0.0.1'),
  STATSD_PORT: port(8125),
  GRAPHITE_HOST: hostname('127.0.0.1'),
  GRAPHITE_PORT: port(2003),
  INFLUX_URL: text('http://127.0.0.1:8086')
    .refine((v) => v === 'off' || isHttpUrl(v), 'must be an http(s) URL or off')
    .transform((v) => v.replace(/\/+$/, '')),
  INFLUX_API: text('v2').pipe(z.enum(['v1', 'v2'], { error: 'must be v2 (/api/v2/write: InfluxDB 1.8+, 2.x, 3.x) or v1 (/write: every 1.x)' })),
  INFLUX_TOKEN: text(''),
  INFLUX_ORG: text(''),
  INFLUX_BUCKET: text('pyexample/autogen').refine((v) => v !== '', 'must name a bucket (1.8: database/retention-policy)'),
  INFLUX_DATABASE: text('pyexample').refine((v) => v !== '', 'must name a database'),
  INFLUX_RETENTION_POLICY: text(''),
  INFLUX_USERNAME: text(''),
  INFLUX_PASSWORD: text(''),
  INFLUX_MEASUREMENT: text('stocks').refine((v) => v !== '', 'must name a measurement'),
  /** Points each sink keeps while its store is unreachable (oldest dropped beyond). */
  SCRAPER_BUFFER_POINTS: positiveInt(200_000),
};

export type ScraperConfig = z.output<z.ZodObject<typeof scraperShape>>;

