import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEngineCalendar, sessionAt } from '../../lib/moex/calendar';
import { moscowDay } from '../../lib/moex/moscow-time';
import { PollError } from '../../lib/moex/errors';
import { issFixture } from '../support/fixtures';

/** An instant given as Moscow wall time (UTC+3). */
const msk = (text: string) => new Date(`${text}+03:00`);

/** An engine answer in ISS's shape: the columns in the order given, one array per row. */
function engineAnswer(
  timetable: unknown[][],
  dailytable: unknown[][],
  columns = { timetable: ['week_day', 'is_work_day', 'start_time', 'stop_time'], dailytable: ['date', 'is_work_day', 'start_time', 'stop_time'] },
) {
  return {
    engine: { columns: ['NAME', 'title', 'short_title'], data: [['stock', 'Securities Market', 'Stock']] },
    timetable: { columns: columns.timetable, data: timetable },
    dailytable: { columns: columns.dailytable, data: dailytable },
  };
}

// A stock-market week as MOEX has run it since 2025: weekdays from the morning session through the
// evening one, weekends closed unless dailytable lists a weekend session; holidays in dailytable.
const WEEK = engineAnswer(
  [
    [1, 1, '06:50:00', '23:50:00'],
    [2, 1, '06:50:00', '23:50:00'],
    [3, 1, '06:50:00', '23:50:00'],
    [4, 1, '06:50:00', '23:50:00'],
    [5, 1, '06:50:00', '23:59:59'],
    [6, 0, '10:00:00', '19:00:00'],
    [7, 0, '10:00:00', '19:00:00'],
  ],
  [
    ['2026-11-04', 0, '06:50:00', '23:50:00'], // National Unity Day, a Wednesday
    ['2026-03-07', 1, '10:00:00', '19:00:00'], // a Saturday weekend session
  ],
);
const week = parseEngineCalendar(WEEK).calendar;

