import { Counter, Registry } from 'prom-client';
import { boardSources, configOrExit, loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { workerShape } from './config';
import { createQuoteMetrics, histogramBoards } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (CONTRACT §4). */
const config = loadConfig(workerShape);
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const sources = configOrExit(() => boardSources(config));
const liveRegistry = new Registry();
const seriesRemoved = new Counter({
  name: 'moex_series_removed_total',
  help: 'Securities whose series were removed because their board stopped returning them (MOEX_REMOVE_AFTER_POLLS successful polls)',
  labelNames: ['board'] as const,
  registers: [liveRegistry],
});
for (const { board } of sources) seriesRemoved.inc({ board }, 0);
const quoteMetrics = createQuoteMetrics({
  histogramBoards: histogramBoards(config.MOEX_HISTOGRAM, sources),
  removeAfterPolls: config.MOEX_REMOVE_AFTER_POLLS,
  onSeriesRemoved: (board) => seriesRemoved.inc({ board }),
});

runPollingService({
  config,
  log,
  cycleRegistry: new Registry(),
  renderCycle: () => quoteMetrics.render(),
  liveRegistry,
  // On a failed poll the board is not among answeredBoards: its last good quotes stay exposed and moex_up drops to 0.
  onQuotes: (quotes, answeredBoards) => quoteMetrics.update(quotes, answeredBoards),
  onShardLost: () => quoteMetrics.forgetAll(),
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
