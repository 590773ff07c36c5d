import path from 'node:path';
import { Registry } from 'prom-client';
import { boardSources, configOrExit, loadConfig } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { startAlgopackFromConfig } from '../../lib/moex/algopack/start';
import { createProcessIssTransport } from '../../lib/iss-transport';
import { quoteLogKeys, runPollingService } from '../../lib/polling-service';
import { startOptionGreeksPolling } from '../../lib/option-greeks-polling';
import { exitOnStartupFailure } from '../../lib/service';
import { createCandleSync } from './candles-sync';
import { scraperShape, type ScraperConfig } from './config';
import { createInfluxSink, type InfluxOptions } from './influx-sink';
import type { LineQueue } from './line-queue';
import { createPlaintextSink } from './plaintext-sink';
import { registerSinkMetrics, type Sink, type SinkStats } from './sink';
import { openSpool, registerSpoolMetrics } from './spool';
import { createStatsdSink } from './statsd-sink';
import { createStreamCoalescer } from './stream-coalescer';

/** How far back candles are backfilled after a long stop (ISS pages 500 minutes per request). */
const CANDLES_MAX_BACKFILL_MINUTES = 7 * 24 * 60;
/** Of the 9 s shutdown grace: how long the ALGOPACK and candle cycles may take to finish. */
const PRODUCERS_STOP_MS = 2_000;

function createSinks(config: ScraperConfig, statsFor: (sink: Sink['name']) => SinkStats, registry: Registry, log: Logger): Sink[] {
  const sinks: Sink[] = [];
  const maxBufferedLines = config.SCRAPER_BUFFER_POINTS;
  const spoolStats = config.SCRAPER_SPOOL_DIR ? registerSpoolMetrics(registry) : null;
  /** The sink's durable spool when SCRAPER_SPOOL_DIR is set. */
  const spoolFor = (sink: Sink['name'], stats: SinkStats): LineQueue | undefined =>
    spoolStats
      ? openSpool({ dir: config.SCRAPER_SPOOL_DIR, name: sink, maxBytes: config.SCRAPER_SPOOL_MAX_BYTES }, spoolStats(sink, stats.dropped), log.child({ sink }))
      : undefined;
  if (config.GRAPHITE_TRANSPORT === 'statsd') {
    sinks.push(
      createStatsdSink(
        { host: config.STATSD_HOST, port: config.STATSD_PORT, prefix: config.GRAPHITE_PREFIX },
        statsFor('graphite'),
        log.child({ sink: 'graphite' }),
      ),
    );
  } else if (config.GRAPHITE_TRANSPORT === 'plaintext') {
    const stats = statsFor('graphite');
    sinks.push(
      createPlaintextSink(
        {
          host: config.GRAPHITE_HOST,
          port: config.GRAPHITE_PORT,
          prefix: config.GRAPHITE_PREFIX,
          maxBufferedLines,
          queue: spoolFor('graphite', stats),
          resendSeconds: config.GRAPHITE_RESEND_SECONDS,
        },
        stats,
        log.child({ sink: 'graphite' }),
      ),
    );
  }
  if (config.INFLUX_URL !== 'off') {
    const common = { url: config.INFLUX_URL, measurement: config.INFLUX_MEASUREMENT, maxBufferedLines };
    const influx: InfluxOptions =
      config.INFLUX_API === 'v2'
        ? { api: 'v2', ...common, token: config.INFLUX_TOKEN, org: config.INFLUX_ORG, bucket: config.INFLUX_BUCKET }
        : {
            api: 'v1',
            ...common,
            database: config.INFLUX_DATABASE,
            retentionPolicy: config.INFLUX_RETENTION_POLICY,
            username: config.INFLUX_USERNAME,
            password: config.INFLUX_PASSWORD,
          };
    const stats = statsFor('influxdb');
    sinks.push(createInfluxSink(influx, stats, log.child({ sink: 'influxdb' }), { queue: spoolFor('influxdb', stats) }));
  }
  return sinks;
}

