import { Counter, Histogram, type Registry } from 'prom-client';
import type { ConfigOf, moexShape } from './config';
import { POLL_FAILURE_REASONS } from './moex/errors';
import { createIssTransport, type IssRequestMetrics, type AbandonableIssTransport } from './moex/iss-client';
import { ISS_REQUEST_KINDS } from './moex/iss-requests';
import { createRequestLimiter, type RequestLimiter } from './moex/request-limiter';

/** The process's ISS transport and the request budget it shares with every caller. */
export interface ProcessIssTransport extends AbandonableIssTransport {
  limiter: RequestLimiter;
}

/**
 * moex_iss_requests_total{kind,result} and moex_iss_limiter_wait_seconds{kind}: every HTTP exchange
 * with ISS (retries included), and how long each waited for the request budget.
 */
export function registerIssRequestMetrics(registry: Registry): IssRequestMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'moex_iss_requests_total',
    help: 'HTTP requests made to ISS (each retry counts), by kind (board, candles, calendar, dataset) and result (ok or the failure reason)',
    labelNames: ['kind', 'result'],
    registers,
  });
  const wait = new Histogram({
    name: 'moex_iss_limiter_wait_seconds',
    help: 'Time each ISS request waited for the request budget (MOEX_ISS_MAX_RPS) before it started',
    labelNames: ['kind'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  // Every label value exists from the start, so rate() sees a 0 before the first request of a kind.
  for (const kind of ISS_REQUEST_KINDS) {
    for (const result of ['ok', ...POLL_FAILURE_REASONS]) requests.inc({ kind, result }, 0);
    wait.zero({ kind });
  }
  return {
    requestMade: (kind, result) => requests.inc({ kind, result }),
    limiterWaited: (kind, seconds) => wait.observe({ kind }, seconds),
  };
}

/**
 * The one ISS transport of a service process, from its config: every request it makes (board
 * polls, candles, calendar, datasets) shares one MOEX_ISS_MAX_RPS budget. Its metrics go to
 * `registry`, which should be one rendered on every scrape (they move between cycles).
 */
export function createProcessIssTransport(config: ConfigOf<typeof moexShape>, registry: Registry): ProcessIssTransport {
  const limiter = createRequestLimiter(config.MOEX_ISS_MAX_RPS);
  const transport = createIssTransport({
    timeoutMs: config.MOEX_TIMEOUT_MS,
    token: config.MOEX_ISS_TOKEN,
    limiter,
    metrics: registerIssRequestMetrics(registry),
  });
  return { ...transport, limiter };
}
