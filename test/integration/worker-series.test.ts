import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, runToExit, scrape, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const EVERY_SECOND = '* * * * * *';
const labels = (ticker: string) => `ticker="${ticker}",board="TQBR",engine="stock",market="shares"`;
const okPolls = (s: Map<string, number>) => s.get('moex_polls_total{result="ok",board="TQBR"}') ?? 0;
/** Every series of `ticker`: gauges and the histogram's buckets, sum and count. */
const seriesOf = (s: Map<string, number>, ticker: string) => [...s.keys()].filter((k) => k.startsWith('moex_') && k.includes(`ticker="${ticker}"`));
const histogramCount = (s: Map<string, number>, ticker: string) => s.get(`moex_price_relative_to_prev_close_count{${labels(ticker)}}`);

describe('worker-prometheus shows only what ISS shows (an ALL board)', () => {
  let sim: IssSim;
  let worker: RunningService;
  let listedDefault: RunningService;

  before(async () => {
    sim = await startIssSim();
    const env = { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'ALL', POLL_SCHEDULE: EVERY_SECOND, MOEX_TIMEOUT_MS: '1000' };
    [worker, listedDefault] = await Promise.all([
      startService('worker', { ...env, MOEX_HISTOGRAM: 'all' }, { waitFor: 'readyz' }),
      startService('worker', env, { waitFor: 'readyz' }),
    ]);
  });
  after(async () => {
    await worker?.stop();
    await listedDefault?.stop();
    await sim?.stop();
  });

  test('a security that is not trading adds no sample to moex_price_relative_to_prev_close', async () => {
    await sim.control.setSecurity('GAZP', { session: 'closed' });
    const start = await eventually(
      async () => {
        const s = await scrape(worker.url);
        return s.get(`moex_trading{${labels('GAZP')}}`) === 0 ? s : null;
      },
      15_000,
      'GAZP closed',
    );
    const end = await eventually(
      async () => {
        const s = await scrape(worker.url);
        return okPolls(s) >= okPolls(start) + 3 ? s : null;
      },
      15_000,
      'three more polls',
    );
    assert.equal(histogramCount(end, 'GAZP'), histogramCount(start, 'GAZP'), 'no sample while closed');
    assert.ok(histogramCount(end, 'SBER')! >= histogramCount(start, 'SBER')! + 3, 'a trading security gains one per poll');
  });

  test('a security the board stops returning loses every series after 3 polls, counted', async () => {
    const before = await scrape(worker.url);
    assert.ok(
      seriesOf(before, 'GAZP').some((k) => k.startsWith('moex_price_relative_to_prev_close_bucket')),
      'histogram series to remove',
    );
    assert.equal(before.get('moex_series_removed_total{board="TQBR"}'), 0);
    await sim.control.delist('TQBR', 'GAZP');
    // A poll answered just before the delisting may be counted after `before`: hence 3 or 4.
    const seen: Array<{ polls: number; present: boolean }> = [];
    await eventually(
      async () => {
        const s = await scrape(worker.url);
        seen.push({ polls: okPolls(s) - okPolls(before), present: seriesOf(s, 'GAZP').length > 0 });
        return seen.at(-1)!.polls >= 5;
      },
      20_000,
      'five polls after the delisting',
      50,
    );
    for (const { polls, present } of seen) {
      if (polls <= 2) assert.ok(present, `kept after ${polls} polls without it`);
      if (polls >= 4) assert.ok(!present, `gone after ${polls} polls without it`);
    }
    const after = await scrape(worker.url);
    assert.deepEqual(seriesOf(after, 'GAZP'), [], 'no gauge, bucket, sum or count left');
    assert.equal(after.get('moex_series_removed_total{board="TQBR"}'), 1);
    assert.ok(after.has(`moex_last_price{${labels('SBER')}}`), 'the rest of the board stays');
  });

  test('MOEX_HISTOGRAM defaults to listed tickers: an ALL board has no histogram series', async () => {
    const s = await scrape(listedDefault.url);
    assert.ok(s.has(`moex_last_price{${labels('SBER')}}`));
    assert.deepEqual(
      [...s.keys()].filter((k) => k.startsWith('moex_price_relative_to_prev_close')),
      [],
    );
  });
});

describe('worker-prometheus config', () => {
  test('a bad MOEX_HISTOGRAM stops the worker with exit 2 naming the variable', async () => {
    const { code, output } = await runToExit('worker', { MOEX_HISTOGRAM: 'sometimes' });
    assert.equal(code, 2);
    assert.match(output, /MOEX_HISTOGRAM/);
  });
});