describe('trading calendar: /iss/engines/{engine}.json', () => {
  it('reads the real capture by column name: Monday 06:20-23:59:59, 2018-05-09 a holiday', () => {
    const { calendar, invalidRows } = parseEngineCalendar(issFixture('real/engine-stock-2018'));
    assert.deepEqual(invalidRows, []);
    assert.deepEqual([...calendar.weekly], [[1, { start: 6 * 3600 + 20 * 60, stop: 86_399 }]]);
    assert.deepEqual([...calendar.daily], [['2018-05-09', null]]);

    assert.deepEqual(sessionAt(calendar, msk('2018-05-07T06:19:59')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(calendar, msk('2018-05-07T06:20:00')), { open: true, secondsLeft: 17 * 3600 + 40 * 60 });
    assert.deepEqual(sessionAt(calendar, msk('2018-05-07T12:00:00')), { open: true, secondsLeft: 12 * 3600 });
    // The trimmed capture has no Tuesday row: no session, rather than a guess.
    assert.deepEqual(sessionAt(calendar, msk('2018-05-08T12:00:00')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(calendar, msk('2018-05-09T12:00:00')), { open: false, secondsLeft: 0 });
  });

  it('a weekday night is closed; the morning session opens at its start second', () => {
    assert.deepEqual(sessionAt(week, msk('2026-12-02T03:00:00')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(week, msk('2026-12-02T06:49:59')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(week, msk('2026-12-02T06:50:00')), { open: true, secondsLeft: 17 * 3600 + 1 });
  });

  it('the evening session is open until its stop second, closed after it', () => {
    assert.deepEqual(sessionAt(week, msk('2026-12-02T21:00:00')), { open: true, secondsLeft: 2 * 3600 + 50 * 60 + 1 });
    assert.deepEqual(sessionAt(week, msk('2026-12-02T23:50:00.500')), { open: true, secondsLeft: 0.5 });
    assert.deepEqual(sessionAt(week, msk('2026-12-02T23:50:01')), { open: false, secondsLeft: 0 });
  });

  it('a holiday in dailytable is closed although its weekday trades', () => {
    assert.deepEqual(sessionAt(week, msk('2026-11-04T12:00:00')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(week, msk('2026-11-05T12:00:00')), { open: true, secondsLeft: 11 * 3600 + 50 * 60 + 1 });
  });

  it('a weekend session in dailytable trades; other weekends do not', () => {
    assert.deepEqual(sessionAt(week, msk('2026-03-07T12:00:00')), { open: true, secondsLeft: 7 * 3600 + 1 });
    assert.deepEqual(sessionAt(week, msk('2026-03-07T19:00:01')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(week, msk('2026-12-05T03:00:00')), { open: false, secondsLeft: 0 });
    assert.deepEqual(sessionAt(week, msk('2026-12-05T12:00:00')), { open: false, secondsLeft: 0 });
  });

  it('midnight: a session to 23:59:59 runs to the end of the day; the next day starts closed', () => {
    assert.deepEqual(sessionAt(week, msk('2026-12-04T23:59:59.250')), { open: true, secondsLeft: 0.75 });
    assert.deepEqual(sessionAt(week, msk('2026-12-05T00:00:00')), { open: false, secondsLeft: 0 });
    // 21:00 UTC on Sunday is Monday 00:00 in Moscow: Monday's row applies, and it opens at 06:50.
    assert.deepEqual(moscowDay(new Date('2026-12-06T21:00:00Z')), {
      date: '2026-12-07',
      weekDay: 1,
      secondsOfDay: 0,
      midnightMs: Date.parse('2026-12-06T21:00:00Z'),
    });
    assert.deepEqual(sessionAt(week, new Date('2026-12-06T21:00:00Z')), { open: false, secondsLeft: 0 });
  });

  it('reordered and extra columns are read by name', () => {
    const answer = engineAnswer([['23:50:00', 3, 'x', 1, '06:50:00']], [[1, '19:00:00', '2026-03-07', '10:00:00']], {
      timetable: ['stop_time', 'week_day', 'extra', 'is_work_day', 'start_time'],
      dailytable: ['is_work_day', 'stop_time', 'date', 'start_time'],
    });
    const { calendar } = parseEngineCalendar(answer);
    assert.deepEqual([...calendar.weekly], [[3, { start: 6 * 3600 + 50 * 60, stop: 23 * 3600 + 50 * 60 }]]);
    assert.deepEqual([...calendar.daily], [['2026-03-07', { start: 10 * 3600, stop: 19 * 3600 }]]);
  });

  it('rows that cannot be a day are left out and reported, the rest still count', () => {
    const { calendar, invalidRows } = parseEngineCalendar(
      engineAnswer(
        [
          [8, 1, '06:50:00', '23:50:00'],
          [1, 2, '06:50:00', '23:50:00'],
          [2, 1, '23:50:00', '06:50:00'],
          [3, 1, null, '23:50:00'],
          [4, 1, '06:50:00', '23:50:00'],
        ],
        [
          ['2026-02-30', 0, '10:00:00', '19:00:00'],
          ['2026-11-04', 0, null, null],
        ],
      ),
    );
    assert.deepEqual([...calendar.weekly.keys()], [4]);
    assert.deepEqual([...calendar.daily], [['2026-11-04', null]]);
    assert.deepEqual(
      invalidRows.map((r) => r.block),
      ['timetable', 'timetable', 'timetable', 'timetable', 'dailytable'],
    );
  });

  it('an answer without the calendar blocks is a validation error', () => {
    assert.throws(
      () => parseEngineCalendar({ engine: { columns: [], data: [] } }),
      (err: unknown) => err instanceof PollError && err.reason === 'validation' && /timetable/.test(err.message),
    );
    assert.throws(
      () => parseEngineCalendar(engineAnswer([], [], { timetable: ['week_day'], dailytable: ['date'] })),
      /lacks is_work_day, start_time, stop_time/,
    );
    assert.throws(() => parseEngineCalendar('<html>'), PollError);
  });
});
