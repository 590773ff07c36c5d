import net from 'node:net';
import type { Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { algopackGraphitePoints } from './algopack-series';
import { candleGraphitePoints } from './candle-series';
import { createMemoryQueue, type LineQueue } from './line-queue';
import { graphitePointsFor, plaintextLine } from './series';
import type { Sink, SinkStats } from './sink';

export interface PlaintextSinkOptions {
  host: string;
  port: number;
  prefix: string;
  /** Lines kept while carbon is unreachable; beyond this the oldest are dropped (and counted). */
  maxBufferedLines: number;
  /** Where lines wait (the durable spool); by default in memory, bounded by maxBufferedLines. */
  queue?: LineQueue;
  /** Reconnect backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** How long shutdown waits for a live connection to take the queue. */
const CLOSE_DRAIN_MS = 5_000;

/** Lines per socket write: large enough to be cheap, small enough to requeue precisely on failure. */
const LINES_PER_WRITE = 500;

/**
 * Graphite through carbon's plaintext protocol over TCP, each point with its quote's exchange time.
 * Lines wait in a bounded FIFO until a connection takes them; a write that fails goes back to the
 * front of the queue, so an outage of minutes loses nothing and one of hours costs bounded memory.
 */
export function createPlaintextSink(options: PlaintextSinkOptions, stats: SinkStats, log: Logger): Sink {
  const { host, port, prefix, maxBufferedLines, minBackoffMs = 500, maxBackoffMs = 30_000 } = options;
  const queue =
    options.queue ??
    createMemoryQueue(maxBufferedLines, {
      dropped(points) {
        stats.dropped(points);
        log.warn({ dropped: points, maxBufferedLines }, 'carbon buffer full; oldest points dropped');
      },
    });
  stats.buffered(queue.length); // a spool may hold a previous run's lines
  let socket: net.Socket | null = null;
  let connected = false;
  let backoffMs = minBackoffMs;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let closing = false;
  let lastError = '';
  let drainWaiters: Array<() => void> = [];

  const report = () => {
    stats.buffered(queue.length);
    if (queue.length === 0) {
      for (const wake of drainWaiters) wake();
      drainWaiters = [];
    }
  };

  function pump() {
    while (connected && socket && queue.unsent > 0) {
      const batch = queue.take(LINES_PER_WRITE);
      const current = socket;
      current.write(batch.map((line) => `${line}\n`).join(''), (err) => {
        if (err) {
          // Back to be sent again, in order: the next connection sends them first.
          queue.rewind();
        } else {
          queue.accepted(batch.length);
          stats.written(batch.length);
        }
        report();
      });
    }
    report();
  }

  const enqueue = (lines: string[]) => {
    queue.push(lines.map((line) => line.replace(/\n$/, '')));
    pump();
  };

  function scheduleReconnect() {
    if (closing || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, backoffMs);
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  }

  function connect() {
    if (closing) return;
    const s = net.createConnection({ host, port });
    socket = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 10_000);
    s.on('connect', () => {
      connected = true;
      backoffMs = minBackoffMs;
      if (lastError) log.info({ host, port }, 'carbon connection restored');
      lastError = '';
      pump();
    });
    // carbon never writes back; 'end' means it is going away: stop writing into a closing socket.
    s.on('end', () => s.destroy());
    s.on('error', (err) => {
      stats.failed();
      if (err.message !== lastError) log.warn({ err: err.message, host, port }, 'carbon connection failed; buffering');
      lastError = err.message;
    });
    s.on('close', () => {
      if (socket === s) {
        socket = null;
        connected = false;
      }
      scheduleReconnect();
    });
  }

  connect();

  return {
    name: 'graphite',
    write(quotes: readonly Quote[]) {
      enqueue(quotes.flatMap((q) => graphitePointsFor(q, prefix).map(plaintextLine)));
    },
    writeCandles(candles) {
      enqueue(candles.flatMap((c) => candleGraphitePoints(c, prefix).map(plaintextLine)));
    },
    writeAlgopack(bars) {
      enqueue(bars.flatMap((b) => algopackGraphitePoints(b, prefix).map(plaintextLine)));
    },
    async close() {
      // Give a live connection the chance to take what is queued; the shutdown grace bounds the wait.
      if (connected && queue.length > 0) {
        await new Promise<void>((resolve) => {
          drainWaiters.push(resolve);
          setTimeout(resolve, CLOSE_DRAIN_MS).unref();
        });
      }
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (queue.length > 0 && !options.queue) log.warn({ lines: queue.length }, 'carbon unreachable at shutdown; buffered points lost');
      queue.close();
      await new Promise<void>((resolve) => (socket ? socket.end(resolve) : resolve()));
    },
  };
}
