import { HttpError, InfluxDB, type Transport } from '@influxdata/influxdb-client';
import type { Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { algopackInfluxLine } from './algopack-series';
import { candleInfluxLine } from './candle-series';
import { v1WriteTransport, type InfluxOptions } from './influx-sink';
import type { LineQueue } from './line-queue';
import { quoteToInfluxPoint } from './series';
import type { Sink, SinkStats } from './sink';

/** Timestamps in seconds, the precision the write path asks for. */
const SECONDS = { convertTime: (time: string | number | Date | undefined) => (time instanceof Date ? String(Math.floor(time.getTime() / 1000)) : String(time)) };
/** Lines per write request: the library's batch size. */
const LINES_PER_WRITE = 5000;
const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 10_000;
/** How long shutdown waits for a live store to take the queue. */
const CLOSE_DRAIN_MS = 5_000;

/**
 * InfluxDB from the durable spool (SCRAPER_SPOOL_DIR). The library's WriteApi keeps failed batches
 * in its own retry buffer, in memory and in an order of its choosing, so a spool could not tell
 * which records the store has taken. Here the spool is the only buffer: one write request at a time
 * through the library's transport (same URL, token, v1 translation, timeouts), its lines
 * acknowledged to the spool when InfluxDB answers 2xx, handed out again after a network error, 429
 * or 5xx (with backoff), and dropped (counted) when InfluxDB refuses them as bad data (other 4xx).
 */
export function createSpooledInfluxSink(options: InfluxOptions, queue: LineQueue, stats: SinkStats, log: Logger): Sink {
  let transport: Transport;
  let writePath: string;
  if (options.api === 'v2') {
    transport = new InfluxDB({ url: options.url, token: options.token || undefined }).transport;
    writePath = `/api/v2/write?${new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 's' })}`;
  } else {
    transport = v1WriteTransport(new InfluxDB({ url: options.url }).transport, options);
    writePath = `/api/v2/write?${new URLSearchParams({ org: '', bucket: options.database, precision: 's' })}`;
  }
  let sending = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryMs = MIN_RETRY_MS;
  let lastError = '';
  let closing = false;
  stats.buffered(queue.length);

  async function sendNext(): Promise<void> {
    const lines = queue.take(LINES_PER_WRITE);
    try {
      await transport.request(writePath, lines.join('\n'), { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } });
      queue.accepted(lines.length);
      stats.written(lines.length);
      if (lastError) log.info('InfluxDB writes recovered');
      lastError = '';
      retryMs = MIN_RETRY_MS;
    } catch (err) {
      stats.failed();
      const error = err as Error;
      if (error.message !== lastError) log.warn({ err: error.message }, 'InfluxDB write failed');
      lastError = error.message;
      if (error instanceof HttpError && error.statusCode < 429 && error.statusCode !== 408) {
        // The store refuses these lines as such: sending them again cannot help.
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
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      },
    );
  }

  let drainWaiters: Array<() => void> = [];
  const drained = () => {
    for (const wake of drainWaiters) wake();
    drainWaiters = [];
  };

  const enqueue = (lines: string[]) => {
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
      if (sending) {
        await new Promise<void>((resolve) => {
          drainWaiters.push(resolve);
          setTimeout(resolve, CLOSE_DRAIN_MS).unref();
        });
      }
      closing = true;
      if (retryTimer) clearTimeout(retryTimer);
      // What is left stays in the spool for the next start.
      queue.close();
    },
  };
}
