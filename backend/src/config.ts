import { graphitePrefix, httpUrl, httpUrlOrOff, logShape, matching, nonEmpty, port, positiveInt, secret, text, type ConfigOf } from '../../lib/config';

/** The backend's environment (CONTRACT §2): where Prometheus is and what the status page probes. */
export const backendShape = {
  ...logShape,
  PORT: port(8998),
  PROMETHEUS_URL: httpUrl('http://127.0.0.1:9090'),
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
};

export type BackendConfig = ConfigOf<typeof backendShape>;
