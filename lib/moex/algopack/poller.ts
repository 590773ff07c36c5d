import fs from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../log';
import { logOnChange } from '../../log-once';
import { startSchedule, type Schedule } from '../../schedule';
import { PollError, POLL_FAILURE_REASONS } from '../errors';
import type { IssTransport } from '../iss-client';
import type { DatasetPage } from '../iss-requests';
import { isWanted, type TickerFilter } from './config';
import { DATASETS, feedName, type AlgopackFeed } from './datasets';
import { parseAlgopackPage, type AlgopackBar, type AlgopackPage } from './parse';
import { afterBackfillPage, afterLatest, barsInGap, freshBars, instrumentKey, isLastPage, NEW_CURSOR, newestEnd, type FeedCursor } from './plan';

export interface AlgopackPollerOptions {
  issUrl: string;
  feeds: readonly AlgopackFeed[];
  /** Per feed (`market/dataset`): the instruments whose rows are kept. */
  filters: ReadonlyMap<string, TickerFilter>;
  /** node-cron expression (MOEX_ALGOPACK_SCHEDULE). */
  schedule: string;
  /** The process's ISS transport: the datasets share the quotes' request budget (MOEX_ISS_MAX_RPS). */
  transport: IssTransport;
  /** A token is configured: without one MOEX serves these datasets to nobody, so none is asked for. */
  subscriber: boolean;
  /** Gaps filled from the day's answer (the scraper's stores); null = newest bar only (the worker's gauges). */
  backfill: { maxPages: number; maxHours: number } | null;
  /** Where the cursors are kept across restarts; null = a restart starts afresh. */
  stateFile: string | null;
  /**
   * Each dataset's new bars of a cycle, once per cycle (nothing when there are none). True once the
   * outputs hold them; false (a store's spool refused them) keeps the dataset's cursor where it was,
   * so the same bars are asked for again next cycle.
   */
  onBars(bars: readonly AlgopackBar[]): boolean;
  /**
   * After each successful cycle of a dataset: the kept instruments (instrumentKey: futoi's are
   * per client group) its newest-bar walk returned, new bar or not, so an output can tell an
   * instrument that left the dataset from one without a new bar yet. Not called after a failed
   * cycle, nor after a walk that returned no bar at all (a day before its first bar says nothing
   * about who is listed).
   */
  onInstrumentsSeen?(feed: AlgopackFeed, instruments: ReadonlySet<string>): void;
  registry: Registry;
  log: Logger;
}

/**
 * A pages' worth of requests the newest bar may take: ISS answers 1,000 rows a page and one bar
 * of every instrument of a market is well below 100,000 rows; a cursor that never ends must not
 * loop forever.
 */
const MAX_LATEST_PAGES = 100;
/** After a cycle that failed for a reason other than a missing token or subscription. */
const RETRY_MS = 30_000;

/** moex_algopack_{requests,errors,bars,invalid}_total and moex_algopack_up, per dataset: the worker's and the scraper's alike. */
export function registerAlgopackPollMetrics(registry: Registry, feeds: readonly AlgopackFeed[]) {
  const registers = [registry];
  const labelNames = ['market', 'dataset'] as const;
  const requests = new Counter({
    name: 'moex_algopack_requests_total',
    help: 'ALGOPACK pages requested from ISS, by result',
    labelNames: [...labelNames, 'result'],
    registers,
  });
  const errors = new Counter({
    name: 'moex_algopack_errors_total',
    help: 'Failed ALGOPACK requests by reason (auth: no token, or no subscription to the dataset)',
    labelNames: [...labelNames, 'reason'],
    registers,
  });
  const bars = new Counter({ name: 'moex_algopack_bars_total', help: 'ALGOPACK bars handed to the outputs (backfilled ones included)', labelNames, registers });
  const invalid = new Counter({
    name: 'moex_algopack_invalid_total',
    help: 'ALGOPACK rows or cells ISS sent that were not valid; left out',
    labelNames,
    registers,
  });
  const up = new Gauge({ name: 'moex_algopack_up', help: '1 if the last ALGOPACK cycle of the dataset succeeded, else 0', labelNames, registers });
  for (const { market, dataset } of feeds) {
    for (const result of ['ok', 'error']) requests.inc({ market, dataset, result }, 0);
    for (const reason of POLL_FAILURE_REASONS) errors.inc({ market, dataset, reason }, 0);
    bars.inc({ market, dataset }, 0);
    invalid.inc({ market, dataset }, 0);
  }
  return { requests, errors, bars, invalid, up };
}

type State = Record<string, FeedCursor>;

function loadState(stateFile: string | null, log: Logger): State {
  if (!stateFile) return {};
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as State;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: String(err), stateFile }, 'ALGOPACK state unreadable; starting afresh');
    return {};
  }
}

/**
 * Polls the configured ALGOPACK datasets on their own schedule (see plan.ts for which pages).
 * A failing dataset (no token, no subscription, ISS down) is counted with its reason, logged once
 * per change of failure, and exports nothing; the quotes and the other datasets go on.
 */
