// The trading calendar end to end on loopback: the simulator serves /iss/engines/stock.json, stops
// trading outside its schedule and freezes its snapshot (SYSTIME, UPDATETIME) there as ISS does; the
// worker reads the calendar and exports moex_market_open / moex_session_seconds_left on the host's
// clock, and SYSTIME's distance from it as moex_iss_clock_skew_seconds.
//
// The worker's clock is the host's, which a test cannot move, so the calendar is set around the host's
// Moscow date: every weekday closed and yesterday's session to 23:50 in dailytable make today a
// Saturday after Friday's evening session, whatever day the test runs on. The feed is real-time
// (ISS_SIM_DELAY_SECONDS 0), so the frozen SYSTIME is the close itself, inside the session's stop
// second: a calendar judged by SYSTIME would say open, as it did all weekend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatMoscowTime, moscowDay, parseMoscowTime } from '../../lib/moex/moscow-time';
import { eventually, scrape, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const DAY_MS = 86_400_000;
const moscowDate = (ms: number) => formatMoscowTime(new Date(ms)).slice(0, 10);
const startedAt = Date.now();
const YESTERDAY = moscowDate(startedAt - DAY_MS);
const TODAY = moscowDate(startedAt);
const TOMORROW = moscowDate(startedAt + DAY_MS);
const SCHEDULE = '1-7=closed';
const FRIDAY_SESSION = `${YESTERDAY}=06:50-23:50`;
const CLOSE = parseMoscowTime(`${YESTERDAY} 23:50:00`)!.getTime();
const SBER_TRADING = 'moex_trading{ticker="SBER",board="TQBR",engine="stock",market="shares"}';

async function putCalendar(sim: IssSim, body: { schedule?: string; dailytable?: string }): Promise<{ open: boolean; secondsLeft: number }> {
  const res = await fetch(`${sim.url}/sim/calendar`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { open: boolean; secondsLeft: number };
}

/** SYSTIME and UPDATETIME of SBER as the simulator serves them now. */
async function servedTimes(sim: IssSim): Promise<{ systime: string; updatetime: string }> {
  const res = await fetch(`${sim.issUrl}/engines/stock/markets/shares/boards/TQBR/securities.json?iss.meta=off&iss.only=marketdata&securities=SBER`);
  const { marketdata } = (await res.json()) as { marketdata: { columns: string[]; data: unknown[][] } };
  const cell = (column: string) => String(marketdata.data[0]![marketdata.columns.indexOf(column)]);
  return { systime: cell('SYSTIME'), updatetime: cell('UPDATETIME') };
}

describe('trading calendar: simulator -> worker, on the host clock', { timeout: 120_000 }, () => {
  let sim: IssSim;
  let worker: RunningService;

  before(async () => {
    sim = await startIssSim({ ISS_SIM_SCHEDULE: SCHEDULE, ISS_SIM_DAILYTABLE: FRIDAY_SESSION, ISS_SIM_DELAY_SECONDS: '0' });
    worker = await startService(
      'worker',
      { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: '* * * * * *', MOEX_CALENDAR_REFRESH_SECONDS: '1' },
      { waitFor: 'readyz' },
    );
  });

  after(async () => {
    await worker?.stop();
    await sim?.stop();
  });

  test("the simulator serves the calendar in ISS's shape, the worker asked for it", async () => {
    const res = await fetch(`${sim.issUrl}/engines/stock.json?iss.meta=off&iss.only=timetable,dailytable`);
    assert.equal(res.headers.get('x-moex-simulator'), '1');
    const body = (await res.json()) as Record<string, { columns: string[]; data: unknown[][] }>;
    assert.deepEqual(Object.keys(body), ['timetable', 'dailytable']);
    assert.deepEqual(body.timetable!.data[5], [6, 0, '00:00:00', '00:00:00']);
    assert.deepEqual(body.dailytable!.data, [[YESTERDAY, 1, '06:50:00', '23:50:00']]);
    const requests = await sim.control.requests();
    assert.ok(
      requests.some((r) => r.path === '/iss/engines/stock.json'),
      'the worker fetched the engine calendar',
    );
  });

  test("a Saturday with SYSTIME frozen at Friday's close: closed, no trading, prices still, the frozen clock shown as skew", async () => {
    const frozen = { systime: `${YESTERDAY} 23:50:00`, updatetime: '23:50:00' };
    assert.deepEqual(await servedTimes(sim), frozen);
    const before = (await sim.control.securities(['SBER']))[0]!.last;
    await sleep(2000);
    assert.deepEqual(await servedTimes(sim), frozen, 'SYSTIME and UPDATETIME stand still');
    assert.equal((await sim.control.securities(['SBER']))[0]!.last, before);

    const s = await eventually(
      async () => {
        const samples = await scrape(worker.url);
        return samples.has('moex_market_open{engine="stock"}') && samples.has('moex_iss_clock_skew_seconds{engine="stock"}') ? samples : null;
      },
      20_000,
      'the calendar read and a poll answered',
    );
    const scrapedAt = Date.now();
    assert.equal(s.get('moex_market_open{engine="stock"}'), 0);
    assert.equal(s.get('moex_session_seconds_left{engine="stock"}'), 0);
    assert.equal(s.get(SBER_TRADING), 0);
    assert.equal(s.get('moex_quote_timestamp_seconds{ticker="SBER",board="TQBR",engine="stock",market="shares"}'), CLOSE / 1000);
    const skew = s.get('moex_iss_clock_skew_seconds{engine="stock"}')!;
    // SYSTIME minus the host clock at the last poll, at most a poll interval and a scrape before now.
    assert.ok(Math.abs(skew - (CLOSE - scrapedAt) / 1000) < 5, `skew ${skew} s, the close was ${(scrapedAt - CLOSE) / 1000} s ago`);
  });

  test('a session in dailytable opens the market and starts the clock; the simulator clock set ahead shows as skew', async () => {
    const sessionToday = `${FRIDAY_SESSION};${TODAY}=00:00-23:59:59;${TOMORROW}=00:00-23:59:59`;
    assert.equal((await putCalendar(sim, { dailytable: sessionToday })).open, true);
    const open = await eventually(
      async () => {
        const s = await scrape(worker.url);
        return s.get('moex_market_open{engine="stock"}') === 1 &&
          s.get(SBER_TRADING) === 1 &&
          Math.abs(s.get('moex_iss_clock_skew_seconds{engine="stock"}')!) < 5
          ? { s, at: Date.now() }
          : null;
      },
      20_000,
      'market open, SBER trading, SYSTIME running with the host clock',
    );
    const left = open.s.get('moex_session_seconds_left{engine="stock"}')!;
    // To the end of the host's Moscow day (the stop second included).
    const toMidnight = (moscowDay(new Date(open.at)).midnightMs + DAY_MS - open.at) / 1000;
    assert.ok(Math.abs(left - toMidnight) < 3, `seconds left ${left}, to Moscow midnight ${toMidnight}`);

    // The simulator's clock an hour ahead of the host's: ISS's SYSTIME runs ahead by as much.
    await sim.control.advanceClock(3600);
    await eventually(
      async () => {
        const skew = (await scrape(worker.url)).get('moex_iss_clock_skew_seconds{engine="stock"}')!;
        return Math.abs(skew - 3600) < 5;
      },
      20_000,
      'skew about +3600 s',
    );
    assert.equal((await scrape(worker.url)).get('moex_market_open{engine="stock"}'), 1, "the calendar stays on the host's clock");
  });

  test('a dailytable holiday closes it again', async () => {
    await putCalendar(sim, { schedule: '1-7=00:00-23:59:59', dailytable: `${TODAY}=closed;${TOMORROW}=closed` });
    await eventually(
      async () => {
        const s = await scrape(worker.url);
        return s.get('moex_market_open{engine="stock"}') === 0 && s.get(SBER_TRADING) === 0;
      },
      20_000,
      'closed for the holiday',
    );
  });

  test('a bad schedule is refused with its reason, the running one stays', async () => {
    const res = await fetch(`${sim.url}/sim/calendar`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schedule: '9=closed' }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /weekday 1-7/);
    assert.equal((await putCalendar(sim, {})).open, false);
  });
});