/** scraper: ISS → Graphite (StatsD | plaintext) and InfluxDB; its own metrics on :8001. */
const config = loadConfig(scraperShape);
const log = createLogger('scraper', config.LOG_LEVEL);
const liveRegistry = new Registry();
let sinks: Sink[] = [];
try {
  sinks = createSinks(config, registerSinkMetrics(liveRegistry), liveRegistry, log);
} catch (err) {
  // A spool directory that cannot be written, or that another scraper holds.
  exitOnStartupFailure('scraper', err);
}
if (sinks.length === 0) log.warn('GRAPHITE_TRANSPORT=off and INFLUX_URL=off: quotes are polled but stored nowhere');
log.info(
  { graphite: config.GRAPHITE_TRANSPORT, influxdb: config.INFLUX_URL === 'off' ? 'off' : config.INFLUX_API, spool: config.SCRAPER_SPOOL_DIR || 'off' },
  'sinks',
);
// One transport for the polls and the candles: one request budget (MOEX_ISS_MAX_RPS) for the process.
const transport = createProcessIssTransport(config, liveRegistry);
const candleSync =
  config.SCRAPER_CANDLES === 'on' && sinks.some((s) => s.writeCandles)
    ? createCandleSync({
        transport,
        locate: (quote) => ({ issUrl: config.MOEX_ISS_URL, engine: quote.engine, market: quote.market, board: quote.board }),
        sinks,
        stateFile: config.SCRAPER_SPOOL_DIR ? path.join(config.SCRAPER_SPOOL_DIR, 'candles.json') : null,
        lookbackMinutes: config.SCRAPER_CANDLES_LOOKBACK_MINUTES,
        maxBackfillMinutes: CANDLES_MAX_BACKFILL_MINUTES,
        maxRequests: config.SCRAPER_CANDLES_MAX_REQUESTS,
        registry: liveRegistry,
        log: log.child({ part: 'candles' }),
      })
    : null;

const algopackSinks = sinks.filter((s) => s.writeAlgopack);
if (config.MOEX_ALGOPACK && algopackSinks.length === 0)
  log.warn('MOEX_ALGOPACK is set but no sink stores bars at their own time (GRAPHITE_TRANSPORT=plaintext or InfluxDB): not polled');
const algopack =
  algopackSinks.length > 0
    ? startAlgopackFromConfig(
        config,
        {
          transport,
          backfill: { maxPages: config.MOEX_ALGOPACK_BACKFILL_PAGES, maxHours: config.MOEX_ALGOPACK_BACKFILL_HOURS },
          stateFile: config.SCRAPER_SPOOL_DIR ? path.join(config.SCRAPER_SPOOL_DIR, 'algopack.json') : null,
          registry: liveRegistry,
          // Every sink is offered the bars; the cursor moves only when each of them took them.
          onBars: (bars) => algopackSinks.map((sink) => sink.writeAlgopack!(bars)).every(Boolean),
        },
        log,
      )
    : null;

// The calculator's figures go to the stores that keep a point's own time, as ALGOPACK bars do.
const greeksSinks = sinks.filter((s) => s.writeGreeks);
const greeks =
  greeksSinks.length > 0
    ? startOptionGreeksPolling(
        config,
        configOrExit(() => boardSources(config)),
        liveRegistry,
        transport,
        log,
        (answered) => {
          const at = new Date(Math.floor(Date.now() / 1000) * 1000);
          for (const sink of greeksSinks) sink.writeGreeks!(answered, at);
        },
      )
    : null;

/** Quotes to every sink; a refusal (the spool's disk full) is counted by the sink, and the soak also needs to know which quotes. */
const writeQuotes = (quotes: readonly Quote[]) => {
  for (const sink of sinks) {
    if (!sink.write(quotes) && log.isLevelEnabled('debug')) log.debug({ sink: sink.name, quotes: quoteLogKeys(quotes) }, 'quotes refused');
  }
};
// MOEX_STREAM=issplus: the stream's changes, at most one point per security per second.
const streamed = createStreamCoalescer(writeQuotes);

runPollingService({
  config,
  log,
  transport,
  cycleRegistry: new Registry(),
  liveRegistry,
  onQuotes: (quotes, answeredBoards) => {
    greeks?.observe(quotes, answeredBoards);
    streamed.written(quotes);
    writeQuotes(quotes);
    candleSync?.onQuotes(quotes);
  },
  onStreamQuotes: (quotes) => streamed.add(quotes),
  onShutdown: async () => {
    // The sinks get the larger part of the shutdown grace: a long ALGOPACK or candle cycle is not
    // waited for past PRODUCERS_STOP_MS (its cursors are saved only when it ends; the next start asks again).
    await Promise.race([
      Promise.all([algopack?.stop(), candleSync?.idle(), greeks?.stop()]),
      new Promise((resolve) => setTimeout(resolve, PRODUCERS_STOP_MS).unref()),
    ]);
    streamed.flush();
    await Promise.all(sinks.map((s) => s.close()));
  },
  problem: () =>
    sinks
      .map((s) => s.problem())
      .filter((p) => p !== null)
      .join('; ') || null,
}).catch((err: unknown) => exitOnStartupFailure('scraper', err));
