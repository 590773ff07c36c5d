import { logOnChange } from '../log-once';
import { PollError, type PollFailureReason } from './errors';
import type { IssTransport } from './iss-client';
import { boardSnapshotRequests } from './iss-requests';
import { boardColumns, type BoardSource } from './markets';
import { mergeBoardAnswers, parseBoardSnapshot, type BoardSnapshot } from './parse';
import type { Quote } from './quote';
import { inShard, type Shard } from './shard';

/**
 * One poll tick over every configured board: the domain's poll loop. It depends on no service
 * code: the transport, the log and the metrics are handed in as the interfaces below (the shell,
 * lib/quote-polling.ts, gives it pino and prom-client).
 */

/** The log the poll writes to (pino's Logger fits). */
export interface PollLog {
  info(objOrMsg: object | string, msg?: string): void;
  warn(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): PollLog;
}

/** How one board's poll ended. */
export type BoardPollResult = { ok: true; missingTickers: number; invalidValues: number; simulated: boolean } | { ok: false; reason: PollFailureReason };

/** What the poll records (moex_up, moex_board_up, moex_poll_*: lib/poll-metrics.ts). */
export interface PollMetrics {
  recordBoard(board: string, result: BoardPollResult): void;
  /** After every board of the cycle: the cycle's wall time and whether every board succeeded. */
  recordCycle(durationSeconds: number, everyBoardOk: boolean): void;
}

export interface PollTickOptions {
  issUrl: string;
  sources: readonly BoardSource[];
  /** MOEX_SHARD: an ALL board's answer is cut down to this shard's instruments. */
  shard: Shard | null;
  transport: IssTransport;
  metrics: PollMetrics;
  log: PollLog;
}

export interface TickResult {
  /** Quotes of every board that answered; a failed board adds none (its last quotes stay where they are). */
  quotes: Quote[];
  /** Boards whose poll succeeded, of `boards`. */
  answeredBoards: string[];
  boards: number;
}

/** Boards fetched at once: enough to hide ISS latency; the request budget (the limiter) paces them anyway. */
const BOARD_CONCURRENCY = 4;

/** Runs `work` over `items` with at most `limit` at once, results in input order. */
async function mapWithLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/**
 * The poll of one tick: each board's requests (one, or one per 10 listed tickers: iss-requests.ts;
 * boards concurrently, a few at a time; one board's failure does not stop the others), parsed into
 * quotes, counted in `metrics`.
 */
export function createPollTick({ issUrl, sources, shard, transport, metrics, log }: PollTickOptions): () => Promise<TickResult> {
  const pollers = sources.map((source) => createBoardPoller({ issUrl, source, shard, transport, metrics, log }));
  return async () => {
    const started = performance.now();
    const snapshots = await mapWithLimit(pollers, BOARD_CONCURRENCY, (pollBoard) => pollBoard());
    const answeredBoards = sources.flatMap((source, i) => (snapshots[i] ? [source.board] : []));
    metrics.recordCycle((performance.now() - started) / 1000, answeredBoards.length === snapshots.length);
    return { quotes: snapshots.flatMap((s) => s?.quotes ?? []), answeredBoards, boards: snapshots.length };
  };
}

/**
 * One poll of one board: fetch, parse, record the board's moex_poll_* metrics, log what changed.
 * Resolves to the snapshot, or null when the poll failed (already counted and logged).
 */
function createBoardPoller({ issUrl, source, shard, transport, metrics, log: parentLog }: Omit<PollTickOptions, 'sources'> & { source: BoardSource }) {
  const { board } = source;
  const log = parentLog.child({ board });
  const requests = boardSnapshotRequests({ issUrl, engine: source.engine, market: source.market, board }, source.tickers, boardColumns(source.kind));
  log.info({ urls: requests.map((r) => r.url), market: source.kind }, 'polling ISS board');
  // Logged once per change, not once per poll: a delisted ticker must not flood the log.
  const missingLog = logOnChange(log, { failed: 'requested tickers not returned by the board', recovered: 'every requested ticker is back' });
  const invalidLog = logOnChange(log, { failed: 'ISS sent invalid values; left out' });
  const failures = logOnChange(log, { failed: 'ISS poll failed', recovered: 'ISS polls recovered' });

  return async function pollBoard(): Promise<BoardSnapshot | null> {
    try {
      // A long ticker list is several requests (ISS answers 10 SECIDs of a list); the board fails if one does.
      const answers = await Promise.all(requests.map((request) => transport.get(request)));
      const simulated = answers.some((a) => a.simulated);
      const parsed = parseBoardSnapshot(mergeBoardAnswers(answers.map((a) => a.json)), source);
      const snapshot = source.tickers === 'ALL' && shard ? { ...parsed, quotes: parsed.quotes.filter((q) => inShard(shard, board, q.ticker)) } : parsed;
      if (parsed.quotes.length === 0) {
        throw new PollError('validation', `board ${board} returned none of the requested securities`);
      }
      metrics.recordBoard(board, { ok: true, missingTickers: snapshot.missingTickers.length, invalidValues: snapshot.invalidValues.length, simulated });

      if (snapshot.missingTickers.length) missingLog.failed(snapshot.missingTickers.join(','), { missingTickers: snapshot.missingTickers });
      else missingLog.recovered();
      if (snapshot.invalidValues.length) {
        invalidLog.failed(snapshot.invalidValues.map((v) => `${v.ticker}.${v.field}`).join(','), { invalidValues: snapshot.invalidValues.slice(0, 20) });
      } else invalidLog.clear();
      failures.recovered();
      return snapshot;
    } catch (err) {
      const failure = err instanceof PollError ? err : new PollError('validation', String(err));
      metrics.recordBoard(board, { ok: false, reason: failure.reason });
      // Every failure is counted; the log says it again only when the kind of failure changes.
      failures.failed(`${failure.reason}: ${failure.message}`, { reason: failure.reason, error: failure.message });
      return null;
    }
  };
}
