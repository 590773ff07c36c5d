import { Registry } from 'prom-client';
import { loadConfig, logShape, moexShape, port } from '../../lib/config';
import { createProcessIssTransport } from '../../lib/iss-transport';
import { createLogger } from '../../lib/log';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { httpShape } from '../../lib/web-config';
import { createQuoteMetrics } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (CONTRACT §4). */
const config = loadConfig({ ...moexShape, ...logShape, ...httpShape, PORT: port(8000) });
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const quoteMetrics = createQuoteMetrics();
const liveRegistry = new Registry();

runPollingService({
  config,
  log,
  transport: createProcessIssTransport(config, liveRegistry),
  cycleRegistry: new Registry(),
  renderCycle: () => quoteMetrics.render(),
  liveRegistry,
  // On a failed poll this is not called: the last good quotes stay exposed and moex_up drops to 0.
  onQuotes: (quotes) => quoteMetrics.update(quotes),
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
