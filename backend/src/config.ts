import { z } from 'zod';
import { httpUrl, isHttpUrl, logShape, port, positiveInt } from '../../lib/config';

const text = (fallback: string) => z.string().trim().default(fallback);

/** The backend's environment (CONTRACT §2): where Prometheus is and what the status page probes. */
export const backendShape = {
  ...logShape,
  PORT: port(8998),
  PROMETHEUS_URL: httpUrl('http://127.0.0.1:9090'),
  WORKER_URL: httpUrl('http://127.0.0.1:8000'),
  SCRAPER_URL: httpUrl('http://127.0.0.1:8001'),
  GRAPHITE_URL: httpUrl('http://127.0.0.1:18000'),
  GRAPHITE_PREFIX: text('stocks').refine((v) => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(v), 'must be dot-separated Graphite nodes such as stocks'),
  INFLUX_URL: text('http://127.0.0.1:8086')
    .refine((v) => v === 'off' || isHttpUrl(v), 'must be an http(s) URL or off')
    .transform((v) => v.replace(/\/+$/, '')),
  INFLUX_DATABASE: text('pyexample').refine((v) => v !== '', 'must name a database'),
  INFLUX_MEASUREMENT: text('stocks').refine((v) => /^[A-Za-z0-9_]+$/.test(v), 'must be a plain measurement name'),
  INFLUX_USERNAME: text(''),
  INFLUX_PASSWORD: text(''),
  /** Per-probe and per-Prometheus-query timeout. */
  PROBE_TIMEOUT_MS: positiveInt(2000),
  /** A store whose newest point is older than this is shown as stale; ISS data itself is ~15 min delayed. */
  STALE_AFTER_SECONDS: positiveInt(1800),
};

export type BackendConfig = z.output<z.ZodObject<typeof backendShape>>;
