import fs from 'node:fs';
import { Counter, type Registry } from 'prom-client';
import { parseCandles, type Candle } from '../../lib/moex/candles';
import type { IssTransport } from '../../lib/moex/iss-client';
import { candlesRequest, type BoardLocation } from '../../lib/moex/iss-requests';
import type { Logger } from '../../lib/log';
import { logOnChange } from '../../lib/log-once';
import type { Quote } from '../../lib/moex/quote';
import { afterCandlePage, planCandleRequests, type CandlePlanOptions, type CandleState } from './candle-plan';
import type { Sink } from './sink';

export interface CandleSyncOptions extends CandlePlanOptions {
  /** The process's ISS transport: candles share the polls' request budget. */
  transport: IssTransport;
  /** Where a quote's security trades, for its candles URL. */
  locate(quote: Quote): BoardLocation;
  sinks: readonly Sink[];
  /** Where the cursors are kept across restarts (in SCRAPER_SPOOL_DIR); null = lookback after a restart. */
  stateFile: string | null;
  registry: Registry;
  log: Logger;
}

/**
 * Keeps 1-minute candles of the polled securities in the stores (see candle-plan.ts for which
 * pages are asked for). Runs after each successful poll, beside it: a sync still running when the
 * next poll ends is not started twice.
 */
export function createCandleSync(options: CandleSyncOptions): { onQuotes(quotes: readonly Quote[]): void; idle(): Promise<void> } {
  const { transport, locate, sinks, stateFile, log } = options;
  const requests = new Counter({
    name: 'scraper_candle_requests_total',
    help: 'ISS candles requests by result',
    labelNames: ['result'] as const,
    registers: [options.registry],
  });
  const written = new Counter({ name: 'scraper_candles_total', help: 'Candles handed to the sinks', registers: [options.registry] });
  for (const result of ['ok', 'error']) requests.inc({ result }, 0);

  let state: CandleState = {};
  if (stateFile) {
    try {
      state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as CandleState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: String(err), stateFile }, 'candle state unreadable; starting from the lookback');
    }
  }
  const saveState = () => {
    if (!stateFile) return;
    fs.writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
    fs.renameSync(`${stateFile}.tmp`, stateFile);
  };

  let running: Promise<void> | null = null;
  const failures = logOnChange(log, { failed: 'ISS candles request failed; retried next cycle', recovered: 'ISS candles requests recovered' });

  async function sync(quotes: readonly Quote[]) {
    const watched = quotes.map((quote) => ({ key: `${quote.board}:${quote.ticker}`, time: quote.time, quote }));
    const byKey = new Map(watched.map((w) => [w.key, w.quote]));
    const plan = planCandleRequests(state, watched, options);
    // One write per sink per cycle (for the spool: one fsync), whatever the number of requests.
    const collected: Candle[] = [];
    // The cursors move once every sink holds the candles: a spool that refused them (a full disk)
    // leaves the cursors where they were, and the same pages are asked for again next cycle.
    const next: CandleState = { ...state };
    for (const request of plan) {
      const quote = byKey.get(request.key)!;
      try {
        const { json } = await transport.get(candlesRequest(locate(quote), quote.ticker, request.from, request.start));
        const page = parseCandles(json, quote.ticker, quote.board);
        collected.push(...page.candles);
        if (page.invalid > 0) log.warn({ ticker: quote.ticker, invalid: page.invalid }, 'ISS sent invalid candles; left out');
        next[request.key] = afterCandlePage(request, page, quote.time, next[request.key]);
        requests.inc({ result: 'ok' });
        failures.recovered();
      } catch (err) {
        requests.inc({ result: 'error' });
        const message = err instanceof Error ? err.message : String(err);
        failures.failed(message, { err: message, ticker: quote.ticker });
        // ISS is failing: the other securities wait for the next cycle too.
        break;
      }
    }
    if (collected.length > 0) {
      const taken = sinks.map((sink) => sink.writeCandles?.(collected) ?? true);
      if (!taken.every(Boolean)) {
        log.warn({ candles: collected.length }, 'candles not taken by every store; asked for again next cycle');
        return;
      }
    }
    state = next;
    written.inc(collected.length);
    // Only a request moves a cursor; most cycles of a caught-up stack make none.
    if (plan.length > 0) saveState();
  }

  return {
    onQuotes(quotes) {
      if (running) return;
      running = sync(quotes)
        .catch((err: unknown) => log.error({ err }, 'candle sync failed'))
        .finally(() => (running = null));
    },
    idle: () => running ?? Promise.resolve(),
  };
}
