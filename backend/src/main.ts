import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { closeServer, exitOnSignals, exitOnStartupFailure, listen } from '../../lib/service';
import http from 'node:http';
import { createApp } from './app';
import { createCandleHistory } from './candle-history';
import { backendShape } from './config';
import { parseDurationSeconds } from './durations';
import { createPrometheusClient } from './prometheus-client';
import { createStatusCheck } from './status';

/** backend: the stack's API, status and web page on :8998 (CONTRACT §7). */
const config = loadConfig(backendShape);
const log = createLogger('backend', config.LOG_LEVEL);
const prometheus = createPrometheusClient(config.PROMETHEUS_URL, config.PROBE_TIMEOUT_MS);

const app = createApp({
  prometheus,
  checkStatus: createStatusCheck(config, prometheus),
  log,
  candleHistory:
    config.INFLUX_URL === 'off'
      ? null
      : createCandleHistory({
          url: config.INFLUX_URL,
          database: config.INFLUX_DATABASE,
          username: config.INFLUX_USERNAME,
          password: config.INFLUX_PASSWORD,
          timeoutMs: config.PROBE_TIMEOUT_MS,
        }),
  prometheusRetentionSeconds: parseDurationSeconds(config.PROMETHEUS_RETENTION)!,
});
const server = http.createServer(app);

listen(server, config.PORT, log)
  .then(() => {
    log.info({ prometheus: config.PROMETHEUS_URL }, 'backend ready');
    exitOnSignals(log, () => closeServer(server));
  })
  .catch((err: unknown) => exitOnStartupFailure('backend', err));
