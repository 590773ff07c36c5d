import type { Registry } from 'prom-client';
import type { ProcessIssTransport } from './iss-transport';
import type { Logger } from './log';
import type { BoardSource } from './moex/markets';
import { createGreeksPoll, createOptionSeriesTracker, type SeriesGreeks } from './moex/option-greeks';
import { registerGreeksPollMetrics } from './poll-metrics';
import type { MoexConfig } from './quote-polling';
import { startSchedule, type Schedule } from './schedule';

export interface OptionGreeksPolling extends Schedule {
  /** Hand it every poll cycle's quotes: it asks the calculator for the option series they hold. */
  observe: ReturnType<typeof createOptionSeriesTracker>['update'];
}

/**
 * The shell around the greeks refresh (lib/moex/option-greeks.ts): on MOEX_OPTION_GREEKS_SCHEDULE,
 * for the option series the board polls returned, with the moex_option_greeks_* metrics of
 * `registry`; null when no options board is polled or the schedule is off.
 */
export function startOptionGreeksPolling(
  config: MoexConfig,
  sources: readonly BoardSource[],
  registry: Registry,
  transport: ProcessIssTransport,
  log: Logger,
  onGreeks: (answered: readonly SeriesGreeks[], failedAssets: ReadonlySet<string>) => void,
): OptionGreeksPolling | null {
  if (config.MOEX_OPTION_GREEKS_SCHEDULE === 'off' || !sources.some((s) => s.kind === 'options')) return null;
  const tracker = createOptionSeriesTracker();
  const partLog = log.child({ part: 'option-greeks' });
  const refresh = createGreeksPoll({
    issUrl: config.MOEX_ISS_URL,
    transport,
    selected: tracker.selected,
    onGreeks,
    metrics: registerGreeksPollMetrics(registry),
    log: partLog,
  });
  // A tick before any board poll answered has nothing to ask for.
  const schedule = startSchedule(
    config.MOEX_OPTION_GREEKS_SCHEDULE,
    async () => {
      if (tracker.selected().length) await refresh();
    },
    partLog,
  );
  return { ...schedule, observe: tracker.update };
}
