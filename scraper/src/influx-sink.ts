import { HttpError, InfluxDB, setLogger, type Transport, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { algopackInfluxLine, ALGOPACK_MEASUREMENTS } from './algopack-series';
import { CANDLES_LINE_PREFIX, candleInfluxLine } from './candle-series';
import { quoteToInfluxPoint } from './series';
import type { Sink, SinkStats } from './sink';

export type InfluxOptions =
  | { api: 'v2'; url: string; token: string; org: string; bucket: string; measurement: string; maxBufferedLines: number }
  | {
      api: 'v1';
      url: string;
      database: string;
      retentionPolicy: string;
      username: string;
      password: string;
      measurement: string;
      maxBufferedLines: number;
    };

/**
 * The client library only speaks `/api/v2/write`. For InfluxDB 1.x before 1.8 this transport turns
 * that request into the v1 `/write?db=&rp=` one, so both modes keep the library's batching,
 * retries and bounded retry buffer.
 */
export function v1WriteTransport(inner: Transport, target: { database: string; retentionPolicy: string; username: string; password: string }): Transport {
  const toV1 = (path: string): string => {
    if (!path.startsWith('/api/v2/write?')) return path;
    const v2 = new URLSearchParams(path.slice(path.indexOf('?') + 1));
    const v1 = new URLSearchParams({ db: target.database, precision: v2.get('precision') ?? 's' });
    if (target.retentionPolicy) v1.set('rp', target.retentionPolicy);
    if (target.username) v1.set('u', target.username);
    if (target.password) v1.set('p', target.password);
    return `/write?${v1.toString()}`;
  };
  return {
    send: (path, body, options, callbacks) => inner.send(toV1(path), body, options, callbacks),
    request: (path, body, options, responseStarted) => inner.request(toV1(path), body, options, responseStarted),
    iterate: (path, body, options) => inner.iterate(toV1(path), body, options),
    chunkCombiner: inner.chunkCombiner,
  };
}

/** Lines not counted as buffered quote points: candles (re-fetched by the candle sync) and ALGOPACK bars. */
const UNBUFFERED_LINE_PREFIXES = [CANDLES_LINE_PREFIX, ...ALGOPACK_MEASUREMENTS.map((m) => `${m},`)];

/** Whether the library will retry a failed write (mirrors its rule: network errors, 429 and 5xx). */
const willRetry = (err: Error) => !(err instanceof HttpError) || err.statusCode >= 429;

/**
 * InfluxDB through @influxdata/influxdb-client's WriteApi: one point per quote, flushed at the end of
 * each cycle; failed batches wait in the library's retry buffer (bounded, oldest dropped first).
 */
export function createInfluxSink(options: InfluxOptions, stats: SinkStats, log: Logger): Sink {
  setLogger({
    error: (message, err) => log.debug({ err: err?.message }, `influxdb-client: ${message}`),
    warn: (message, err) => log.debug({ err: err?.message }, `influxdb-client: ${message}`),
  });
  let pending = 0; // points handed to the library and neither written nor given up yet
  let lastError = '';
  /** Quote lines leave the buffer gauge as the store takes or refuses them; candle and ALGOPACK lines were never in it. */
  const settle = (lines: readonly string[]) => {
    pending -= lines.filter((line) => !UNBUFFERED_LINE_PREFIXES.some((prefix) => line.startsWith(prefix))).length;
    stats.buffered(pending);
  };
  const writeOptions = {
    batchSize: 5000,
    flushInterval: 1000,
    maxRetries: 1000, // time bounds the retries, not their count
    maxRetryTime: 6 * 3600_000,
    minRetryDelay: 1000,
    maxRetryDelay: 10_000,
    exponentialBase: 2,
    maxBufferLines: options.maxBufferedLines,
    writeSuccess(lines: string[]) {
      if (lastError) log.info('InfluxDB writes recovered');
      lastError = '';
      stats.written(lines.length);
      settle(lines);
    },
    writeFailed(error: Error, lines: string[], attempt: number, expires: number) {
      stats.failed();
      if (error.message !== lastError) log.warn({ err: error.message, attempt }, 'InfluxDB write failed');
      lastError = error.message;
      if (!willRetry(error) || attempt > writeOptions.maxRetries || Date.now() >= expires) {
        stats.dropped(lines.length);
        settle(lines);
      }
    },
    writeRetrySkipped(entry: { lines: string[] }) {
      log.warn({ dropped: entry.lines.length }, 'InfluxDB retry buffer full; oldest points dropped');
      stats.dropped(entry.lines.length);
      settle(entry.lines);
    },
  };

  let writeApi: WriteApi;
  if (options.api === 'v2') {
    const client = new InfluxDB({ url: options.url, token: options.token || undefined });
    writeApi = client.getWriteApi(options.org, options.bucket, 's', writeOptions);
  } else {
    const plain = new InfluxDB({ url: options.url });
    const client = new InfluxDB({ url: options.url, transport: v1WriteTransport(plain.transport, options) });
    writeApi = client.getWriteApi('', options.database, 's', writeOptions);
  }

  return {
    name: 'influxdb',
    write(quotes: readonly Quote[]) {
      const points = quotes.flatMap((q) => quoteToInfluxPoint(q, options.measurement) ?? []);
      pending += points.length;
      stats.buffered(pending);
      writeApi.writePoints(points);
      // One cycle's points go out now rather than at the next flushInterval; failures are handled above.
      writeApi.flush().catch(() => {});
    },
    writeCandles(candles) {
      // Not counted as buffered quote points: a candle that fails is fetched again by the candle
      // sync (it resumes from the newest candle stored), and counting them left the gauge stuck.
      writeApi.writeRecords(candles.map(candleInfluxLine));
      writeApi.flush().catch(() => {});
    },
    writeAlgopack(bars) {
      // Like candles: a bar that fails is not re-fetched, but the library's retry buffer keeps it.
      writeApi.writeRecords(bars.flatMap((b) => algopackInfluxLine(b) ?? []));
      writeApi.flush().catch(() => {});
    },
    async close() {
      await writeApi.flush(true).catch(() => {});
      await writeApi.close().catch(() => {});
    },
  };
}