export function startAlgopackPolling(options: AlgopackPollerOptions): Schedule {
  const { issUrl, feeds, filters, transport, subscriber, backfill, stateFile, onBars, onInstrumentsSeen, log } = options;
  const metrics = registerAlgopackPollMetrics(options.registry, feeds);
  const state = loadState(stateFile, log);
  const failures = new Map(
    feeds.map((feed) => [
      feedName(feed),
      logOnChange(log, { failed: 'ALGOPACK request failed; nothing exported for this dataset until it succeeds', recovered: 'ALGOPACK requests recovered' }),
    ]),
  );

  async function fetchPage(feed: AlgopackFeed, request: DatasetPage): Promise<AlgopackPage> {
    const labels = { market: feed.market, dataset: feed.dataset };
    try {
      const { json } = await transport.get(DATASETS[feed.dataset].request(issUrl, feed.market, request));
      const page = parseAlgopackPage(json, feed);
      metrics.requests.inc({ ...labels, result: 'ok' });
      metrics.invalid.inc(labels, page.invalidRows + page.invalidValues.length);
      return page;
    } catch (err) {
      metrics.requests.inc({ ...labels, result: 'error' });
      throw err;
    }
  }

  /** Polls one dataset; true when it failed for a reason a retry may mend (not a missing token or subscription). */
  async function pollFeed(feed: AlgopackFeed): Promise<boolean> {
    const name = feedName(feed);
    const labels = { market: feed.market, dataset: feed.dataset };
    const filter = filters.get(name) ?? 'ALL';
    const wanted = (bars: readonly AlgopackBar[]) => bars.filter((b) => isWanted(filter, b.ticker));
    const collected: AlgopackBar[] = [];
    let cursor = state[name] ?? NEW_CURSOR;
    let retry = false;
    let seen: ReadonlySet<string> | null = null;
    try {
      if (!subscriber)
        throw new PollError('auth', 'ALGOPACK datasets are for subscribers: set MOEX_ISS_TOKEN (or MOEX_ISS_TOKEN_FILE) to a token with the subscription');
      const latest: AlgopackBar[] = [];
      // No date: ISS's default is the latest trading day, so a weekend or a holiday asks for no bar that cannot exist.
      for (let start = 0, pages = 0; pages < MAX_LATEST_PAGES; pages++) {
        const page = await fetchPage(feed, { latest: true, start });
        latest.push(...page.bars);
        if (isLastPage(start, page)) break;
        start += page.rows;
      }
      // The gap is judged on every instrument's bar, not only the kept ones: a filtered-out
      // instrument's bar still says how far the dataset has got.
      cursor = afterLatest(cursor, newestEnd(latest), (backfill?.maxHours ?? 0) * 3600_000);
      const kept = wanted(latest);
      const newest = freshBars(cursor, kept);
      cursor = newest.cursor;
      collected.push(...newest.fresh);
      for (let pages = 0; backfill && cursor.backfill && pages < backfill.maxPages; pages++) {
        const { date: day, start } = cursor.backfill;
        const page = await fetchPage(feed, { date: day, latest: false, start });
        collected.push(...wanted(barsInGap(cursor, page.bars)));
        cursor = afterBackfillPage(cursor, page);
      }
      if (!backfill) cursor = { ...cursor, backfill: null };
      if (latest.length > 0) seen = new Set(kept.map(instrumentKey));
      metrics.up.set(labels, 1);
      failures.get(name)!.recovered({ feed: name });
    } catch (err) {
      const failure = err instanceof PollError ? err : new PollError('validation', String(err));
      retry = failure.reason !== 'auth';
      metrics.errors.inc({ ...labels, reason: failure.reason });
      metrics.up.set(labels, 0);
      failures.get(name)!.failed(`${failure.reason}: ${failure.message}`, { feed: name, reason: failure.reason, error: failure.message });
    }
    if (seen) onInstrumentsSeen?.(feed, seen);
    if (collected.length > 0 && !onBars(collected)) {
      log.warn({ feed: name, bars: collected.length }, 'ALGOPACK bars not taken by every store; asked for again next cycle');
      return true;
    }
    state[name] = cursor;
    metrics.bars.inc(labels, collected.length);
    return retry;
  }

  async function cycle(): Promise<void | 'retry'> {
    // One dataset after another: the process's ISS request budget is shared with the quotes.
    let retry = false;
    for (const feed of feeds) retry = (await pollFeed(feed)) || retry;
    if (stateFile) {
      fs.writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
      fs.renameSync(`${stateFile}.tmp`, stateFile);
    }
    return retry ? 'retry' : undefined;
  }

  log.info({ feeds: feeds.map(feedName), schedule: options.schedule, backfill }, 'ALGOPACK polling');
  // A failed cycle (ISS not answering yet at start, a store's full disk) is tried again after
  // RETRY_MS rather than at the next 5-minute mark.
  return startSchedule(options.schedule, cycle, log, undefined, RETRY_MS);
}
