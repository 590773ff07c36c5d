import { Registry } from 'prom-client';
import { boardSources, configOrExit, loadConfig, logShape, moexShape, port, positiveInt } from '../../lib/config';
import { createProcessIssTransport } from '../../lib/iss-transport';
import { createLogger } from '../../lib/log';
import { engineCalendarRequest } from '../../lib/moex/iss-requests';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { httpShape } from '../../lib/web-config';
import { startMarketCalendar } from './market-calendar';
import { createQuoteMetrics } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (CONTRACT §4). */
const config = loadConfig({
  ...moexShape,
  ...logShape,
  ...httpShape,
  PORT: port(8000),
  /** How often each polled engine's trading calendar (/iss/engines/{engine}.json) is fetched again. */
  MOEX_CALENDAR_REFRESH_SECONDS: positiveInt(3600),
});
const log = createLogger('worker-prometheus', config.LOG_LEVEL);
const quoteMetrics = createQuoteMetrics();
const liveRegistry = new Registry();
const transport = createProcessIssTransport(config, liveRegistry);
// The calendar shares the quote polls' transport and request budget (MOEX_ISS_MAX_RPS).
const calendar = startMarketCalendar({
  engines: [...new Set(configOrExit(() => boardSources(config)).map((s) => s.engine))],
  fetchEngineCalendar: async (engine) => (await transport.get(engineCalendarRequest(config.MOEX_ISS_URL, engine))).json,
  registry: liveRegistry,
  log,
  refreshMs: config.MOEX_CALENDAR_REFRESH_SECONDS * 1000,
});

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
  onShutdown: async () => calendar.stop(),
}).catch((err: unknown) => exitOnStartupFailure('worker-prometheus', err));
