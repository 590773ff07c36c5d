import { boardSources, configOrExit, type ConfigOf } from '../../config';
import type { Logger } from '../../log';
import type { MoexConfig } from '../../quote-polling';
import type { Schedule } from '../../schedule';
import { createIssClient } from '../iss-client';
import { algopackFilters, type algopackShape } from './config';
import type { AlgopackBar } from './parse';
import { startAlgopackPolling, type AlgopackPollerOptions } from './poller';

export type AlgopackConfig = MoexConfig & ConfigOf<typeof algopackShape>;

/**
 * The worker's and the scraper's ALGOPACK polling from their config; null when MOEX_ALGOPACK is
 * unset. A market without tickers to follow stops the service (exit 2) before anything is polled.
 */
export function startAlgopackFromConfig(
  config: AlgopackConfig,
  outputs: Pick<AlgopackPollerOptions, 'backfill' | 'stateFile' | 'registry'> & { onBars(bars: readonly AlgopackBar[]): void },
  log: Logger,
): Schedule | null {
  const selection = config.MOEX_ALGOPACK;
  if (!selection) return null;
  const filters = configOrExit(() => algopackFilters(selection, boardSources(config)));
  // The dataset URLs are whole; the board given here only names the client's own snapshot URL, unused.
  const client = createIssClient({
    issUrl: config.MOEX_ISS_URL,
    engine: config.MOEX_ENGINE,
    market: config.MOEX_MARKET,
    board: config.MOEX_BOARD,
    tickers: config.MOEX_TICKERS,
    timeoutMs: config.MOEX_TIMEOUT_MS,
    token: config.MOEX_ISS_TOKEN,
  });
  return startAlgopackPolling({
    issUrl: config.MOEX_ISS_URL,
    feeds: selection.feeds,
    filters,
    schedule: config.MOEX_ALGOPACK_SCHEDULE,
    fetchJson: client.fetchJson,
    ...outputs,
    log: log.child({ part: 'algopack' }),
  });
}
