// The trading calendar end to end on loopback: the simulator, its clock set to a Saturday night,
// serves /iss/engines/stock.json and stops trading outside its schedule; the worker reads the
// calendar and exports moex_market_open / moex_session_seconds_left on the simulator's clock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, scrape, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const SATURDAY_NIGHT = Date.parse('2026-12-05T03:00:00+03:00');
const SCHEDULE = '1-5=06:50-23:50;6-7=closed';

async function putCalendar(sim: IssSim, body: { schedule?: string; dailytable?: string }): Promise<{ open: boolean; secondsLeft: number }> {
  const res = await fetch(`${sim.url}/sim/calendar`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { open: boolean; secondsLeft: number };
}

describe('trading calendar: simulator -> worker', { timeout: 120_000 }, () => {
  let sim: IssSim;
  let worker: RunningService;

  before(async () => {
    sim = await startIssSim({ ISS_SIM_SCHEDULE: SCHEDULE, SIM_CLOCK_OFFSET_SECONDS: String(Math.round((SATURDAY_NIGHT - Date.now()) / 1000)) });
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
    const requests = await sim.control.requests();
    assert.ok(
      requests.some((r) => r.path === '/iss/engines/stock.json'),
      'the worker fetched the engine calendar',
    );
  });

  test('Saturday 03:00 MSK: closed, no trading, prices still', async () => {
    const s = await scrape(worker.url);
    assert.equal(s.get('moex_market_open{engine="stock"}'), 0);
    assert.equal(s.get('moex_session_seconds_left{engine="stock"}'), 0);
    assert.equal(s.get('moex_trading{ticker="SBER",board="TQBR",engine="stock",market="shares"}'), 0);
    const before = (await sim.control.securities(['SBER']))[0]!.last;
    await sleep(2000);
    assert.equal((await sim.control.securities(['SBER']))[0]!.last, before);
  });

  test('a weekend session listed in dailytable opens the market; a dailytable holiday closes it again', async () => {
    assert.equal((await putCalendar(sim, { dailytable: '2026-12-05=00:00-12:00' })).open, true);
    const open = await eventually(
      async () => {
        const s = await scrape(worker.url);
        return s.get('moex_market_open{engine="stock"}') === 1 && s.get('moex_trading{ticker="SBER",board="TQBR",engine="stock",market="shares"}') === 1
          ? s
          : null;
      },
      20_000,
      'market open and SBER trading',
    );
    const left = open.get('moex_session_seconds_left{engine="stock"}')!;
    // 03:00 plus the seconds the test has run, until 12:00:00 (the stop second included).
    assert.ok(left > 8.9 * 3600 && left <= 9 * 3600 + 1, `seconds left ${left}`);

    await putCalendar(sim, { schedule: '1-7=00:00-23:59:59', dailytable: '2026-12-05=closed' });
    await eventually(
      async () => {
        const s = await scrape(worker.url);
        return s.get('moex_market_open{engine="stock"}') === 0 && s.get('moex_trading{ticker="SBER",board="TQBR",engine="stock",market="shares"}') === 0;
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
