import { HttpError, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { algopackInfluxLine } from './algopack-series';
import { candleInfluxLine } from './candle-series';
import { createMemoryQueue, type LineQueue } from './line-queue';
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

/** Timestamps in seconds, the precision the write path asks for. */
const SECONDS = {
  convertTime: (time: string | number | Date | undefined) => (time instanceof Date ? String(Math.floor(time.getTime() / 1000)) : String(time)),
};
/** Lines per write request (the client library's default batch size). */
const LINES_PER_WRITE = 5000;
/** Bodies larger than this are sent gzipped (the library's WriteApi default): a cycle at ALL shrinks about 3.5x. */
const GZIP_THRESHOLD_BYTES = 1000;
const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 10_000;
/** How long shutdown waits for a live store to take the queue. */
const CLOSE_DRAIN_MS = 5_000;

/**
 * The write request's path and query, second precision: `/api/v2/write?org=&bucket=` (InfluxDB
 * 1.8+, 2.x, 3.x; the token goes in the Authorization header) or `/write?db=&rp=&u=&p=` (every 1.x).
 */
export function influxWritePath(options: InfluxOptions): string {
  if (options.api === 'v2') return `/api/v2/write?${new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 's' })}`;
  const query = new URLSearchParams({ db: options.database, precision: 's' });
  if (options.retentionPolicy) query.set('rp', options.retentionPolicy);
  if (options.username) query.set('u', options.username);
  if (options.password) query.set('p', options.password);
  return `/write?${query}`;
}

/**
 * Whether sending the same lines again can help: not when InfluxDB refuses them as such (4xx bad
 * data, auth), but after a network error, a timeout (408), throttling (429) or a 5xx.
 */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof HttpError) || err.statusCode >= 429 || err.statusCode === 408;
}

export interface InfluxSinkParts {
  /** Where lines wait: the durable spool (SCRAPER_SPOOL_DIR) or, by default, memory bounded by maxBufferedLines. */
  queue?: LineQueue;
  minRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * InfluxDB over HTTP: each cycle's lines go into a FIFO line queue (memory, bounded, oldest dropped
 * and counted; or the durable spool), one write request at a time leaves from its head. A 2xx
 * acknowledges the lines; a network error, 408, 429 or 5xx hands them out again after a backoff
 * (1 s doubling to 10 s); any other 4xx drops them (counted): the store refuses them as such.
 * The queue is the only buffer, so the spool always knows which records the store has taken.
 */
export function createInfluxSink(options: InfluxOptions, stats: SinkStats, log: Logger, parts: InfluxSinkParts = {}): Sink {
  const { minRetryMs = MIN_RETRY_MS, maxRetryMs = MAX_RETRY_MS } = parts;
  const queue =
    parts.queue ??
    createMemoryQueue(options.maxBufferedLines, {
      dropped(points) {
        stats.dropped(points);
        log.warn({ dropped: points, maxBufferedLines: options.maxBufferedLines }, 'InfluxDB buffer full; oldest points dropped');
      },
    });
  setLogger({
    error: (message, err) => log.debug({ err: err?.message }, `influxdb-client: ${message}`),
    warn: (message, err) => log.debug({ err: err?.message }, `influxdb-client: ${message}`),
  });
  // The client library's transport: request timeouts, the v2 token header, HttpError with the status.
  const transport = new InfluxDB({ url: options.url, token: options.api === 'v2' ? options.token || undefined : undefined }).transport;
  const writePath = influxWritePath(options);
  let sending = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryMs = minRetryMs;
  let lastError = '';
  let closing = false;
  stats.buffered(queue.length); // a spool may hold a previous run's lines

  async function sendNext(): Promise<void> {
    const lines = queue.take(LINES_PER_WRITE);
    try {
      await transport.request(writePath, lines.join('\n'), {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        gzipThreshold: GZIP_THRESHOLD_BYTES,
      });
      queue.accepted(lines.length);
      stats.written(lines.length);
      if (lastError) log.info('InfluxDB writes recovered');
      lastError = '';
      retryMs = minRetryMs;
    } catch (err) {
      stats.failed();
      const message = err instanceof Error ? err.message : String(err);
      if (message !== lastError) log.warn({ err: message }, 'InfluxDB write failed');
      lastError = message;
      if (!isRetryable(err)) {
        queue.accepted(lines.length);
        stats.dropped(lines.length);
      } else {
        queue.rewind();
        throw err;
      }
    } finally {
      stats.buffered(queue.length);
    }
  }

  let drainWaiters: Array<() => void> = [];
  const drained = () => {
    for (const wake of drainWaiters) wake();
    drainWaiters = [];
  };

  function pump() {
    if (sending || retryTimer || queue.unsent === 0) return;
    sending = true;
    const loop = async () => {
      while (queue.unsent > 0 && !closing) await sendNext();
    };
    loop().then(
      () => {
        sending = false;
        drained();
      },
      () => {
        sending = false;
        if (closing) return drained();
        retryTimer = setTimeout(() => {
          retryTimer = null;
          pump();
        }, retryMs);
        retryMs = Math.min(retryMs * 2, maxRetryMs);
      },
    );
  }

  const enqueue = (lines: string[]) => {
    if (lines.length === 0) return;
    queue.push(lines);
    stats.buffered(queue.length);
    pump();
  };

  return {
    name: 'influxdb',
    write(quotes: readonly Quote[]) {
      enqueue(quotes.flatMap((q) => quoteToInfluxPoint(q, options.measurement)?.toLineProtocol(SECONDS) ?? []));
    },
    writeCandles(candles) {
      enqueue(candles.map(candleInfluxLine));
    },
    writeAlgopack(bars) {
      enqueue(bars.flatMap((b) => algopackInfluxLine(b) ?? []));
    },
    async close() {
      // Give a live store the chance to take what is queued; the shutdown grace bounds the wait.
      if (sending) {
        await new Promise<void>((resolve) => {
          drainWaiters.push(resolve);
          setTimeout(resolve, CLOSE_DRAIN_MS).unref();
        });
      }
      closing = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (queue.length > 0 && !parts.queue) log.warn({ lines: queue.length }, 'InfluxDB unreachable at shutdown; buffered points lost');
      // With the spool, what is left stays there for the next start.
      queue.close();
    },
  };
}
