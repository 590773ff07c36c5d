import {
  check,
  doc,
  graphitePrefix,
  httpUrl,
  httpUrlOrOff,
  logShape,
  matching,
  nonEmpty,
  port,
  positiveInt,
  secret,
  text,
  type ConfigOf,
} from '../../lib/config';
import { httpShape } from '../../lib/web-config';
import { parseDurationSeconds } from './durations';

/** The backend's environment (docs/configuration.md): where Prometheus is and what the status page probes. */
export const backendShape = {
  ...logShape,
  ...httpShape,
  PORT: doc("the backend's port: page, /api, /metrics, /healthz, /readyz", port(8998)),
  PROMETHEUS_URL: doc('where the backend reads quotes and history', httpUrl('http://127.0.0.1:9090')),
  PROMETHEUS_USERNAME: doc(
    "the web config's user sent to Prometheus and to the worker's and scraper's /readyz (a self-signed certificate: NODE_EXTRA_CA_CERTS)",
    text(''),
  ),
  PROMETHEUS_PASSWORD: doc("that user's password", secret()),
  API_RATE_LIMIT: doc('requests per minute one client address may make (all but /healthz); beyond: 429', positiveInt(3000)),
  WORKER_URL: doc('the worker the status page probes (/readyz)', httpUrl('http://127.0.0.1:8000')),
  SCRAPER_URL: doc('the scraper the status page probes (/readyz)', httpUrl('http://127.0.0.1:8001')),
  GRAPHITE_URL: doc('graphite-web, probed for the freshness of the Graphite series', httpUrl('http://127.0.0.1:18000')),
  GRAPHITE_PREFIX: doc('first node of the Graphite series the probe looks for', graphitePrefix('stocks')),
  INFLUX_URL: doc('InfluxDB, probed for freshness and read for candle history; off: neither', httpUrlOrOff('http://127.0.0.1:8086')),
  ALERTMANAGER_URL: doc('the Alertmanager the status page probes; off: not probed', httpUrlOrOff('http://127.0.0.1:9093')),
  INFLUX_DATABASE: doc('InfluxDB database the backend reads', nonEmpty('pyexample', 'must name a database')),
  INFLUX_MEASUREMENT: doc('measurement of the shares quotes', matching('stocks', /^[A-Za-z0-9_]+$/, 'must be a plain measurement name')),
  INFLUX_USERNAME: doc('InfluxDB user for the reads (auth enabled)', text('')),
  INFLUX_PASSWORD: doc("that user's password", secret()),
  PROBE_TIMEOUT_MS: doc('timeout of each status probe and Prometheus query, milliseconds', positiveInt(2000)),
  STALE_AFTER_SECONDS: doc('a store whose newest point is older is shown stale (anonymous ISS data is about 15 min delayed)', positiveInt(1800)),
  PROMETHEUS_RETENTION: doc(
    "Prometheus' retention: history over a longer range is read from the InfluxDB candles",
    check(text('15d'), (v) => parseDurationSeconds(v) !== null, 'must be a duration such as 15d'),
  ),
};

export type BackendConfig = ConfigOf<typeof backendShape>;
