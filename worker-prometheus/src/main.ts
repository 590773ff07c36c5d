import { Registry } from 'prom-client';
import { loadConfig, logShape, moexShape, port } from '../../lib/config';
import { createProcessIssTransport } from '../../lib/iss-transport';
import { createLogger } from '../../lib/log';
import { algopackShape } from '../../lib/moex/algopack/config';
import { startAlgopackFromConfig } from '../../lib/moex/algopack/start';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { httpShape } from '../../lib/web-config';
import { createAlgopackMetrics } from './algopack-metrics';
import { createQuoteMetrics } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (CONTRACT §4). */
const config = loadConfig({ ...moexShape, ...algopackShape, ...logShape, ...httpShape, PORT: port(8000) });
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const quoteMetrics = createQuoteMetrics();
const liveRegistry = new Registry();
// One transport for the polls and the datasets: one request budget (MOEX_ISS_MAX_RPS) for the process.
const transport = createProcessIssTransport(config, liveRegistry);
const algopackMetrics = config.MOEX_ALGOPACK ? createAlgopackMetrics(config.MOEX_ALGOPACK.feeds, liveRegistry) : null;
// The gauges show the newest bar: no backfill (that is for the scraper's stores, which keep history).
const algopack = startAlgopackFromConfig(config, { transport, backfill: null, stateFile: null, registry: liveRegistry, onBars: (bars) => algopackMetrics?.update(bars) }, log);

runPollingService({
  config,
  log,
  transport,
  cycleRegistry: new Registry(),
  renderCycle: () => quoteMetrics.render(),
  liveRegistry,
  // On a failed poll this is not called: the last good quotes stay exposed and moex_up drops to 0.
  onQuotes: (quotes) => quoteMetrics.update(quotes),
  onShutdown: async () => {
    await algopack?.stop();
  },
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
