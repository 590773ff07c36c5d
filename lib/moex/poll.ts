import type { Logger } from '../log';
import type { PollMetrics } from '../poll-metrics';
import { PollError } from './errors';
import type { BoardSource } from './markets';
import { parseBoardSnapshot, type BoardSnapshot } from './parse';
import { inShard, type Shard } from './shard';

export interface BoardPollerOptions {
  fetchBoardSnapshot(): Promise<unknown>;
  /** The last answer came from the ISS simulator. */
  lastAnswerSimulated(): boolean;
  source: BoardSource;
  /** MOEX_SHARD: an ALL board's answer is cut down to this shard's instruments. */
  shard: Shard | null;
  metrics: PollMetrics;
  log: Logger;
}

/**
 * One poll of one board: fetch, parse, record the board's moex_poll_* metrics, log what changed.
 * Resolves to the snapshot, or null when the poll failed (already counted and logged).
 */
export function createBoardPoller({ fetchBoardSnapshot, lastAnswerSimulated, source, shard, metrics, log: parentLog }: BoardPollerOptions) {
  const { board } = source;
  const log = parentLog.child({ board });
  // Logged once per change, not once per poll: a delisted ticker must not flood the log.
  let lastMissing = '';
  let lastInvalid = '';
  let lastFailure = '';

  return async function pollBoard(): Promise<BoardSnapshot | null> {
    try {
      const parsed = parseBoardSnapshot(await fetchBoardSnapshot(), source);
      const snapshot = source.tickers === 'ALL' && shard ? { ...parsed, quotes: parsed.quotes.filter((q) => inShard(shard, board, q.ticker)) } : parsed;
      if (parsed.quotes.length === 0) {
        throw new PollError('validation', `board ${board} returned none of the requested securities`);
      }
      const simulated = lastAnswerSimulated();
      metrics.recordBoard(board, { ok: true, missingTickers: snapshot.missingTickers.length, invalidValues: snapshot.invalidValues.length, simulated });

      const missing = snapshot.missingTickers.join(',');
      if (missing !== lastMissing) {
        if (missing) log.warn({ missingTickers: snapshot.missingTickers }, 'requested tickers not returned by the board');
        else if (lastMissing) log.info('every requested ticker is back');
        lastMissing = missing;
      }
      const invalid = snapshot.invalidValues.map((v) => `${v.ticker}.${v.field}`).join(',');
      if (invalid !== lastInvalid) {
        if (invalid) log.warn({ invalidValues: snapshot.invalidValues.slice(0, 20) }, 'ISS sent invalid values; left out');
        lastInvalid = invalid;
      }
      if (lastFailure) log.info('ISS polls recovered');
      lastFailure = '';
      return snapshot;
    } catch (err) {
      const failure = err instanceof PollError ? err : new PollError('validation', String(err));
      metrics.recordBoard(board, { ok: false, reason: failure.reason });
      const summary = `${failure.reason}: ${failure.message}`;
      // Every failure is counted; the log says it again only when the kind of failure changes.
      if (summary !== lastFailure) log.warn({ reason: failure.reason, error: failure.message }, 'ISS poll failed');
      lastFailure = summary;
      return null;
    }
  };
}
