import { check, graphitePrefix, httpUrl, httpUrlOrOff, logShape, matching, nonEmpty, port, positiveInt, secret, text, type ConfigOf } from '../../lib/config';
import { httpShape } from '../../lib/web-config';
import { parseDurationSeconds } from './durations';

/** The backend's environment (CONTRACT §2): where Prometheus is and what the status page probes. */
export const backendShape = {
  ...logShape,
  ...httpShape,
  PORT: port(8998),
  PROMETHEUS_URL: httpUrl('http://127.0.0.1:9090'),
  /**
   * The stack's user of the web config (WEB_CONFIG_FILE): sent to Prometheus and to the worker's
   * and scraper's /readyz. A self-signed certificate is trusted through NODE_EXTRA_CA_CERTS.
   */
  PROMETHEUS_USERNAME: text(''),
  PROMETHEUS_PASSWORD: secret(),
  /** Requests per minute one client address may make to the backend (all but /healthz). */
  API_RATE_LIMIT: positiveInt(3000),
  WORKER_URL: httpUrl('http://127.0.0.1:8000'),
  SCRAPER_URL: httpUrl('http://127.0.0.1:8001'),
  GRAPHITE_URL: httpUrl('http://127.0.0.1:18000'),
  GRAPHITE_PREFIX: graphitePrefix('stocks'),
  INFLUX_URL: httpUrlOrOff('http://127.0.0.1:8086'),
  ALERTMANAGER_URL: httpUrlOrOff('http://127.0.0.1:9093'),
  INFLUX_DATABASE: nonEmpty('pyexample', 'must name a database'),
  INFLUX_MEASUREMENT: matching('stocks', /^[A-Za-z0-9_]+$/, 'must be a plain measurement name'),
  INFLUX_USERNAME: text(''),
  INFLUX_PASSWORD: secret(),
  /** Per-probe and per-Prometheus-query timeout. */
  PROBE_TIMEOUT_MS: positiveInt(2000),
  /** A store whose newest point is older than this is shown as stale; ISS data itself is ~15 min delayed. */
  STALE_AFTER_SECONDS: positiveInt(1800),
  /** History over a longer range comes from the scraper's candles in InfluxDB (Prometheus' default retention). */
  PROMETHEUS_RETENTION: check(text('15d'), (v) => parseDurationSeconds(v) !== null, 'must be a duration such as 15d'),
};

export type BackendConfig = ConfigOf<typeof backendShape>;
