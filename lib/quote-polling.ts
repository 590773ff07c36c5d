import type { Registry } from 'prom-client';
import type { ConfigOf, moexShape } from './config';
import type { Logger } from './log';
import { createIssClient } from './moex/iss-client';
import type { BoardSnapshot } from './moex/parse';
import { createBoardPoller } from './moex/poll';
import { registerPollMetrics } from './poll-metrics';
import { startSchedule, type Schedule } from './schedule';
import type { Readiness } from './service';

export type MoexConfig = ConfigOf<typeof moexShape>;

export interface QuotePolling extends Schedule {
  /** Ready once a poll has succeeded (CONTRACT §1 /readyz). */
  readiness(): Readiness;
}

/**
 * The poll loop every service shares: on each tick of POLL_SCHEDULE, one ISS request for the
 * board, parsed into quotes, counted in the moex_poll_* metrics of `registry`, then handed to
 * `onCycle` (with null when the poll failed, so the owner can still mark the cycle done).
 */
export function startQuotePolling(
  config: MoexConfig,
  registry: Registry,
  log: Logger,
  onCycle: (snapshot: BoardSnapshot | null) => void | Promise<void>,
): QuotePolling {
  const client = createIssClient({
    issUrl: config.MOEX_ISS_URL,
    engine: config.MOEX_ENGINE,
    market: config.MOEX_MARKET,
    board: config.MOEX_BOARD,
    tickers: config.MOEX_TICKERS,
    timeoutMs: config.MOEX_TIMEOUT_MS,
    token: config.MOEX_ISS_TOKEN,
  });
  log.info({ url: client.url, schedule: config.POLL_SCHEDULE, token: config.MOEX_ISS_TOKEN ? 'set' : 'none' }, 'polling ISS');
  const pollBoard = createBoardPoller({
    fetchBoardSnapshot: client.fetchBoardSnapshot,
    tickers: config.MOEX_TICKERS,
    board: config.MOEX_BOARD,
    metrics: registerPollMetrics(registry),
    log,
  });
  let succeeded = false;
  const schedule = startSchedule(
    config.POLL_SCHEDULE,
    async () => {
      const snapshot = await pollBoard();
      if (snapshot) succeeded = true;
      await onCycle(snapshot);
    },
    log,
  );
  return {
    stop: schedule.stop,
    readiness: () => (succeeded ? { ready: true } : { ready: false, reason: 'no successful ISS poll yet' }),
  };
}
