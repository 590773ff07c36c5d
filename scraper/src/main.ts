import { Registry } from 'prom-client';
import { loadConfig } from '../../lib/config';
import { createLogger, type Logger } from '../../lib/log';
import { runPollingService } from '../../lib/polling-service';
import { exitOnStartupFailure } from '../../lib/service';
import { scraperShape, type ScraperConfig } from './config';
import { createInfluxSink } from './influx-sink';
import { createPlaintextSink } from './plaintext-sink';
import { registerSinkMetrics, type Sink, type SinkStats } from './sink';
import { createStatsdSink } from './statsd-sink';

function createSinks(config: ScraperConfig, statsFor: (sink: Sink['name']) => SinkStats, log: Logger): Sink[] {
  const sinks: Sink[] = [];
  const maxBufferedLines = config.SCRAPER_BUFFER_POINTS;
  if (config.GRAPHITE_TRANSPORT === 'statsd') {
    sinks.push(createStatsdSink({ host: config.STATSD_HOST, port: config.STATSD_PORT, prefix: config.GRAPHITE_PREFIX }, statsFor('graphite'), log.child({ sink: 'graphite' })));
  } else if (config.GRAPHITE_TRANSPORT === 'plaintext') {
    sinks.push(
      createPlaintextSink(
        { host: config.GRAPHITE_HOST, port: config.GRAPHITE_PORT, prefix: config.GRAPHITE_PREFIX, maxBufferedLines },
        statsFor('graphite'),
        log.child({ sink: 'graphite' }),
      ),
    );
  }
  if (config.INFLUX_URL !== 'off') {
    const common = { url: config.INFLUX_URL, measurement: config.INFLUX_MEASUREMENT, maxBufferedLines };
    sinks.push(
      createInfluxSink(
        config.INFLUX_API === 'v2'
          ? { api: 'v2', ...common, token: config.INFLUX_TOKEN, org: config.INFLUX_ORG, bucket: config.INFLUX_BUCKET }
          : {
              api: 'v1',
              ...common,
              database: config.INFLUX_DATABASE,
              retentionPolicy: config.INFLUX_RETENTION_POLICY,
              username: config.INFLUX_USERNAME,
              password: config.INFLUX_PASSWORD,
            },
        statsFor('influxdb'),
        log.child({ sink: 'influxdb' }),
      ),
    );
  }
  return sinks;
}

/** scraper: ISS → Graphite (StatsD | plaintext) and InfluxDB; its own metrics on :8001. */
const config = loadConfig(scraperShape);
const log = createLogger('scraper', config.LOG_LEVEL);
const liveRegistry = new Registry();
const sinks = createSinks(config, registerSinkMetrics(liveRegistry), log);
if (sinks.length === 0) log.warn('GRAPHITE_TRANSPORT=off and INFLUX_URL=off: quotes are polled but stored nowhere');
log.info({ graphite: config.GRAPHITE_TRANSPORT, influxdb: config.INFLUX_URL === 'off' ? 'off' : config.INFLUX_API }, 'sinks');

runPollingService({
  config,
  log,
  cycleRegistry: new Registry(),
  liveRegistry,
  onQuotes: (quotes) => {
    for (const sink of sinks) sink.write(quotes);
  },
  onShutdown: async () => {
    await Promise.all(sinks.map((s) => s.close()));
  },
}).catch((err: unknown) => exitOnStartupFailure('scraper', err));
