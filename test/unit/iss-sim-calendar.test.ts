import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Market } from '../../iss-sim/src/market';
import { dailytableRows, simSchedule, SimTradingCalendar, timetableRows } from '../../iss-sim/src/trading-calendar';
import { Problem } from '../../lib/config';
import { issFixture } from '../support/fixtures';

const msk = (text: string) => new Date(`${text}+03:00`);

describe('ISS simulator trading calendar', () => {
  test('ISS_SIM_SCHEDULE and ISS_SIM_DAILYTABLE become timetable and dailytable rows', () => {
    assert.deepEqual(timetableRows('1-5=06:50-23:50; 6=10:00-19:00:30'), [
      [1, 1, '06:50:00', '23:50:00'],
      [2, 1, '06:50:00', '23:50:00'],
      [3, 1, '06:50:00', '23:50:00'],
      [4, 1, '06:50:00', '23:50:00'],
      [5, 1, '06:50:00', '23:50:00'],
      [6, 1, '10:00:00', '19:00:30'],
      [7, 0, '00:00:00', '00:00:00'],
    ]);
    assert.deepEqual(dailytableRows('2026-11-04=closed;2026-03-07=10:00-19:00'), [
      ['2026-11-04', 0, '00:00:00', '00:00:00'],
      ['2026-03-07', 1, '10:00:00', '19:00:00'],
    ]);
  });

  test('bad values are refused with the entry named', () => {
    for (const bad of ['0=06:50-23:50', '5-1=closed', '1-5', '1=6:50-23:50', '1=23:50-06:50', '1=25:00-26:00']) {
      assert.throws(
        () => simSchedule(bad),
        (err: unknown) => err instanceof Problem,
        bad,
      );
    }
    assert.throws(() => new SimTradingCalendar('1-7=00:00-23:59', '2026-02-30=closed'), Problem);
    assert.throws(() => dailytableRows('4.11.2026=closed'), /YYYY-MM-DD/);
    assert.equal(simSchedule(undefined), '1-7=00:00:00-23:59:59');
    assert.equal(simSchedule(' '), '1-7=00:00:00-23:59:59', 'empty, as compose passes an unset variable, is the default');
  });

  test("the served answer has the real capture's blocks, columns and column types", () => {
    const real = issFixture('real/engine-stock-2018') as Record<string, { metadata: unknown; columns: string[] }>;
    const served = new SimTradingCalendar('1-5=06:50-23:50', '2026-11-04=closed').json('stock', { withMetadata: true, only: null }) as typeof real;
    assert.deepEqual(Object.keys(served), Object.keys(real));
    for (const block of Object.keys(real)) {
      assert.deepEqual(served[block]!.columns, real[block]!.columns, block);
      assert.deepEqual(served[block]!.metadata, real[block]!.metadata, block);
    }
    const narrow = new SimTradingCalendar('1-5=06:50-23:50', '').json('stock', { withMetadata: false, only: new Set(['timetable', 'dailytable']) });
    assert.deepEqual(Object.keys(narrow), ['timetable', 'dailytable']);
    assert.equal('metadata' in (narrow.timetable as object), false);
  });

  test('the market stops trading outside the schedule and trades again when the session opens', () => {
    const calendar = new SimTradingCalendar('1-5=06:50-23:50;6-7=closed', '2026-11-04=closed');
    let now = msk('2026-12-05T03:00:00').getTime(); // Saturday night
    const market = new Market({ now: () => now });
    const sessions = () => new Set([...market.boards.values()].flatMap((b) => [...b.values()].map((s) => s.session)));

    calendar.apply(market, new Date(now));
    assert.deepEqual(sessions(), new Set(['closed']));
    const frozen = market.securities.get('SBER')!.last;
    now += 3600_000;
    calendar.apply(market, new Date(now));
    market.advance();
    assert.equal(market.securities.get('SBER')!.last, frozen, 'prices hold still while closed');

    // A test may open one security by hand: it stays so until the next boundary.
    market.override('SBER', { session: 'trading' });
    calendar.apply(market, new Date(now + 1000));
    assert.equal(market.securities.get('SBER')!.session, 'trading');
    assert.equal(market.securities.get('GAZP')!.session, 'closed');

    now = msk('2026-12-07T06:50:00').getTime(); // Monday morning
    calendar.apply(market, new Date(now));
    assert.deepEqual(sessions(), new Set(['trading']));
    now = msk('2026-11-04T12:00:00').getTime(); // a holiday from dailytable
    calendar.apply(market, new Date(now));
    assert.deepEqual(sessions(), new Set(['closed']));
  });

  test('an open market at start is left as it is; replace() changes the schedule at run time', () => {
    const calendar = new SimTradingCalendar('1-7=00:00-23:59:59', '');
    const market = new Market();
    market.override('SBER', { session: 'pre-open' });
    calendar.apply(market, msk('2026-12-05T03:00:00'));
    assert.equal(market.securities.get('SBER')!.session, 'pre-open');
    calendar.replace(undefined, '2026-12-05=closed');
    assert.deepEqual(calendar.session(msk('2026-12-05T03:00:00')), { open: false, secondsLeft: 0 });
    calendar.apply(market, msk('2026-12-05T03:00:01'));
    assert.equal(market.securities.get('SBER')!.session, 'closed');
    assert.throws(() => calendar.replace('8=closed', undefined), Problem);
    assert.deepEqual(calendar.session(msk('2026-12-05T03:00:00')), { open: false, secondsLeft: 0 }, 'a refused schedule leaves the old one');
  });

  test('outside the sessions the snapshot stands still, as ISS freezes SYSTIME and UPDATETIME after the close', () => {
    const calendar = new SimTradingCalendar('1-5=06:50-23:50;6-7=closed', '2026-11-04=closed;2026-11-07=10:00-19:00');
    const at = (text: string, delay = 0) => calendar.snapshotTime(msk(text), delay).getTime();
    assert.equal(at('2026-12-02T12:00:00'), msk('2026-12-02T12:00:00').getTime(), 'in session: the clock');
    assert.equal(at('2026-12-05T03:00:00'), msk('2026-12-04T23:50:00').getTime(), "Saturday: Friday's close");
    assert.equal(at('2026-12-07T06:00:00'), msk('2026-12-04T23:50:00').getTime(), 'Monday before the open: still Friday');
    assert.equal(at('2026-12-05T03:00:00', 900), msk('2026-12-05T00:05:00').getTime(), 'a delayed feed caught up with the close');
    assert.equal(at('2026-12-04T23:55:00', 900), msk('2026-12-04T23:55:00').getTime(), '...and runs on until it has');
    assert.equal(at('2026-11-04T12:00:00'), msk('2026-11-03T23:50:00').getTime(), 'a holiday: the day before');
    assert.equal(at('2026-11-08T12:00:00'), msk('2026-11-07T19:00:00').getTime(), 'Sunday after a weekend session');
    assert.equal(new SimTradingCalendar('1-7=closed', '').lastClose(msk('2026-12-05T03:00:00')), null, 'no session to freeze at: the clock runs');
  });
});
