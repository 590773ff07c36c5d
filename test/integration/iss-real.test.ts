/**
 * ISS as it really behaves, against the simulator: the 10-security filter cap, the entitlement
 * answer (HTML with status 200) and the request budget (docs/iss.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, freePort, scrape, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const EVERY_SECOND = '* * * * * *';
const series = (name: string, ticker: string) => `${name}{ticker="${ticker}",board="TQBR",engine="stock",market="shares"}`;

describe('the 10-security filter cap: 15 TQBR shares against the simulator capped like ISS', () => {
  let sim: IssSim;
  let worker: RunningService;
  let tickers: string[];

  before(async () => {
    sim = await startIssSim();
    tickers = (await sim.control.securities()).slice(0, 15).map((s) => s.secid);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: tickers.join(','), POLL_SCHEDULE: EVERY_SECOND }, { waitFor: 'readyz' });
  });
  after(async () => {
    await worker?.stop();
    await sim?.stop();
  });

  test('the simulator answers only the first 10 of a longer list, as ISS does', async () => {
    const res = await fetch(
      `${sim.issUrl}/engines/stock/markets/shares/boards/TQBR/securities.json?iss.meta=off&iss.only=securities&securities=${tickers.join(',')}`,
    );
    const { securities } = (await res.json()) as { securities: { data: unknown[][] } };
    assert.equal(securities.data.length, 10);
  });

  test('all 15 exported; each cycle asks for two lists, the first 10 and the last 5', async () => {
    const samples = await eventually(
      async () => {
        const s = await scrape(worker.url);
        return tickers.every((t) => s.has(series('moex_last_price', t))) ? s : null;
      },
      20_000,
      'every ticker exported',
    );
    assert.equal(samples.get('moex_missing_tickers'), 0);
    assert.equal(samples.get('moex_up'), 1);
    await sim.control.clearRequests();
    await eventually(async () => (await sim.control.requests()).length >= 4, 10_000, 'two cycles');
    const lists = new Set((await sim.control.requests()).map((r) => r.securities));
    assert.deepEqual([...lists].sort(), [tickers.slice(0, 10).join(','), tickers.slice(10).join(',')].sort());
  });
});

describe("the entitlement answer: the simulator's html-200 fault", () => {
  let sim: IssSim;
  let worker: RunningService;

  before(async () => {
    sim = await startIssSim();
    await sim.control.walk(false);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'SBER,GAZP', POLL_SCHEDULE: EVERY_SECOND }, { waitFor: 'readyz' });
  });
  after(async () => {
    await worker?.stop();
    await sim?.stop();
  });

  test('reason="entitlement", one log line naming the URL, last good quotes kept, moex_up 0, then recovery', async () => {
    const good = await eventually(async () => {
      const s = await scrape(worker.url);
      return s.get('moex_up') === 1 ? s : null;
    });
    const goodLast = good.get(series('moex_last_price', 'SBER'));
    assert.ok(goodLast !== undefined && goodLast > 0);
    const before = good.get('moex_poll_errors_total{reason="entitlement",board="TQBR"}')!;
    const logBefore = worker.output().length;
    await sim.control.setFault('html-200');
    let failing: Map<string, number>;
    try {
      // Several failed cycles, so a line per poll would show.
      failing = await eventually(
        async () => {
          const s = await scrape(worker.url);
          return s.get('moex_up') === 0 && s.get('moex_poll_errors_total{reason="entitlement",board="TQBR"}')! >= before + 3 ? s : null;
        },
        20_000,
        'three entitlement failures',
      );
    } finally {
      await sim.control.clearFault();
    }
    assert.equal(failing.get(series('moex_last_price', 'SBER')), goodLast, 'last good quote still served');
    assert.equal(failing.get('moex_board_up{board="TQBR"}'), 0);
    assert.ok(failing.get('moex_iss_requests_total{kind="board",result="entitlement"}')! >= 3);
    for (const [key, value] of failing)
      // Signed by nature: a change, and SYSTIME's offset from the host clock.
      if (key.startsWith('moex_') && !key.startsWith('moex_change_percent') && !key.startsWith('moex_iss_clock_skew_seconds'))
        assert.ok(Number.isFinite(value) && value >= 0, `${key} = ${value}`);
    await eventually(async () => (await scrape(worker.url)).get('moex_up') === 1, 20_000, 'recovery');
    const lines = worker
      .output()
      .slice(logBefore)
      .split('\n')
      .filter((l) => l.includes('"reason":"entitlement"'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /HTML page with status 200/);
    assert.match(lines[0]!, /\/iss\/engines\/stock\/markets\/shares\/boards\/TQBR\/securities\.json\?/);
    assert.match(worker.output().slice(logBefore), /ISS polls recovered/);
  });
});

describe('the request budget: six boards and candles with MOEX_ISS_MAX_RPS=2', () => {
  const SOURCES =
    'stock/shares/TQBR=SBER,GAZP;stock/shares/TQTF=LQDT;currency/selt/CETS=USD000UTSTOM;stock/index/SNDX=IMOEX;stock/bonds/TQOB=SU26243RMFS4;futures/forts/RFUD=SIZ6';
  let sim: IssSim;
  let scraper: RunningService;

  before(async () => {
    sim = await startIssSim({ SIM_HISTORY_MINUTES: '5' });
    // The scraper is the poller with candles; its store may be down (candles are still fetched, then buffered).
    scraper = await startService('scraper', {
      MOEX_ISS_URL: sim.issUrl,
      MOEX_SOURCES: SOURCES,
      MOEX_ISS_MAX_RPS: '2',
      POLL_SCHEDULE: '*/2 * * * * *',
      SCRAPER_CANDLES: 'on',
      GRAPHITE_TRANSPORT: 'off',
      INFLUX_URL: `http://127.0.0.1:${await freePort()}`,
    });
  });
  after(async () => {
    await scraper?.stop();
    await sim?.stop();
  });

  test('the simulator never sees more than 2 requests in any one second; /readyz says the budget is too small', async () => {
    await sim.control.clearRequests();
    await sleep(16_000);
    const log = await sim.control.requests();
    const boards = new Set(log.filter((r) => !r.path.endsWith('/candles.json')).map((r) => r.path));
    assert.equal(boards.size, 6, [...boards].join(' '));
    assert.ok(
      log.some((r) => r.path.endsWith('/candles.json')),
      'candles requested too',
    );
    const times = log.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    // Every calendar second of the simulator's log.
    const perSecond = new Map<number, number>();
    for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    assert.ok(Math.max(...perSecond.values()) <= 2, `per second: ${[...perSecond.values()].join(',')}`);
    // A sliding second too, less the scheduling jitter two busy processes add between a start and its logged arrival.
    for (let i = 0; i + 2 < times.length; i++) assert.ok(times[i + 2]! - times[i]! >= 950, `3 requests within ${times[i + 2]! - times[i]!} ms`);
    // Kept busy: 16 s at 2 a second is at most 32 requests (+1 at the window's edge), and not far fewer.
    assert.ok(times.length >= 24 && times.length <= 33, `${times.length} requests`);

    const ready = await fetch(`${scraper.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { reason: string }).reason, /MOEX_ISS_MAX_RPS=2/);
    const samples = await scrape(scraper.url);
    assert.ok(samples.get('moex_iss_requests_total{kind="candles",result="ok"}')! > 0);
    assert.ok(samples.get('moex_iss_limiter_wait_seconds_sum{kind="board"}')! > 1, 'board requests waited for the budget');
    assert.equal(
      scraper
        .output()
        .split('\n')
        .filter((l) => l.includes('cannot fit a cycle')).length,
      1,
      'logged once',
    );
  });
});
