import type { Registry } from 'prom-client';
import type { ConfigOf, moexShape } from './config';
import type { ProcessIssTransport } from './iss-transport';
import type { Logger } from './log';
import { logOnChange } from './log-once';
import type { BoardSource } from './moex/markets';
import { createPollTick } from './moex/poll';
import type { Quote } from './moex/quote';
import type { Shard } from './moex/shard';
import { registerPollMetrics } from './poll-metrics';
import { startSchedule, type Schedule } from './schedule';
import type { Readiness } from './service';

export type MoexConfig = ConfigOf<typeof moexShape>;

export interface QuotePolling extends Schedule {
  /** Ready once a poll has succeeded, unless the request budget keeps cycles from fitting their period. */
  readiness(): Readiness;
}

/** A cycle's requests that waited this long for the budget, together, were held back by it. */
const BUDGET_WAIT_MS = 100;

/**
 * The shell around the domain's poll tick (lib/moex/poll.ts): runs it on each tick of
 * POLL_SCHEDULE with the moex_poll_* metrics of `registry` and the service's log, then hands the
 * quotes of every board that answered to `onCycle` with those boards' names (a failed board adds
 * none: its last quotes stay where they are). A cycle never overlaps the next. A cycle that
 * outlasts its period while its requests waited for the request budget (MOEX_ISS_MAX_RPS) is
 * logged once and makes /readyz say so until cycles fit again.
 */
export function startQuotePolling(
  config: MoexConfig,
  sources: readonly BoardSource[],
  shard: Shard | null,
  registry: Registry,
  transport: ProcessIssTransport,
  log: Logger,
  onCycle: (quotes: Quote[], answeredBoards: string[]) => void | Promise<void>,
): QuotePolling {
  const metrics = registerPollMetrics(
    registry,
    sources.map((s) => s.board),
  );
  const tick = createPollTick({ issUrl: config.MOEX_ISS_URL, sources, shard, transport, metrics, log });
  log.info(
    {
      boards: sources.length,
      shard: shard ? `${shard.index}/${shard.count}` : 'all',
      schedule: config.POLL_SCHEDULE,
      maxRps: config.MOEX_ISS_MAX_RPS,
      token: config.MOEX_ISS_TOKEN ? 'set' : 'none',
    },
    'polling ISS',
  );

  let succeeded = false;
  const overBudgetReason = `ISS request budget: MOEX_ISS_MAX_RPS=${config.MOEX_ISS_MAX_RPS} cannot fit a cycle's requests into the POLL_SCHEDULE period, so ticks are skipped (raise MOEX_ISS_MAX_RPS, poll less often, or poll fewer boards)`;
  /** Failing while the budget makes cycles outlast their period: /readyz's reason. */
  const budget = logOnChange(log, { failed: overBudgetReason, recovered: 'poll cycles fit the request budget again' });
  let tickSkipped = false;
  const schedule = startSchedule(
    config.POLL_SCHEDULE,
    async () => {
      tickSkipped = false;
      const waitedBefore = transport.limiter.waitedMs();
      const result = await tick();
      if (result.answeredBoards.length > 0) succeeded = true;
      const waitedMs = transport.limiter.waitedMs() - waitedBefore;
      if (tickSkipped && waitedMs >= BUDGET_WAIT_MS) {
        budget.failed(overBudgetReason, { waitedSeconds: waitedMs / 1000, maxRps: config.MOEX_ISS_MAX_RPS, schedule: config.POLL_SCHEDULE });
      } else if (!tickSkipped) budget.recovered();
      await onCycle(result.quotes, result.answeredBoards);
    },
    log,
    () => (tickSkipped = true),
  );
  return {
    stop: schedule.stop,
    readiness: () =>
      budget.failure !== null
        ? { ready: false, reason: overBudgetReason }
        : succeeded
          ? { ready: true }
          : { ready: false, reason: 'no successful ISS poll yet' },
  };
}
