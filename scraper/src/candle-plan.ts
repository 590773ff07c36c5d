import { CANDLES_PAGE_ROWS, type CandlePage } from '../../lib/moex/candles';

/**
 * Which candle pages to ask ISS for, per watched security and cycle. Pure: state in, state out.
 *
 * Per security the state says from which minute candles are still wanted: the start of the newest
 * candle seen, because the newest one may still be in progress. Each request asks from there; a
 * full page (500 rows) means more follow, so the next cycle asks for the next page (`start`) at
 * once; a shorter page means caught up, and the next request waits for the data clock (the
 * quotes' exchange time, which on the delayed feed runs 15 minutes behind) to reach a new minute.
 * So a gap of any length (ISS unreachable, the scraper down with its state kept) is filled at
 * one request per security per cycle, and a caught-up security costs one request per minute.
 */

export interface CandleCursor {
  /** Unix ms: ask for candles from here (a minute start). */
  from: number;
  /** Rows of `from`'s answer already read (ISS paging). */
  start: number;
  /** Unix ms: start of the newest candle seen. */
  newest: number | null;
  /** Data minute (unix ms) of the last request; null = never asked. */
  askedAt: number | null;
  /** The last page was full: more rows wait. */
  catchingUp: boolean;
}

export type CandleState = Record<string, CandleCursor>;

export interface Watched {
  /** `board:ticker`, the state's key. */
  key: string;
  /** The quote's exchange time: the feed's "now". */
  time: Date;
}

export interface CandlePlanOptions {
  /** Where a security without state starts (minutes before its quote time). */
  lookbackMinutes: number;
  /** How far back a gap is filled at most (older state is moved up to this). */
  maxBackfillMinutes: number;
  /** Requests per cycle, over all securities. */
  maxRequests: number;
}

export interface CandleRequest {
  key: string;
  from: Date;
  start: number;
}

const MINUTE = 60_000;
const minuteOf = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

/** The cursor of one security: its state, a new one, or one moved up to the backfill bound. */
function cursorFor(state: CandleState, watched: Watched, options: CandlePlanOptions): CandleCursor {
  const now = watched.time.getTime();
  const oldest = minuteOf(now) - options.maxBackfillMinutes * MINUTE;
  const cursor = state[watched.key];
  if (!cursor) return { from: minuteOf(now) - options.lookbackMinutes * MINUTE, start: 0, newest: null, askedAt: null, catchingUp: true };
  if (cursor.from < oldest) return { ...cursor, from: oldest, start: 0 };
  return cursor;
}

/** This cycle's requests: securities behind first, then the longest unasked, at most maxRequests. */
export function planCandleRequests(state: CandleState, watched: readonly Watched[], options: CandlePlanOptions): CandleRequest[] {
  const due = watched
    .map((w) => ({ w, cursor: cursorFor(state, w, options) }))
    .filter(({ w, cursor }) => cursor.catchingUp || cursor.askedAt === null || minuteOf(w.time.getTime()) > cursor.askedAt);
  due.sort((a, b) => Number(b.cursor.catchingUp) - Number(a.cursor.catchingUp) || (a.cursor.askedAt ?? -Infinity) - (b.cursor.askedAt ?? -Infinity));
  return due.slice(0, options.maxRequests).map(({ w, cursor }) => ({ key: w.key, from: new Date(cursor.from), start: cursor.start }));
}

/** The cursor after ISS answered `request` with `page`, at data time `time`. */
export function afterCandlePage(
  request: CandleRequest,
  page: Pick<CandlePage, 'rows' | 'candles'>,
  time: Date,
  previous: CandleCursor | undefined,
): CandleCursor {
  let newest = previous?.newest ?? null;
  for (const c of page.candles) newest = Math.max(newest ?? -Infinity, c.begin.getTime());
  const askedAt = minuteOf(time.getTime());
  if (page.rows >= CANDLES_PAGE_ROWS) {
    return { from: request.from.getTime(), start: request.start + page.rows, newest, askedAt, catchingUp: true };
  }
  // Caught up: ask again from the newest candle, which may have been in progress.
  return { from: Math.max(newest ?? request.from.getTime(), request.from.getTime()), start: 0, newest, askedAt, catchingUp: false };
}
