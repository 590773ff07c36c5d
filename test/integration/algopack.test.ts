import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAlgopackPage, type AlgopackBar } from '../../lib/moex/algopack/parse';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, scrape, startIssSim, startService, sumOf, type IssSim, type RunningService } from '../support/services';
import { graphiteRender, influxQuery } from '../support/stores';

const TOKEN = 'sim-subscriber-token';
const portOf = (url: string) => url.split(':').at(-1)!;
const seconds = (d: Date) => d.getTime() / 1000;
/** Every ALGOPACK cycle at once: the test moves the simulator's clock a 5-minute mark at a time. */
const FAST = { MOEX_ALGOPACK_SCHEDULE: '*/2 * * * * *', POLL_SCHEDULE: '*/2 * * * * *' };

/** The simulator's newest eq/tradestats bars, read as a subscriber (every page). */
async function simLatest(sim: IssSim): Promise<AlgopackBar[]> {
  const bars: AlgopackBar[] = [];
  for (let start = 0; ; start += 1000) {
    const res = await fetch(`${sim.issUrl}/datashop/algopack/eq/tradestats.json?iss.meta=off&latest=1&start=${start}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const page = parseAlgopackPage(await res.json(), { market: 'eq', dataset: 'tradestats' });
    bars.push(...page.bars);
    if (page.rows < 1000 || start + page.rows >= page.cursor!.total) return bars;
  }
}

/**
 * The simulator's newest bars and the worker's samples, once the worker shows those bars. The
 * simulator's clock runs on with the real one, so a 5-minute mark may pass while waiting: the
 * newest bar is read again on every try.
 */
async function shownByWorker(sim: IssSim, worker: RunningService, labels: readonly string[], what: string) {
  let seen = '';
  return eventually(
    async () => {
      const bars = await simLatest(sim);
      const end = seconds(bars[0]!.end);
      const samples = await scrape(worker.url);
      seen = `sim ${end}, worker ${labels.map((l) => samples.get(`moex_algopack_bar_timestamp_seconds{${l}}`)).join(' ')}; ${[...samples]
        .filter(([k, v]) => k.startsWith('moex_algopack_requests_total') || (k.startsWith('moex_algopack_errors_total') && v > 0))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n${worker.output().split('\n').slice(-15).join('\n')}`;
      return labels.every((l) => samples.get(`moex_algopack_bar_timestamp_seconds{${l}}`) === end) ? { bars, samples } : null;
    },
    // A cycle reads 5 pages of 3,000 generated instruments: a few seconds, about 10 with both
    // cores busy. A walk that straddles a mark must not leave the first page's bars behind.
    60_000,
    () => `${what}; last seen: ${seen}`,
    1_000,
  );
}

describe('ALGOPACK with a subscriber token: worker → Prometheus text, scraper → InfluxDB and carbon', () => {
  let sim: IssSim;
  let carbon: Daemon, web: Daemon, influx: Daemon;
  let worker: RunningService, scraper: RunningService;
  let secondPage: string;

  before(async () => {
    // 3,000 securities: eq has 1,179 instruments, so one bar of every share is two pages. The
    // simulator's clock starts an hour behind the real one: the test moves it on by half an hour,
    // and whisper (Graphite) neither stores nor reads a point stamped after its own now.
    [sim, carbon, influx] = await Promise.all([
      startIssSim({ ISS_SIM_TOKEN: TOKEN, ISS_SIM_SCALE: '3000', SIM_CLOCK_OFFSET_SECONDS: '-3600' }),
      startDaemon('carbon'),
      startDaemon('influxdb'),
    ]);
    web = await startDaemon('graphite-web', { carbon });
    // The scraper keeps SBER and the last instrument of the answer, on its second page: still every
    // page is read, but carbon creates a few hundred files per bar instead of tens of thousands.
    await sim.control.advanceClock(300);
    secondPage = (await simLatest(sim)).at(-1)!.ticker;
    const common = { MOEX_ISS_URL: sim.issUrl, MOEX_ISS_TOKEN: TOKEN, MOEX_ISS_MAX_RPS: '50', ...FAST };
    [worker, scraper] = await Promise.all([
      startService('worker', { ...common, MOEX_ALGOPACK: 'eq/tradestats,eq/obstats=ALL;fo/futoi=ALL' }, { waitFor: 'readyz' }),
      startService(
        'scraper',
        {
          ...common,
          MOEX_ALGOPACK: `eq/tradestats,eq/obstats=SBER,${secondPage};fo/futoi=ALL`,
          GRAPHITE_TRANSPORT: 'plaintext',
          GRAPHITE_HOST: '127.0.0.1',
          GRAPHITE_PORT: portOf(carbon.url),
          INFLUX_URL: influx.url,
          INFLUX_API: 'v1',
          SCRAPER_CANDLES: 'off',
        },
        { waitFor: 'readyz' },
      ),
    ]);
  });
  after(async () => {
    await Promise.all([worker?.stop(), scraper?.stop()]);
    await Promise.all([sim, web].map((d) => d?.stop()));
    await Promise.all([carbon, influx].map((d) => d?.close()));
  });

  test('after two 5-minute marks: the newest bar in Prometheus text, InfluxDB and Graphite at its end time, every page read', async () => {
    for (let mark = 1; mark <= 2; mark++) {
      await sim.control.advanceClock(300);
      // Datasets are polled one after another: wait for the last one (futoi) too.
      const { bars, samples } = await shownByWorker(
        sim,
        worker,
        [
          'dataset="tradestats",market="eq",ticker="SBER",clgroup=""',
          'dataset="obstats",market="eq",ticker="SBER",clgroup=""',
          'dataset="futoi",market="fo",ticker="Si",clgroup="FIZ"',
        ],
        `mark ${mark}: the worker shows the simulator's newest bars`,
      );
      assert.ok(bars.length > 1000, `${bars.length} eq bars: more than a page`);
      const sber = bars.find((b) => b.ticker === 'SBER')!;
      const last = bars.at(-1)!; // on the second page
      assert.equal(last.ticker, secondPage);
      const end = seconds(sber.end);
      assert.equal(samples.get('moex_algopack_tradestats_disb{ticker="SBER",market="eq"}'), sber.fields.disb);
      assert.equal(samples.get('moex_algopack_tradestats_vol_b{ticker="SBER",market="eq"}'), sber.fields.vol_b);
      assert.equal(samples.get(`moex_algopack_tradestats_pr_vwap{ticker="${last.ticker}",market="eq"}`), last.fields.pr_vwap, 'a second-page instrument');
      assert.equal(samples.get('moex_algopack_bar_lag_seconds{dataset="tradestats",market="eq",ticker="SBER",clgroup=""}'), 10);
      assert.ok([...samples.keys()].some((k) => k.startsWith('moex_algopack_futoi_pos_long{ticker="Si",market="fo",clgroup="FIZ"}')));
      assert.ok([...samples.keys()].some((k) => k.startsWith('moex_algopack_obstats_spread_bbo{ticker="SBER"')));

      const row = await eventually(
        async () => {
          const s = await influxQuery(influx.url, `SELECT disb, vol_b, pr_close FROM tradestats WHERE ticker='SBER' AND market='eq' AND time = ${end}s`);
          return s?.values[0] ?? null;
        },
        45_000,
        `mark ${mark}: SBER's bar in InfluxDB`,
      );
      assert.deepEqual(row, [end, sber.fields.disb, sber.fields.vol_b, sber.fields.pr_close]);
      const lastRow = await eventually(
        async () => (await influxQuery(influx.url, `SELECT pr_vwap FROM tradestats WHERE ticker='${last.ticker}' AND time = ${end}s`))?.values[0] ?? null,
        45_000,
        'a second-page bar in InfluxDB',
      );
      assert.deepEqual(lastRow, [end, last.fields.pr_vwap]);

      const points = await eventually(
        async () => {
          const p = (await graphiteRender(web.url, 'stocks.algopack.tradestats.SBER.disb', '-2h')).filter(([v, t]) => v !== null && t === end);
          return p.length > 0 ? p : null;
        },
        45_000,
        `mark ${mark}: stocks.algopack.tradestats.SBER.disb at the bar's end`,
        1_000,
      );
      assert.equal(points[0]![0], sber.fields.disb);
    }
    const futoi = await eventually(
      async () => influxQuery(influx.url, `SELECT pos, pos_long, pos_short FROM futoi WHERE ticker='Si' AND clgroup='YUR'`),
      45_000,
      'futoi in InfluxDB',
    );
    for (const [, pos, long, short] of futoi.values as number[][]) assert.equal(pos, long! + short!);
  });

  test('an ISS outage of three bars (more than three pages) is backfilled into the stores; the gauges show the newest bar', async () => {
    const before = await simLatest(sim);
    const gapFrom = seconds(before[0]!.end);
    await eventually(
      async () => (await influxQuery(influx.url, `SELECT disb FROM tradestats WHERE ticker='SBER' AND time = ${gapFrom}s`)) !== null,
      45_000,
      'the bar before the outage stored',
    );
    const errorsBefore = sumOf(await scrape(scraper.url), 'moex_algopack_errors_total', { market: 'eq', dataset: 'tradestats', reason: 'http' });
    await sim.control.setFault('http500', undefined, 'ALGOPACK');
    await eventually(
      async () => sumOf(await scrape(scraper.url), 'moex_algopack_errors_total', { market: 'eq', dataset: 'tradestats', reason: 'http' }) > errorsBefore,
      30_000,
      'the scraper meets the outage',
    );
    await sim.control.advanceClock(20 * 60);
    // Quotes keep flowing: the fault is aimed at the datasets only. (Walking 3,000 securities through
    // 20 minutes holds the simulator for a while, so a poll may time out meanwhile.)
    await eventually(async () => (await scrape(worker.url)).get('moex_up') === 1, 45_000, 'quotes flowing during the dataset outage');
    await sim.control.clearFault();
    const { bars: after, samples } = await shownByWorker(
      sim,
      worker,
      ['dataset="tradestats",market="eq",ticker="SBER",clgroup=""'],
      'the worker shows the newest bar',
    );
    assert.equal(samples.get('moex_algopack_tradestats_disb{ticker="SBER",market="eq"}'), after.find((b) => b.ticker === 'SBER')!.fields.disb);
    const gapTo = seconds(after[0]!.end);
    // 20 minutes: four steps, or five when the real clock passed a mark meanwhile.
    const steps = (gapTo - gapFrom) / 300;
    assert.ok(steps >= 4, `${steps - 1} bars missed between the two`);
    const stored = await eventually(
      async () => {
        const s = await influxQuery(influx.url, `SELECT disb FROM tradestats WHERE ticker='SBER' AND time >= ${gapFrom}s AND time <= ${gapTo}s`);
        return s && s.values.length === steps + 1 ? s.values : null;
      },
      60_000,
      'SBER: the bar before, the missed ones and the newest, in InfluxDB',
    );
    assert.deepEqual(
      stored.map(([t]) => t),
      Array.from({ length: steps + 1 }, (_, i) => gapFrom + i * 300),
    );
    const everyone = await influxQuery(influx.url, `SELECT count(disb) FROM tradestats WHERE time > ${gapFrom}s AND time < ${gapTo}s`);
    const missedRows = (steps - 1) * before.length;
    assert.ok(missedRows > 3000, `${missedRows} rows of ISS's answer missed: more than three pages`);
    assert.equal(everyone!.values[0]![1], (steps - 1) * 2, 'both kept instruments of every missed bar, the second-page one too');
    const worked = await scrape(scraper.url);
    assert.ok(sumOf(worked, 'moex_algopack_requests_total', { market: 'eq', dataset: 'tradestats', result: 'ok' }) >= 4);
  });

  test("an instrument the datasets stop returning loses the worker's gauges after MOEX_REMOVE_AFTER_POLLS cycles, counted", async () => {
    const gazp = (samples: Map<string, number>) => [...samples.keys()].filter((k) => k.startsWith('moex_algopack_') && k.includes('ticker="GAZP"'));
    const removed = (samples: Map<string, number>, feed: string) => {
      const [market, dataset] = feed.split('/');
      return samples.get(`moex_algopack_series_removed_total{market="${market}",dataset="${dataset}"}`);
    };
    const before = await scrape(worker.url);
    assert.ok(
      gazp(before).some((k) => k.startsWith('moex_algopack_obstats_')),
      'GAZP has series of both datasets',
    );
    for (const feed of ['eq/tradestats', 'eq/obstats', 'fo/futoi'])
      assert.equal(removed(before, feed), 0, `${feed}: the outage's failed cycles removed nothing`);
    await sim.control.delist('TQBR', 'GAZP');
    const after = await eventually(
      async () => {
        const s = await scrape(worker.url);
        return gazp(s).length === 0 ? s : null;
      },
      60_000,
      "GAZP's ALGOPACK series gone",
      1_000,
    );
    assert.equal(removed(after, 'eq/tradestats'), 1);
    assert.equal(removed(after, 'eq/obstats'), 1);
    assert.equal(removed(after, 'fo/futoi'), 0);
    assert.ok(after.has('moex_algopack_tradestats_disb{ticker="SBER",market="eq"}'), 'the rest of the dataset stays');
  });
});

