import type { Registry } from 'prom-client';
import type { ConfigOf, moexShape } from './config';
import type { Logger } from './log';
import { createIssClient } from './moex/iss-client';
import type { BoardSource } from './moex/markets';
import type { Shard } from './moex/shard';
import { createBoardPoller } from './moex/poll';
import type { Quote } from './moex/quote';
import { registerPollMetrics } from './poll-metrics';
import { startSchedule, type Schedule } from './schedule';
import type { Readiness } from './service';

export type MoexConfig = ConfigOf<typeof moexShape>;

/** Boards fetched at once: enough to hide ISS latency, few enough to stay polite to ISS. */
const BOARD_CONCURRENCY = 4;

export interface QuotePolling extends Schedule {
  /** Ready once a poll has succeeded (docs/configuration.md, /readyz). */
  readiness(): Readiness;
}

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
 * The poll loop every service shares: on each tick of POLL_SCHEDULE, one ISS request per board
 * (boards concurrently, a few at a time; one board's failure does not stop the others), parsed into
 * quotes, counted in the moex_poll_* metrics of `registry`, then the quotes of every board that
 * answered are handed to `onCycle` (a failed board adds none: its last quotes stay where they are).
 * A cycle never overlaps the next.
 */
export function startQuotePolling(
  config: MoexConfig,
  sources: readonly BoardSource[],
  shard: Shard | null,
  registry: Registry,
  log: Logger,
  onCycle: (quotes: Quote[]) => void | Promise<void>,
): QuotePolling {
  const metrics = registerPollMetrics(registry, sources.map((s) => s.board));
  const pollers = sources.map((source) => {
    const client = createIssClient({
      issUrl: config.MOEX_ISS_URL,
      engine: source.engine,
      market: source.market,
      board: source.board,
      tickers: source.tickers,
      timeoutMs: config.MOEX_TIMEOUT_MS,
      token: config.MOEX_ISS_TOKEN,
    });
    log.info({ url: client.url, market: source.kind }, 'polling ISS board');
    return createBoardPoller({ ...client, source, shard, metrics, log });
  });
  log.info({ boards: sources.length, shard: shard ? `${shard.index}/${shard.count}` : 'all', schedule: config.POLL_SCHEDULE, token: config.MOEX_ISS_TOKEN ? 'set' : 'none' }, 'polling ISS');

  let succeeded = false;
  const schedule = startSchedule(
    config.POLL_SCHEDULE,
    async () => {
      const started = performance.now();
      const snapshots = await mapWithLimit(pollers, BOARD_CONCURRENCY, (pollBoard) => pollBoard());
      const complete = snapshots.every((s) => s !== null);
      metrics.recordCycle((performance.now() - started) / 1000, complete);
      if (snapshots.some((s) => s !== null)) succeeded = true;
      await onCycle(snapshots.flatMap((s) => s?.quotes ?? []));
    },
    log,
  );
  return {
    stop: schedule.stop,
    readiness: () => (succeeded ? { ready: true } : { ready: false, reason: 'no successful ISS poll yet' }),
  };
}
