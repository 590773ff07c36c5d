import cron from 'node-cron';
import type { Logger } from './log';

export interface Schedule {
  /** Stops the timer and waits for the cycle in flight, so a shutdown never cuts one in half. */
  stop(): Promise<void>;
}

/**
 * Runs `cycle` now and then on every tick of the node-cron `expression`; a tick that finds the
 * previous cycle still running is skipped, so cycles never overlap. The guard is ours rather than
 * node-cron's `noOverlap` because that option does not cover the first, immediate cycle.
 * `onSkippedTick` hears of each skipped tick (the poll loop tells a request budget too small for the period).
 */
export function startSchedule(
  expression: string,
  cycle: () => Promise<void | 'retry'>,
  log: Logger,
  onSkippedTick?: () => void,
  /** A cycle that answers 'retry' runs again this soon, not only at the next tick (a sparse schedule). */
  retryMs?: number,
): Schedule {
  let inFlight: Promise<void> | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  const runCycle = () => {
    if (inFlight) {
      log.warn('previous cycle still running; this tick is skipped');
      onSkippedTick?.();
      return;
    }
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    inFlight = cycle()
      .then((outcome) => {
        if (outcome === 'retry' && retryMs !== undefined) retryTimer = setTimeout(runCycle, retryMs).unref();
      })
      .catch((err: unknown) => log.error({ err }, 'cycle failed'))
      .finally(() => {
        inFlight = null;
      });
  };
  const task = cron.schedule(expression, runCycle, {
    logger: {
      info: (msg) => log.debug(msg),
      warn: (msg) => log.warn(msg),
      error: (msg) => log.error(msg),
      debug: (msg) => log.debug(msg),
    },
  });
  runCycle();
  return {
    async stop() {
      await task.destroy();
      if (retryTimer) clearTimeout(retryTimer);
      if (inFlight) await inFlight;
    },
  };
}
