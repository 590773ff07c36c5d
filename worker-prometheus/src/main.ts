import { Registry } from 'prom-client';
import { boardSources, configOrExit, loadConfig } from '../../lib/config';
import { createProcessIssTransport } from '../../lib/iss-transport';
import { createLogger } from '../../lib/log';
import { startAlgopackFromConfig } from '../../lib/moex/algopack/start';
import { engineCalendarRequest } from '../../lib/moex/iss-requests';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { startOptionGreeksPolling } from '../../lib/option-greeks-polling';
import { createAlgopackMetrics } from './algopack-metrics';
import { createOptionGreeksMetrics } from './option-greeks-metrics';
import { workerShape } from './config';
import { registerIssClockSkew } from './iss-clock-skew';
import { startMarketCalendar } from './market-calendar';
import { createQuoteMetrics, histogramBoards, registerSeriesRemovedCounter } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (docs/metrics.md). */
const config = loadConfig(workerShape);
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const sources = configOrExit(() => boardSources(config));
const liveRegistry = new Registry();
const quoteMetrics = createQuoteMetrics({
  histogramBoards: histogramBoards(config.MOEX_HISTOGRAM, sources),
  removeAfterPolls: config.MOEX_REMOVE_AFTER_POLLS,
  onSeriesRemoved: registerSeriesRemovedCounter(
    liveRegistry,
    sources.map((s) => s.board),
  ),
});
// One transport for the polls, the calendar and the datasets: one request budget (MOEX_ISS_MAX_RPS) for the process.
const transport = createProcessIssTransport(config, liveRegistry);
const calendar = startMarketCalendar({
  engines: [...new Set(sources.map((s) => s.engine))],
  fetchEngineCalendar: async (engine) => (await transport.get(engineCalendarRequest(config.MOEX_ISS_URL, engine))).json,
  registry: liveRegistry,
  log,
  refreshMs: config.MOEX_CALENDAR_REFRESH_SECONDS * 1000,
});
const observeIssClock = registerIssClockSkew(liveRegistry);
const algopackMetrics = config.MOEX_ALGOPACK ? createAlgopackMetrics(config.MOEX_ALGOPACK.feeds, liveRegistry, config.MOEX_REMOVE_AFTER_POLLS) : null;
// The gauges show the newest bar: no backfill (that is for the scraper's stores, which keep history).
const algopack = startAlgopackFromConfig(
  config,
  {
    transport,
    backfill: null,
    stateFile: null,
    registry: liveRegistry,
    onBars: (bars) => {
      algopackMetrics?.update(bars);
      return true;
    },
    onInstrumentsSeen: (feed, instruments) => algopackMetrics?.instrumentsSeen(feed, instruments),
  },
  log,
);

const greeksMetrics = createOptionGreeksMetrics();
const greeks = startOptionGreeksPolling(config, sources, liveRegistry, transport, log, (answered, failedAssets) =>
  greeksMetrics.update(answered, failedAssets),
);

runPollingService({
  config,
  log,
  transport,
  cycleRegistry: new Registry(),
  // The calculator's figures are rendered with each poll cycle's exposition: a refresh shows at the next cycle.
  renderCycle: function* () {
    yield* quoteMetrics.families();
    if (greeks) yield* greeksMetrics.families();
  },
  liveRegistry,
  // On a failed poll the board is not among answeredBoards: its last good quotes stay exposed and moex_up drops to 0.
  onQuotes: (quotes, answeredBoards) => {
    quoteMetrics.update(quotes, answeredBoards);
    greeks?.observe(quotes, answeredBoards);
    observeIssClock(quotes);
  },
  // MOEX_STREAM=issplus: the gauges follow the stream between polls.
  onStreamQuotes: (quotes) => quoteMetrics.refresh(quotes),
  onShardLost: () => quoteMetrics.forgetAll(),
  onShutdown: async () => {
    await Promise.all([calendar.stop(), algopack?.stop(), greeks?.stop()]);
  },
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
