import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { POLL_FAILURE_REASONS, type PollFailureReason } from './moex/errors';

/** The moex_up / moex_poll_* family (CONTRACT §4), shared by every service that polls ISS. */
export interface PollMetrics {
  recordSuccess(durationSeconds: number, missingTickers: number, invalidValues: number): void;
  recordFailure(durationSeconds: number, reason: PollFailureReason): void;
}

export function registerPollMetrics(registry: Registry): PollMetrics {
  const registers = [registry];
  const up = new Gauge({ name: 'moex_up', help: '1 if the last ISS poll succeeded, else 0', registers });
  const duration = new Histogram({
    name: 'moex_poll_duration_seconds',
    help: 'Wall time of each ISS poll (request, retries and parsing)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
    registers,
  });
  const polls = new Counter({ name: 'moex_polls_total', help: 'ISS polls by result', labelNames: ['result'], registers });
  const errors = new Counter({ name: 'moex_poll_errors_total', help: 'Failed ISS polls by reason', labelNames: ['reason'], registers });
  const lastSuccess = new Gauge({
    name: 'moex_last_success_timestamp_seconds',
    help: 'Unix time of the last successful ISS poll',
    registers,
  });
  const missing = new Gauge({
    name: 'moex_missing_tickers',
    help: 'Requested tickers the board did not return in the last successful poll',
    registers,
  });
  const invalid = new Counter({
    name: 'moex_invalid_values_total',
    help: 'ISS cells that were not a valid value for their field; left out, never exported',
    registers,
  });
  // Every label value exists from the start, so rate() and alerts see a 0 before the first error.
  for (const result of ['ok', 'error']) polls.inc({ result }, 0);
  for (const reason of POLL_FAILURE_REASONS) errors.inc({ reason }, 0);
  up.set(0);

  return {
    recordSuccess(durationSeconds, missingTickers, invalidValues) {
      duration.observe(durationSeconds);
      polls.inc({ result: 'ok' });
      up.set(1);
      lastSuccess.set(Date.now() / 1000);
      missing.set(missingTickers);
      invalid.inc(invalidValues);
    },
    recordFailure(durationSeconds, reason) {
      duration.observe(durationSeconds);
      polls.inc({ result: 'error' });
      errors.inc({ reason });
      up.set(0);
    },
  };
}
