import { formatMoscowTime } from '../moscow-time';
import { ALGOPACK_PAGE_ROWS } from './datasets';
import type { AlgopackBar, AlgopackPage } from './parse';

/**
 * Which ALGOPACK pages to read, per dataset. Pure: state in, state out.
 *
 * Every cycle reads the newest bar of all instruments (`latest=1`, every page). When that bar is
 * more than one 5-minute step after the newest bar seen before (ISS was down, or this process
 * stalled), the bars in between are a gap: they are read from the whole day's answer (`date=`,
 * paged with `start=`), a bounded number of pages per cycle, resuming where the last cycle
 * stopped, and only bars strictly between the two are kept (the stores already have the rest).
 * A gap reaches back at most `maxBackfillMs` before the newest bar.
 *
 * Which of the newest bars are new is judged per instrument, not against the dataset's newest
 * bar: a walk of several pages can straddle the moment MOEX publishes the next bar (the first
 * pages still show the old bar, the last ones the new), and an instrument read before that moment
 * shows its new bar only on the next walk, stamped no later than the newest bar already seen.
 */

export const BAR_MS = 5 * 60_000;

export interface FeedCursor {
  /** Unix ms: the end of the newest bar seen; null before the first one. */
  newest: number | null;
  /** A gap being filled: bars with `from < end < to`, read from `date`'s answer at row `start`. */
  backfill: { from: number; to: number; date: string; start: number } | null;
  /** Unix ms per kept instrument (and client group): the end of its bar in the last walk of the newest bars; absent before the first walk. */
  seen?: Record<string, number>;
}

export const NEW_CURSOR: FeedCursor = { newest: null, backfill: null };

/** An instrument of a dataset: its ticker, futoi's also its client group (`Si/FIZ`). */
export const instrumentKey = (bar: Pick<AlgopackBar, 'ticker' | 'group'>): string => (bar.group === null ? bar.ticker : `${bar.ticker}/${bar.group}`);

/**
 * The kept newest bars an output has not had yet: each instrument's bar is new when it ends after
 * that instrument's bar of the previous walk (or the instrument was not in it). The map holds only
 * this walk's instruments, so it stays as large as one answer.
 */
export function freshBars(cursor: FeedCursor, kept: readonly AlgopackBar[]): { fresh: AlgopackBar[]; cursor: FeedCursor } {
  const before = cursor.seen ?? {};
  const seen: Record<string, number> = {};
  const fresh: AlgopackBar[] = [];
  for (const bar of kept) {
    const key = instrumentKey(bar);
    const end = bar.end.getTime();
    if (!(key in before) || end > before[key]!) fresh.push(bar);
    seen[key] = Math.max(end, seen[key] ?? end);
  }
  return { fresh, cursor: { ...cursor, seen } };
}

const moscowDate = (ms: number) => formatMoscowTime(new Date(ms)).slice(0, 10);

/** The calendar day after `YYYY-MM-DD`. */
function nextDate(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

/** The end of the newest bar of a list, or null for none. */
export const newestEnd = (bars: readonly AlgopackBar[]): number | null => (bars.length === 0 ? null : Math.max(...bars.map((b) => b.end.getTime())));

/** After the `latest=1` pages: a bar more than a step after the previous newest opens (or widens) a gap. */
export function afterLatest(cursor: FeedCursor, latestEnd: number | null, maxBackfillMs: number): FeedCursor {
  if (latestEnd === null || (cursor.newest !== null && latestEnd <= cursor.newest)) return cursor;
  let { backfill } = cursor;
  if (backfill) backfill = { ...backfill, to: latestEnd };
  else if (cursor.newest !== null && latestEnd - cursor.newest > BAR_MS) {
    const from = Math.max(cursor.newest, latestEnd - maxBackfillMs);
    backfill = { from, to: latestEnd, date: moscowDate(from), start: 0 };
  }
  return { ...cursor, newest: latestEnd, backfill };
}

/** Whether a page is the last of its answer: short, empty, or at the cursor's total. */
export function isLastPage(start: number, page: Pick<AlgopackPage, 'rows' | 'cursor'>): boolean {
  const pageSize = page.cursor?.pageSize ?? ALGOPACK_PAGE_ROWS;
  return page.rows === 0 || page.rows < pageSize || (page.cursor !== null && start + page.rows >= page.cursor.total);
}

/** The gap's bars on a backfill page. */
export const barsInGap = (cursor: FeedCursor, bars: readonly AlgopackBar[]): AlgopackBar[] =>
  cursor.backfill ? bars.filter((b) => b.end.getTime() > cursor.backfill!.from && b.end.getTime() < cursor.backfill!.to) : [];

/** After a backfill page: the next page of the day, the next day, or the gap closed. */
export function afterBackfillPage(cursor: FeedCursor, page: Pick<AlgopackPage, 'rows' | 'cursor'>): FeedCursor {
  const { backfill } = cursor;
  if (!backfill) return cursor;
  if (!isLastPage(backfill.start, page)) return { ...cursor, backfill: { ...backfill, start: backfill.start + page.rows } };
  if (backfill.date >= moscowDate(backfill.to)) return { ...cursor, backfill: null };
  return { ...cursor, backfill: { ...backfill, date: nextDate(backfill.date), start: 0 } };
}
