import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { POLL_FAILURE_REASONS } from './moex/errors';
import type { GreeksPollMetrics } from './moex/option-greeks';
import type { PollMetrics } from './moex/poll';

/** The moex_up / moex_board_up / moex_poll_* family, shared by every service that polls ISS. */
export function registerPollMetrics(registry: Registry, boards: readonly string[]): PollMetrics {
  const registers = [registry];
  const up = new Gauge({ name: 'moex_up', help: '1 if the last poll of every board succeeded, else 0', registers });
  const boardUp = new Gauge({ name: 'moex_board_up', help: '1 if the last poll of the board succeeded, else 0', labelNames: ['board'], registers });
  const duration = new Histogram({
    name: 'moex_poll_duration_seconds',
    help: 'Wall time of each poll cycle (every board: requests, retries and parsing)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
    registers,
  });
  const polls = new Counter({ name: 'moex_polls_total', help: 'ISS board polls by result', labelNames: ['result', 'board'], registers });
  const errors = new Counter({ name: 'moex_poll_errors_total', help: 'Failed ISS board polls by reason', labelNames: ['reason', 'board'], registers });
  const lastSuccess = new Gauge({
    name: 'moex_last_success_timestamp_seconds',
    help: 'Unix time of the last poll cycle in which every board succeeded',
    registers,
  });
  const missing = new Gauge({
    name: 'moex_missing_tickers',
    help: 'Requested tickers the boards did not return in their last successful polls',
    registers,
  });
  const invalid = new Counter({
    name: 'moex_invalid_values_total',
    help: 'ISS cells that were not a valid value for their field; left out, never exported',
    registers,
  });
  // Every label value exists from the start, so rate() and alerts see a 0 before the first error.
  for (const board of boards) {
    for (const result of ['ok', 'error']) polls.inc({ result, board }, 0);
    for (const reason of POLL_FAILURE_REASONS) errors.inc({ reason, board }, 0);
    boardUp.set({ board }, 0);
  }
  up.set(0);
  const simulatedFeed = new Gauge({
    name: 'moex_simulated_feed',
    help: '1 while a board is answered by the ISS simulator (made-up prices), 0 for MOEX itself',
    registers,
  });
  simulatedFeed.set(0);
  const missingByBoard = new Map<string, number>();
  const simulatedBoards = new Set<string>();

  return {
    recordBoard(board, result) {
      boardUp.set({ board }, result.ok ? 1 : 0);
      polls.inc({ result: result.ok ? 'ok' : 'error', board });
      if (!result.ok) {
        errors.inc({ reason: result.reason, board });
        return;
      }
      missingByBoard.set(board, result.missingTickers);
      if (result.simulated) simulatedBoards.add(board);
      else simulatedBoards.delete(board);
      simulatedFeed.set(simulatedBoards.size > 0 ? 1 : 0);
      missing.set([...missingByBoard.values()].reduce((a, b) => a + b, 0));
      invalid.inc(result.invalidValues);
    },
    recordCycle(durationSeconds, everyBoardOk) {
      duration.observe(durationSeconds);
      up.set(everyBoardOk ? 1 : 0);
      if (everyBoardOk) lastSuccess.set(Date.now() / 1000);
    },
  };
}

/** moex_option_greeks_*: the Options Calculator refreshes (lib/moex/option-greeks.ts), in every service that runs them. */
export function registerGreeksPollMetrics(registry: Registry): GreeksPollMetrics {
  const registers = [registry];
  const up = new Gauge({ name: 'moex_option_greeks_up', help: '1 if the last Options Calculator refresh answered for every asset, else 0', registers });
  const errors = new Counter({
    name: 'moex_option_greeks_errors_total',
    help: 'Options Calculator refreshes of one asset that failed, by reason',
    labelNames: ['reason'],
    registers,
  });
  const invalid = new Counter({
    name: 'moex_option_greeks_invalid_values_total',
    help: 'Options Calculator figures that were not a valid value (a negative IV, a delta beyond ±1); left out, never exported',
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'moex_option_greeks_last_success_timestamp_seconds',
    help: 'Unix time of the last Options Calculator refresh that answered for every asset',
    registers,
  });
  for (const reason of POLL_FAILURE_REASONS) errors.inc({ reason }, 0);
  up.set(0);
  return {
    recordFailure: (reason) => errors.inc({ reason }),
    recordInvalid: (count) => invalid.inc(count),
    recordCycle(ok) {
      up.set(ok ? 1 : 0);
      if (ok) lastSuccess.set(Date.now() / 1000);
    },
  };
}
