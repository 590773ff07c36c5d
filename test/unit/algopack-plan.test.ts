import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlgopackBar } from '../../lib/moex/algopack/parse';
import { afterBackfillPage, afterLatest, BAR_MS, barsInGap, freshBars, isLastPage, NEW_CURSOR, newestEnd } from '../../lib/moex/algopack/plan';

/** Moscow wall time → Unix ms. */
const msk = (text: string) => new Date(`${text.replace(' ', 'T')}+03:00`).getTime();
const bar = (end: number): AlgopackBar => ({
  market: 'eq',
  dataset: 'tradestats',
  ticker: 'SBER',
  group: null,
  end: new Date(end),
  published: null,
  fields: {},
});
const DAY_MS = 24 * 3600_000;
const page = (rows: number, cursor: { index: number; total: number } | null = null) => ({ rows, cursor: cursor && { ...cursor, pageSize: 1000 } });

describe('afterLatest', () => {
  test('the first bar and the next one: no gap', () => {
    const first = afterLatest(NEW_CURSOR, msk('2026-03-02 10:05:00'), DAY_MS);
    assert.deepEqual(first, { newest: msk('2026-03-02 10:05:00'), backfill: null });
    assert.deepEqual(afterLatest(first, msk('2026-03-02 10:10:00'), DAY_MS), { newest: msk('2026-03-02 10:10:00'), backfill: null });
    assert.equal(afterLatest(first, null, DAY_MS), first, 'no bar yet today: nothing changes');
    assert.equal(afterLatest(first, msk('2026-03-02 10:05:00'), DAY_MS), first, 'the same bar again');
  });

  test('three bars missed: a gap between the two, read from the day of its start', () => {
    const cursor = afterLatest({ newest: msk('2026-03-02 10:05:00'), backfill: null }, msk('2026-03-02 10:25:00'), DAY_MS);
    assert.deepEqual(cursor, {
      newest: msk('2026-03-02 10:25:00'),
      backfill: { from: msk('2026-03-02 10:05:00'), to: msk('2026-03-02 10:25:00'), date: '2026-03-02', start: 0 },
    });
    // Another gap while still filling: the same gap grows.
    const wider = afterLatest({ ...cursor, newest: cursor.newest }, msk('2026-03-02 10:40:00'), DAY_MS);
    assert.deepEqual(wider.backfill, { ...cursor.backfill!, to: msk('2026-03-02 10:40:00') });
  });

  test('a gap longer than the bound starts at the bound', () => {
    const cursor = afterLatest({ newest: msk('2026-02-20 10:05:00'), backfill: null }, msk('2026-03-02 10:25:00'), DAY_MS);
    assert.deepEqual(cursor.backfill, { from: msk('2026-03-01 10:25:00'), to: msk('2026-03-02 10:25:00'), date: '2026-03-01', start: 0 });
  });
});

describe('backfill pages', () => {
  const gap = {
    newest: msk('2026-03-02 10:25:00'),
    backfill: { from: msk('2026-03-01 18:00:00'), to: msk('2026-03-02 10:25:00'), date: '2026-03-01', start: 0 },
  };

  test('only the bars strictly inside the gap are kept', () => {
    const ends = [msk('2026-03-01 17:55:00'), msk('2026-03-01 18:00:00'), msk('2026-03-01 18:05:00'), msk('2026-03-02 10:20:00'), msk('2026-03-02 10:25:00')];
    assert.deepEqual(
      barsInGap(gap, ends.map(bar)).map((b) => b.end.getTime()),
      [msk('2026-03-01 18:05:00'), msk('2026-03-02 10:20:00')],
    );
    assert.deepEqual(barsInGap(NEW_CURSOR, ends.map(bar)), []);
  });

  test('a full page: the next page; the last page of a day: the next day; of the last day: closed', () => {
    const second = afterBackfillPage(gap, page(1000, { index: 0, total: 2500 }));
    assert.deepEqual(second.backfill, { ...gap.backfill, start: 1000 });
    const nextDay = afterBackfillPage({ ...gap, backfill: { ...gap.backfill, start: 2000 } }, page(500, { index: 2000, total: 2500 }));
    assert.deepEqual(nextDay.backfill, { ...gap.backfill, date: '2026-03-02', start: 0 });
    assert.equal(afterBackfillPage(nextDay, page(0)).backfill, null);
    assert.equal(afterBackfillPage(NEW_CURSOR, page(10)), NEW_CURSOR);
  });

  test('isLastPage: short, empty, or at the total (a full last page)', () => {
    assert.equal(isLastPage(0, page(1000, { index: 0, total: 2000 })), false);
    assert.equal(isLastPage(1000, page(1000, { index: 1000, total: 2000 })), true);
    assert.equal(isLastPage(0, page(999)), true);
    assert.equal(isLastPage(0, page(0)), true);
    assert.equal(isLastPage(0, page(1000)), false, 'no cursor (futoi): a full page may have a next one');
  });

  test('newestEnd', () => {
    assert.equal(newestEnd([]), null);
    assert.equal(newestEnd([bar(5), bar(5 + BAR_MS), bar(3)]), 5 + BAR_MS);
  });
});

describe('freshBars: which newest bars are new, per instrument', () => {
  const at = (ticker: string, end: number, group: string | null = null): AlgopackBar => ({ ...bar(end), ticker, group });
  const T = msk('2026-03-02 10:05:00');
  const names = (bars: readonly AlgopackBar[]) => bars.map((b) => `${b.ticker}${b.group ? `/${b.group}` : ''}@${(b.end.getTime() - T) / BAR_MS}`);

  test('a walk that straddles a publication: the instruments read before it get their new bar on the next walk', () => {
    const first = freshBars(NEW_CURSOR, [at('SBER', T), at('GAZP', T)]);
    assert.deepEqual(names(first.fresh), ['SBER@0', 'GAZP@0']);
    // Page 1 (SBER) was read before the 10:10 bar was out, page 2 (GAZP) after.
    const torn = freshBars(afterLatest(first.cursor, T + BAR_MS, 0), [at('SBER', T), at('GAZP', T + BAR_MS)]);
    assert.deepEqual(names(torn.fresh), ['GAZP@1']);
    assert.equal(torn.cursor.newest, T + BAR_MS);
    // The dataset's newest bar does not move on, but SBER's own does.
    const next = freshBars(afterLatest(torn.cursor, T + BAR_MS, 0), [at('SBER', T + BAR_MS), at('GAZP', T + BAR_MS)]);
    assert.deepEqual(names(next.fresh), ['SBER@1']);
    assert.deepEqual(names(freshBars(next.cursor, [at('SBER', T + BAR_MS), at('GAZP', T + BAR_MS)]).fresh), []);
  });

  test('client groups are instruments of their own; an instrument new to the answer is new; the map holds only the last walk', () => {
    const first = freshBars(NEW_CURSOR, [at('Si', T, 'FIZ'), at('Si', T, 'YUR')]);
    const second = freshBars(first.cursor, [at('Si', T, 'FIZ'), at('Si', T + BAR_MS, 'YUR'), at('RI', T - BAR_MS, 'FIZ')]);
    assert.deepEqual(names(second.fresh), ['Si/YUR@1', 'RI/FIZ@-1']);
    assert.deepEqual(Object.keys(freshBars(second.cursor, [at('RI', T, 'FIZ')]).cursor.seen!), ['RI/FIZ']);
  });

  test('a cursor saved before the map existed (state file of an older version): every bar of the walk is handed on once', () => {
    const old = { newest: T, backfill: null };
    assert.deepEqual(names(freshBars(old, [at('SBER', T)]).fresh), ['SBER@0']);
  });
});
