import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { basicAuthHeader } from '../../lib/http-auth';
import { closeServer, createServer, exitOnSignals, exitOnStartupFailure, listen } from '../../lib/service';
import { createApp } from './app';
import { createCandleHistory } from './candle-history';
import { backendShape } from './config';
import { parseDurationSeconds } from './durations';
import { createPrometheusClient } from './prometheus-client';
import { createStatusCheck } from './status';

/** backend: the stack's API, status and web page on :8998 (docs/api.md). */
const config = loadConfig(backendShape);
const log = createLogger('backend', config.LOG_LEVEL);
const credentials = basicAuthHeader(config.PROMETHEUS_USERNAME, config.PROMETHEUS_PASSWORD);
const prometheus = createPrometheusClient(config.PROMETHEUS_URL, config.PROBE_TIMEOUT_MS, credentials);

const app = createApp({
  prometheus,
  checkStatus: createStatusCheck(config, prometheus, credentials),
  log,
  users: config.WEB_CONFIG_FILE?.users,
  rateLimitPerMinute: config.API_RATE_LIMIT,
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
// The app authenticates itself (after its rate limit, with its request metrics): the server only adds TLS.
const server = createServer(app, config.WEB_CONFIG_FILE, log, { authenticate: false });

listen(server, config.PORT, log, config.LISTEN_ADDRESS)
  .then(() => {
    log.info({ prometheus: config.PROMETHEUS_URL }, 'backend ready');
    exitOnSignals(log, () => closeServer(server));
  })
  .catch((err: unknown) => exitOnStartupFailure('backend', err));
