import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { POLL_FAILURE_REASONS, type PollFailureReason } from './moex/errors';

/** How one board's poll ended. */
export type BoardPollResult =
  | { ok: true; missingTickers: number; invalidValues: number; simulated: boolean }
  | { ok: false; reason: PollFailureReason };

/** The moex_up / moex_board_up / moex_poll_* family (docs/metrics.md), shared by every service that polls ISS. */
export interface PollMetrics {
  recordBoard(board: string, result: BoardPollResult): void;
  /** After every board of the cycle: the cycle's wall time and whether every board succeeded. */
  recordCycle(durationSeconds: number, everyBoardOk: boolean): void;
}

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
