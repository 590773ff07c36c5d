import { HttpError, InfluxDB, setLogger } from '@influxdata/influxdb-client';
import type { Logger } from '../../lib/log';
import { logOnChange } from '../../lib/log-once';
import type { Quote } from '../../lib/moex/quote';
import { algopackInfluxLine } from './algopack-series';
import { candleInfluxLine } from './candle-series';
import { createMemoryQueue, offerLines, type LineQueue } from './line-queue';
import { greeksInfluxLine, quoteToInfluxPoint } from './series';
import type { Sink, SinkStats, WriteErrorReason } from './sink';

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
/** Refusals that last until someone changes a password, a database or the config: named in /readyz. */
const NEEDS_A_PERSON: ReadonlySet<WriteErrorReason> = new Set(['auth', 'not_found', 'rejected']);
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
 * What to do with a batch InfluxDB did not answer with 2xx; every answer lands in exactly one class
 * (docs/durability.md has the table):
 * - `partial`: the store wrote the batch but for `dropped` lines it named as bad (1.x: 400
 *   "partial write: … dropped=N" or "unable to parse" for each bad line; 2.x: 422). The batch is
 *   acknowledged, the named lines counted as dropped.
 * - `split`: the store wrote nothing because of lines inside it (400 naming a parse error, 413 too
 *   large): the batch is halved until the bad line stands alone and is dropped; the rest is kept.
 * - `retry`: nothing is wrong with the lines: the network, the store's health, its load, or who we
 *   are or where we write (401/403 credentials, 404 database, a missing retention policy, any
 *   other refusal). The lines stay queued and are sent again after a backoff, for as long as it takes.
 */
export type InfluxFailure =
  | { action: 'partial'; reason: 'malformed'; dropped: number }
  | { action: 'split'; reason: 'malformed' | 'too_large' }
  | { action: 'retry'; reason: Exclude<WriteErrorReason, 'malformed' | 'too_large'> };

const PARSE_ERROR = /unable to parse|failed to parse|parse error|invalid field format|bad timestamp/i;

export function classifyInfluxError(err: unknown): InfluxFailure {
  if (!(err instanceof HttpError)) return { action: 'retry', reason: 'network' };
  const status = err.statusCode;
  const text = err.body || err.message; // the store's own words where it sent any
  if (status === 401 || status === 403) return { action: 'retry', reason: 'auth' };
  // 1.x names a missing retention policy with 400, not 404: it is a missing target all the same.
  if (status === 404 || /(database|bucket|retention policy) not found/i.test(text)) return { action: 'retry', reason: 'not_found' };
  if (status === 408 || status === 429) return { action: 'retry', reason: 'throttled' };
  if (status >= 500) return { action: 'retry', reason: 'server' };
  if (status === 413) return { action: 'split', reason: 'too_large' };
  if (status === 422 || (status === 400 && /partial write/i.test(text))) {
    const dropped = /dropped=(\d+)/.exec(text);
    return { action: 'partial', reason: 'malformed', dropped: dropped ? Number(dropped[1]) : (text.match(/unable to parse/gi) ?? []).length };
  }
  if (status === 400 && PARSE_ERROR.test(text)) return { action: 'split', reason: 'malformed' };
  return { action: 'retry', reason: 'rejected' };
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
 * acknowledges the lines; every other answer is classified by `classifyInfluxError`: lines are kept
 * and retried after a backoff (1 s doubling to 10 s) unless the store named them as bad.
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
  /** The last failure, for the log (once per change) and for `problem()`; none while writes succeed. */
  const failures = logOnChange(log, { failed: 'InfluxDB write failed', recovered: 'InfluxDB writes recovered' });
  let lastReason: WriteErrorReason | null = null;
  /** Lines per request: LINES_PER_WRITE, halved while a batch with a bad line in it is being split. */
  let batchLines = LINES_PER_WRITE;
  let closing = false;
  stats.buffered(queue.length); // a spool may hold a previous run's lines

  function succeeded() {
    failures.recovered();
    lastReason = null;
    retryMs = minRetryMs;
  }

  /** Sends one batch; resolves when the lines are settled (taken or given up on), rejects to back off. */
  async function sendNext(): Promise<void> {
    const lines = queue.take(batchLines);
    try {
      await transport.request(writePath, lines.join('\n'), {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        gzipThreshold: GZIP_THRESHOLD_BYTES,
      });
      queue.accepted(lines.length);
      stats.written(lines.length);
      succeeded();
    } catch (err) {
      const failure = classifyInfluxError(err);
      stats.failed(failure.reason);
      // One line: the client's message carries the store's body, newline and all.
      const message = `${failure.reason}: ${err instanceof Error ? err.message : String(err)}`.replace(/\s+/g, ' ').trim();
      failures.failed(message, { err: message, lines: lines.length, action: failure.action });
      lastReason = failure.reason;
      if (failure.action === 'partial') {
        // The store wrote the rest of the batch: it is settled; the lines it named are gone for good.
        const dropped = Math.min(failure.dropped, lines.length);
        queue.accepted(lines.length);
        stats.written(lines.length - dropped);
        stats.dropped(dropped);
      } else if (failure.action === 'split' && lines.length === 1) {
        queue.accepted(1);
        stats.dropped(1);
        log.warn({ reason: failure.reason, line: lines[0]!.slice(0, 300) }, 'InfluxDB refuses this line as such; dropped');
        batchLines = LINES_PER_WRITE;
      } else if (failure.action === 'split') {
        // The good lines of the batch go in smaller requests; only the bad line is given up on.
        queue.rewind();
        batchLines = Math.ceil(lines.length / 2);
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
      batchLines = LINES_PER_WRITE;
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

  /** Queues a cycle's lines; never throws (Sink's promise): a refusal is counted by the queue. */
  const enqueue = (lines: string[]): boolean => {
    const taken = offerLines(queue, lines, stats.dropped, log, 'InfluxDB');
    stats.buffered(queue.length);
    pump();
    return taken;
  };

  return {
    name: 'influxdb',
    write(quotes: readonly Quote[]) {
      return enqueue(quotes.flatMap((q) => quoteToInfluxPoint(q, options.measurement)?.toLineProtocol(SECONDS) ?? []));
    },
    writeCandles(candles) {
      return enqueue(candles.map(candleInfluxLine));
    },
    writeAlgopack(bars) {
      return enqueue(bars.flatMap((b) => algopackInfluxLine(b) ?? []));
    },
    writeGreeks(series, at) {
      return enqueue(series.flatMap((s) => greeksInfluxLine(s, at) ?? []));
    },
    problem() {
      const queueProblem = queue.problem();
      // A store that is down or busy is waited for (the buffer is for that); one that refuses who we
      // are or where we write waits for a person, so it is named in /readyz.
      if (!lastReason || !NEEDS_A_PERSON.has(lastReason)) return queueProblem;
      return `InfluxDB write failing (${failures.failure}); ${queue.length} points held${queueProblem ? `; ${queueProblem}` : ''}`;
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
