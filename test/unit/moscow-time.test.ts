/**
 * The simulator's Moscow time (Intl, `Europe/Moscow`) and the client's (a fixed UTC+3 offset,
 * lib/moex/moscow-time.ts) are computed apart; they must agree at every instant of a year, at every
 * midnight and the second either side of it, both ways (format and parse).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { moscowDateTime, parseMoscowDateTime } from '../../iss-sim/src/moscow-time';
import { formatMoscowTime, parseMoscowTime } from '../../lib/moex/moscow-time';

const YEAR_START = Date.UTC(2026, 0, 1) - 3 * 3600_000; // Moscow's 2026-01-01 00:00:00
const DAY = 86_400_000;

function agree(at: Date) {
  const simulator = moscowDateTime(at);
  assert.equal(simulator, formatMoscowTime(at), at.toISOString());
  assert.equal(parseMoscowDateTime(simulator)?.getTime(), at.getTime(), simulator);
  assert.equal(parseMoscowTime(simulator)?.getTime(), at.getTime(), simulator);
}

describe('Moscow time: the simulator and the client agree', () => {
  test('every midnight of 2026 (and 2027-01-01), the second before and after it', () => {
    let days = 0;
    for (let midnight = YEAR_START; midnight <= YEAR_START + 365 * DAY; midnight += DAY, days++) {
      for (const delta of [-1000, 0, 1000]) agree(new Date(midnight + delta));
      assert.match(moscowDateTime(new Date(midnight)), / 00:00:00$/);
    }
    assert.equal(days, 366);
    assert.equal(moscowDateTime(new Date(YEAR_START + 365 * DAY)), '2027-01-01 00:00:00');
  });

  test('every 37 min 13 s through the year: a step prime to the day, so times of day drift over the whole clock', () => {
    for (let t = YEAR_START; t < YEAR_START + 365 * DAY; t += 2_233_000) agree(new Date(t));
  });

  test('the simulator refuses what is not a Moscow wall-clock time, as the client does', () => {
    for (const text of ['2026-02-30 10:00:00', '2026-01-01 24:00:00', '2026-01-01 10:00', 'yesterday']) {
      assert.equal(parseMoscowDateTime(text), null, text);
      assert.equal(parseMoscowTime(text), null, text);
    }
  });
});
