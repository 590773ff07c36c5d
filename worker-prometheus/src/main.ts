import { Registry } from 'prom-client';
import { boardSources, configOrExit, loadConfig, logShape, moexShape, port, positiveInt } from '../../lib/config';
import { createProcessIssTransport } from '../../lib/iss-transport';
import { createLogger } from '../../lib/log';
import { algopackShape } from '../../lib/moex/algopack/config';
import { startAlgopackFromConfig } from '../../lib/moex/algopack/start';
import { engineCalendarRequest } from '../../lib/moex/iss-requests';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { httpShape } from '../../lib/web-config';
import { createAlgopackMetrics } from './algopack-metrics';
import { startMarketCalendar } from './market-calendar';
import { createQuoteMetrics } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (CONTRACT §4). */
const config = loadConfig({
  ...moexShape,
  ...algopackShape,
  ...logShape,
  ...httpShape,
  PORT: port(8000),
  /** How often each polled engine's trading calendar (/iss/engines/{engine}.json) is fetched again. */
  MOEX_CALENDAR_REFRESH_SECONDS: positiveInt(3600),
});
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const quoteMetrics = createQuoteMetrics();
const liveRegistry = new Registry();
// One transport for the polls, the calendar and the datasets: one request budget (MOEX_ISS_MAX_RPS) for the process.
const transport = createProcessIssTransport(config, liveRegistry);
const calendar = startMarketCalendar({
  engines: [...new Set(configOrExit(() => boardSources(config)).map((s) => s.engine))],
  fetchEngineCalendar: async (engine) => (await transport.get(engineCalendarRequest(config.MOEX_ISS_URL, engine))).json,
  registry: liveRegistry,
  log,
  refreshMs: config.MOEX_CALENDAR_REFRESH_SECONDS * 1000,
});
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
  onQuotes: (quotes) => {
    quoteMetrics.update(quotes);
    calendar.observeQuotes(quotes);
  },
  onShutdown: async () => {
    await Promise.all([calendar.stop(), algopack?.stop()]);
  },
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
