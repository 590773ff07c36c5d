import { boardSources, configOrExit, type ConfigOf } from '../../config';
import type { Logger } from '../../log';
import type { MoexConfig } from '../../quote-polling';
import type { Schedule } from '../../schedule';
import { algopackFilters, type algopackShape } from './config';
import { startAlgopackPolling, type AlgopackPollerOptions } from './poller';

export type AlgopackConfig = MoexConfig & ConfigOf<typeof algopackShape>;

/**
 * The worker's and the scraper's ALGOPACK polling from their config; null when MOEX_ALGOPACK is
 * unset. A market without tickers to follow stops the service (exit 2) before anything is polled.
 */
export function startAlgopackFromConfig(
  config: AlgopackConfig,
  outputs: Pick<AlgopackPollerOptions, 'transport' | 'backfill' | 'stateFile' | 'registry'> & Pick<AlgopackPollerOptions, 'onBars' | 'onInstrumentsSeen'>,
  log: Logger,
): Schedule | null {
  const selection = config.MOEX_ALGOPACK;
  if (!selection) return null;
  const filters = configOrExit(() => algopackFilters(selection, boardSources(config)));
  return startAlgopackPolling({
    issUrl: config.MOEX_ISS_URL,
    feeds: selection.feeds,
    filters,
    schedule: config.MOEX_ALGOPACK_SCHEDULE,
    subscriber: config.MOEX_ISS_TOKEN !== '',
    ...outputs,
    log: log.child({ part: 'algopack' }),
  });
}
