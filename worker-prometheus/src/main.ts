import { Registry } from 'prom-client';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { workerShape } from './config';
import { createQuoteMetrics } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (docs/metrics.md). */
const config = loadConfig(workerShape);
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const quoteMetrics = createQuoteMetrics();

runPollingService({
  config,
  log,
  cycleRegistry: new Registry(),
  renderCycle: () => quoteMetrics.render(),
  liveRegistry: new Registry(),
  // On a failed poll this is not called: the last good quotes stay exposed and moex_up drops to 0.
  onQuotes: (quotes) => quoteMetrics.update(quotes),
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