describe('ALGOPACK without a subscription: reported once per dataset, quotes unaffected', () => {
  let sim: IssSim;
  let anonymous: RunningService, unentitled: RunningService;
  const datasets = 'eq/tradestats,eq/obstats';

  before(async () => {
    // No ISS_SIM_TOKEN: the simulator is the anonymous ISS, whose datasets answer an HTML page.
    sim = await startIssSim();
    [anonymous, unentitled] = await Promise.all([
      startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_ALGOPACK: datasets, ...FAST }, { waitFor: 'readyz' }),
      startService(
        'worker',
        { MOEX_ISS_URL: sim.issUrl, MOEX_ALGOPACK: datasets, MOEX_ISS_TOKEN: 'a-token-without-the-subscription', ...FAST },
        { waitFor: 'readyz' },
      ),
    ]);
  });
  after(async () => {
    await Promise.all([anonymous?.stop(), unentitled?.stop(), sim?.stop()]);
  });

  for (const [name, reason] of [
    ['no token', 'auth'],
    ['a token without the subscription', 'entitlement'],
  ] as const) {
    test(`${name}: reason="${reason}" counted every cycle, one log line per dataset, no dataset series, quotes flowing`, async () => {
      const worker = name === 'no token' ? anonymous : unentitled;
      const samples = await eventually(
        async () => {
          const s = await scrape(worker.url);
          return ['tradestats', 'obstats'].every((d) => (s.get(`moex_algopack_errors_total{market="eq",dataset="${d}",reason="${reason}"}`) ?? 0) >= 3)
            ? s
            : null;
        },
        30_000,
        `three ${reason} failures per dataset`,
      );
      for (const dataset of ['tradestats', 'obstats']) {
        const lines = worker
          .output()
          .split('\n')
          .filter((l) => l.includes('ALGOPACK request failed') && l.includes(`"feed":"eq/${dataset}"`));
        assert.equal(lines.length, 1, `one log line for eq/${dataset}: ${lines.join('\n')}`);
        assert.match(lines[0]!, new RegExp(`"reason":"${reason}"`));
        assert.equal(samples.get(`moex_algopack_up{market="eq",dataset="${dataset}"}`), 0);
      }
      assert.equal(
        [...samples.keys()].some((k) => /^moex_algopack_(tradestats|obstats)_/.test(k)),
        false,
        'nothing exported for the datasets',
      );
      assert.equal(samples.get('moex_up'), 1);
      assert.ok(samples.get('moex_last_price{ticker="SBER",board="TQBR",engine="stock",market="shares"}')! > 0);
      // The other worker (with a token) asks; this one, without a token, never does.
      if (reason === 'auth')
        assert.equal(
          (await sim.control.requests()).some((r) => r.path.includes('algopack') && !r.bearer),
          false,
          'no dataset request without a token',
        );
    });
  }
});
