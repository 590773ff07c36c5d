import net from 'node:net';
import type { Logger } from '../../lib/log';
import { logOnChange } from '../../lib/log-once';
import type { Quote } from '../../lib/moex/quote';
import { algopackGraphitePoints } from './algopack-series';
import { candleGraphitePoints } from './candle-series';
import { createMemoryQueue, offerLines, type LineQueue } from './line-queue';
import { graphitePointsFor, greeksGraphitePoints, plaintextLine } from './series';
import type { Sink, SinkStats } from './sink';

export interface PlaintextSinkOptions {
  host: string;
  port: number;
  prefix: string;
  /** Lines kept while carbon is unreachable; beyond this the oldest are dropped (and counted). */
  maxBufferedLines: number;
  /** Where lines wait (the durable spool); by default in memory, bounded by maxBufferedLines. */
  queue?: LineQueue;
  /** GRAPHITE_RESEND_SECONDS: after an unexpected disconnect, lines written this long before it are sent again. */
  resendSeconds: number;
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
 *
 * The protocol has no acknowledgement: the kernel taking a write says nothing about carbon having
 * read it, let alone stored it (carbon keeps points in memory before whisper has them, and a write
 * into a connection carbon has just closed still succeeds locally). So written lines stay in the
 * queue, handed out, for `resendSeconds` and are only then acknowledged; when the connection drops
 * unexpectedly everything still handed out is sent again, first, on the next connection. Carbon
 * keeps one value per series and time slot, so a line that did arrive is merely written twice.
 * With the spool the held lines are on disk too: a scraper crash right after carbon's resends them.
 */
export function createPlaintextSink(options: PlaintextSinkOptions, stats: SinkStats, log: Logger): Sink {
  const { host, port, prefix, maxBufferedLines, resendSeconds, minBackoffMs = 500, maxBackoffMs = 30_000 } = options;
  const resendMs = resendSeconds * 1000;
  const queue =
    options.queue ??
    createMemoryQueue(maxBufferedLines, {
      dropped(points) {
        stats.dropped(points);
        log.warn({ dropped: points, maxBufferedLines }, 'carbon buffer full; oldest points dropped');
      },
    });
  let socket: net.Socket | null = null;
  let connected = false;
  let backoffMs = minBackoffMs;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let closing = false;
  const failures = logOnChange(log, { failed: 'carbon connection failed; buffering', recovered: 'carbon connection restored' });
  let drainWaiters: Array<() => void> = [];
  // Written lines kept for a resend, oldest first, per write; `connection` tells a callback of a
  // connection that is gone (its lines were handed out again when it closed) from a current one.
  let held: Array<{ at: number; lines: number }> = [];
  let heldLines = 0;
  let settleTimer: NodeJS.Timeout | null = null;
  let connection = 0;

  /** Lines not yet taken by a connection (the held ones are sent, only kept for a resend). */
  const waiting = () => queue.length - heldLines;
  const report = () => {
    stats.buffered(waiting());
    if (waiting() === 0) {
      for (const wake of drainWaiters) wake();
      drainWaiters = [];
    }
  };
  report(); // a spool may hold a previous run's lines

  /** Acknowledges the held writes older than the resend window; wakes up for the next one. */
  function settleHeld() {
    const now = Date.now();
    let n = 0;
    while (held.length > 0 && now - held[0]!.at >= resendMs) n += held.shift()!.lines;
    heldLines -= n;
    if (n > 0) queue.accepted(n);
    if (held.length > 0 && !settleTimer) {
      settleTimer = setTimeout(
        () => {
          settleTimer = null;
          settleHeld();
        },
        held[0]!.at + resendMs - now,
      );
      settleTimer.unref();
    }
  }

  /** Writes while the socket takes them: a replay of a large spool waits for 'drain', so memory stays bounded. */
  function pump() {
    while (connected && socket && queue.unsent > 0 && !socket.writableNeedDrain) {
      const batch = queue.take(LINES_PER_WRITE);
      const ofConnection = connection;
      // A failed write destroys the socket: its 'close' hands the lines out again.
      socket.write(batch.map((line) => `${line}\n`).join(''), (err) => {
        if (err || ofConnection !== connection) return;
        held.push({ at: Date.now(), lines: batch.length });
        heldLines += batch.length;
        stats.written(batch.length);
        settleHeld();
        report();
      });
    }
    report();
  }

  /** Queues a cycle's lines; never throws (Sink's promise): a refusal is counted by the queue. */
  const enqueue = (lines: string[]): boolean => {
    const taken = offerLines(
      queue,
      lines.map((line) => line.replace(/\n$/, '')),
      stats.dropped,
      log,
      'carbon',
    );
    pump();
    return taken;
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
    s.on('drain', pump);
    s.on('connect', () => {
      connected = true;
      backoffMs = minBackoffMs;
      failures.recovered({ host, port });
      pump();
    });
    // carbon never writes back; 'end' means it is going away: stop writing into a closing socket.
    s.on('end', () => s.destroy());
    s.on('error', (err) => {
      stats.failed('network');
      failures.failed(err.message, { err: err.message, host, port });
    });
    s.on('close', () => {
      if (socket === s) {
        socket = null;
        connected = false;
        connection++;
        // Held and in-flight lines may never have reached carbon's disk: all of them again, first.
        const resent = queue.length - queue.unsent;
        held = [];
        heldLines = 0;
        if (settleTimer) clearTimeout(settleTimer);
        settleTimer = null;
        queue.rewind();
        if (resent > 0 && !closing) {
          stats.resent(resent);
          log.warn({ lines: resent, resendSeconds }, 'carbon connection lost; the lines written before it are sent again');
        }
        report();
      }
      scheduleReconnect();
    });
  }

  connect();

  return {
    name: 'graphite',
    write(quotes: readonly Quote[]) {
      return enqueue(quotes.flatMap((q) => graphitePointsFor(q, prefix).map(plaintextLine)));
    },
    writeCandles(candles) {
      return enqueue(candles.flatMap((c) => candleGraphitePoints(c, prefix).map(plaintextLine)));
    },
    writeAlgopack(bars) {
      return enqueue(bars.flatMap((b) => algopackGraphitePoints(b, prefix).map(plaintextLine)));
    },
    writeGreeks(series, at) {
      return enqueue(series.flatMap((s) => greeksGraphitePoints(s, prefix, at).map(plaintextLine)));
    },
    // carbon down is waited for (the buffer is for that; scraper_write_errors_total shows it); only a spool that cannot write is named.
    problem: () => queue.problem(),
    async close() {
      // Give a live connection the chance to take what is queued; the shutdown grace bounds the wait.
      if (connected && waiting() > 0) {
        await new Promise<void>((resolve) => {
          drainWaiters.push(resolve);
          setTimeout(resolve, CLOSE_DRAIN_MS).unref();
        });
      }
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (settleTimer) clearTimeout(settleTimer);
      if (waiting() > 0 && !options.queue) log.warn({ lines: waiting() }, 'carbon unreachable at shutdown; buffered points lost');
      queue.close();
      await new Promise<void>((resolve) => (socket ? socket.end(resolve) : resolve()));
    },
  };
}
