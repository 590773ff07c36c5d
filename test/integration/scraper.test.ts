import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, runToExit, scrape, sleep, sumOf, startIssSim, startService, type IssSim, type RunningService } from '../support/services';
import { graphiteFind, graphiteLast, graphiteRender, influxQuery } from '../support/stores';

const portOf = (url: string) => url.split(':').at(-1)!;
const sinkMetric = (name: string, sink: string) => `${name}{sink="${sink}"}`;
/** scraper_write_errors_total of a sink, summed over its reasons. */
const writeErrors = (m: Map<string, number>, sink: string) => sumOf(m, 'scraper_write_errors_total', { sink });
/** The board polls in the simulator's log (the scraper also asks for candles). */
const polls = <T extends { path: string }>(requests: T[]) => requests.filter((r) => r.path.endsWith('/securities.json'));

/** The simulator's default feed is the anonymous one: quotes belong to 15 minutes before the poll. */
const FEED_DELAY = 900;

describe('scraper: StatsD → carbon → graphite-web, and InfluxDB 1.x through the v1 API', () => {
  let sim: IssSim;
  let carbon: Daemon, web: Daemon, statsd: Daemon, influx: Daemon;
  let scraper: RunningService;

  before(async () => {
    [sim, carbon, influx] = await Promise.all([startIssSim(), startDaemon('carbon'), startDaemon('influxdb')]);
    [web, statsd] = await Promise.all([startDaemon('graphite-web', { carbon }), startDaemon('statsd', { carbon })]);
    await sim.control.walk(false);
    // GAZP before its first trade, SBERP after the close, SBER trading.
    await sim.control.setSecurity('GAZP', { session: 'pre-open' });
    await sim.control.setSecurity('SBERP', { session: 'closed' });
    scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'statsd',
        STATSD_HOST: '127.0.0.1',
        STATSD_PORT: portOf(statsd.url),
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
        // The quote sinks alone: candles (their own writes and counters) are tested in scraper-spool.test.ts.
        SCRAPER_CANDLES: 'off',
      },
      { waitFor: 'readyz' },
    );
  });
  after(async () => {
    await scraper?.stop();
    await Promise.all([sim, web, statsd].map((d) => d?.stop()));
    await Promise.all([carbon, influx].map((d) => d?.close()));
  });

  test('stocks.SBER.last reaches graphite-web’s /render through StatsD, with the simulator’s price', async () => {
    const [sber] = await sim.control.securities(['SBER']);
    const last = await eventually(() => graphiteLast(web.url, 'stocks.SBER.last'), 40_000, 'stocks.SBER.last in graphite');
    assert.equal(last, sber!.last);
    assert.equal(await graphiteLast(web.url, 'stocks.SBER.volume'), sber!.volume);
    // The shipped StatsD config puts gauges at the root: no stats.gauges namespace.
    assert.deepEqual(await graphiteFind(web.url, 'stats.*'), []);
  });

  test("InfluxDB: SELECT last, volume FROM stocks WHERE ticker='SBER' has the exchange timestamp and an integer volume", async () => {
    const [sber] = await sim.control.securities(['SBER']);
    const series = await eventually(() => influxQuery(influx.url, `SELECT last, volume FROM stocks WHERE ticker='SBER'`), 20_000, 'SBER in InfluxDB');
    const [time, last, volume] = series.values.at(-1) as [number, number, number];
    assert.equal(last, sber!.last);
    assert.equal(volume, sber!.volume);
    const requests = polls(await sim.control.requests());
    // The exchange time of a quote is its UPDATETIME: the simulator's anonymous feed runs FEED_DELAY behind the poll.
    const polledAt = requests.map((r) => Math.floor(Date.parse(r.at) / 1000) - FEED_DELAY);
    assert.ok(
      polledAt.some((t) => Math.abs(t - time) <= 1),
      `point time ${time} is a poll's exchange time`,
    );
    const fieldTypes = await influxQuery(influx.url, 'SHOW FIELD KEYS FROM stocks');
    const typeOf = Object.fromEntries(fieldTypes!.values as Array<[string, string]>);
    assert.equal(typeOf.volume, 'integer');
    assert.equal(typeOf.trades, 'integer');
    assert.equal(typeOf.last, 'float');
    assert.equal(typeOf.prev_close, 'float');
    const tags = await influxQuery(influx.url, 'SHOW TAG KEYS FROM stocks');
    assert.deepEqual(tags!.values.flat().sort(), ['board', 'ticker']);
  });

  test('a ticker before its first trade has no last, a closed one has no bid, in both stores', async () => {
    await eventually(() => influxQuery(influx.url, `SELECT prev_close FROM stocks WHERE ticker='GAZP'`), 20_000, 'GAZP point');
    assert.equal(await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='GAZP'`), null);
    assert.equal(await influxQuery(influx.url, `SELECT bid FROM stocks WHERE ticker='SBERP'`), null);
    assert.ok(await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBERP'`));

    await eventually(async () => (await graphiteFind(web.url, 'stocks.GAZP.*')).includes('stocks.GAZP.prev_close'), 40_000, 'GAZP in graphite');
    const gazp = await graphiteFind(web.url, 'stocks.GAZP.*');
    assert.equal(gazp.includes('stocks.GAZP.last'), false, gazp.join());
    const sberp = await graphiteFind(web.url, 'stocks.SBERP.*');
    assert.ok(sberp.includes('stocks.SBERP.last'));
    assert.equal(sberp.includes('stocks.SBERP.bid'), false, sberp.join());
  });

  test('points-written counters move for both sinks; nothing is buffered while the stores are up', async () => {
    // A cycle's points are pending for the moment their write is in flight: between cycles the buffer is empty.
    const s = await eventually(async () => {
      const m = await scrape(scraper.url);
      const written = m.get(sinkMetric('scraper_points_written_total', 'graphite'))! > 0 && m.get(sinkMetric('scraper_points_written_total', 'influxdb'))! > 0;
      return written && m.get(sinkMetric('scraper_buffered_points', 'influxdb')) === 0 ? m : null;
    });
    assert.equal(writeErrors(s, 'influxdb'), 0);
    assert.ok(s.get(sinkMetric('scraper_last_write_timestamp_seconds', 'influxdb'))! > Date.now() / 1000 - 30);
    assert.equal(s.get('moex_up'), 1);
  });

  test('StatsD stopped: the scraper stays up and counts the errors', async () => {
    const before = writeErrors(await scrape(scraper.url), 'graphite');
    await statsd.stop();
    try {
      await eventually(async () => writeErrors(await scrape(scraper.url), 'graphite') > before, 20_000, 'graphite errors counted');
      assert.ok((await fetch(`${scraper.url}/healthz`)).ok);
      assert.equal((await scrape(scraper.url)).get('moex_up'), 1);
    } finally {
      await statsd.start();
    }
  });

  test('SIGTERM: exits 0 within 10 s and its last cycle’s points are in InfluxDB', async () => {
    await sim.control.walk(true);
    await sleep(2500);
    const started = Date.now();
    const code = await scraper.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 10_000);
    const lastPoll = Math.floor(Date.parse(polls(await sim.control.requests()).at(-1)!.at) / 1000) - FEED_DELAY;
    const newest = await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER' ORDER BY time DESC LIMIT 1`);
    const newestTime = newest!.values[0]![0] as number;
    assert.ok(Math.abs(newestTime - lastPoll) <= 1, `newest point ${newestTime}, last poll ${lastPoll}`);
  });
});

describe('scraper outages: carbon (plaintext) and InfluxDB stopped for 30 s lose nothing', () => {
  let sim: IssSim;
  let carbon: Daemon, web: Daemon, influx: Daemon;
  let scraper: RunningService;

  before(async () => {
    [sim, carbon, influx] = await Promise.all([startIssSim(), startDaemon('carbon'), startDaemon('influxdb')]);
    web = await startDaemon('graphite-web', { carbon });
    scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'plaintext',
        GRAPHITE_HOST: '127.0.0.1',
        GRAPHITE_PORT: portOf(carbon.url),
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
      },
      { waitFor: 'readyz' },
    );
  });
  after(async () => {
    await scraper?.stop();
    await Promise.all([sim, web].map((d) => d?.stop()));
    await Promise.all([carbon, influx].map((d) => d?.close()));
  });

  test('plaintext points carry the quote’s own timestamp', async () => {
    await eventually(() => graphiteLast(web.url, 'stocks.SBER.last'), 20_000, 'stocks.SBER.last');
    const requests = polls(await sim.control.requests());
    const slots = new Set(requests.map((r) => Math.floor((Date.parse(r.at) / 1000 - FEED_DELAY) / 10) * 10));
    const points = (await graphiteRender(web.url, 'stocks.SBER.last', '-30min')).filter(([v]) => v !== null);
    assert.ok(points.length > 0);
    for (const [, ts] of points) assert.ok(slots.has(ts) || slots.has(ts - 10) || slots.has(ts + 10), `graphite slot ${ts} matches a poll`);
  });

  test('both stores down for 30 s: buffered and counted, then everything polled meanwhile is stored', async () => {
    await Promise.all([carbon.stop(), influx.stop()]);
    const outageStart = Date.now();
    const during = await eventually(
      async () => {
        const m = await scrape(scraper.url);
        // Buffered at the next poll; the failure is counted when the reconnect (carbon) or the write (InfluxDB) fails.
        const counted = ['graphite', 'influxdb'].every((s) => m.get(sinkMetric('scraper_buffered_points', s))! > 0 && writeErrors(m, s) > 0);
        return counted ? m : null;
      },
      15_000,
      'points buffered and errors counted',
    );
    assert.ok(writeErrors(during, 'influxdb') > 0);
    assert.ok(writeErrors(during, 'graphite') > 0);
    await sleep(30_000 - (Date.now() - outageStart));
    const outageEnd = Date.now();
    await Promise.all([carbon.start(), influx.start()]);

    await eventually(
      async () => {
        const m = await scrape(scraper.url);
        return m.get(sinkMetric('scraper_buffered_points', 'graphite')) === 0 && m.get(sinkMetric('scraper_buffered_points', 'influxdb')) === 0;
      },
      45_000,
      'buffers drained',
    );

    const polled = polls(await sim.control.requests())
      .map((r) => Math.floor(Date.parse(r.at) / 1000))
      .filter((t) => t * 1000 >= outageStart && t * 1000 <= outageEnd)
      .map((t) => t - FEED_DELAY);
    assert.ok(polled.length >= 10, `${polled.length} polls during the outage`);

    const influxTimes = new Set((await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER'`))!.values.map((row) => row[0] as number));
    for (const t of polled) assert.ok(influxTimes.has(t) || influxTimes.has(t + 1), `InfluxDB has the quote polled at ${t}`);

    // Drained means the kernel took the lines, not that graphite-web can show them: carbon acknowledges
    // nothing, holds points in its cache before whisper has them, and graphite-web reads that cache
    // through a connection that broke when carbon restarted (then it skips carbon for 15 s). On a
    // loaded machine the points reach whisper seconds later, so Graphite is given that long.
    const missingFromGraphite = async () => {
      const slots = new Map((await graphiteRender(web.url, 'stocks.SBER.last', '-30min')).map(([v, ts]) => [ts, v]));
      return polled.filter((t) => {
        const slot = Math.floor(t / 10) * 10;
        return slots.get(slot) == null && slots.get(slot + 10) == null;
      });
    };
    const missing = await eventually(async () => ((await missingFromGraphite()).length === 0 ? [] : null), 40_000, 'every polled slot in Graphite').catch(
      async () => missingFromGraphite(),
    );
    assert.deepEqual(missing, [], 'Graphite has every quote polled during the outage');
    const after = await scrape(scraper.url);
    assert.equal(after.get(sinkMetric('scraper_dropped_points_total', 'influxdb')), 0);
    assert.equal(after.get(sinkMetric('scraper_dropped_points_total', 'graphite')), 0);
  });
});

describe('scraper: the v2 write API into a real v2 peer (VictoriaMetrics)', () => {
  test('quotes written to /api/v2/write are readable back as stocks_* series', async () => {
    const [sim, vm] = await Promise.all([startIssSim(), startDaemon('victoria-metrics')]);
    await sim.control.walk(false);
    const scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'off',
        INFLUX_URL: vm.url,
        INFLUX_API: 'v2',
        SCRAPER_CANDLES: 'off',
        INFLUX_TOKEN: 'user:password',
        INFLUX_BUCKET: 'pyexample/autogen',
      },
      { waitFor: 'readyz' },
    );
    try {
      const [sber] = await sim.control.securities(['SBER']);
      const exported = await eventually(
        async () => {
          await fetch(`${vm.url}/internal/force_flush`);
          const res = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ 'match[]': 'stocks_last{ticker="SBER"}' })}`);
          const text = (await res.text()).trim();
          return text ? (JSON.parse(text.split('\n')[0]!) as { metric: Record<string, string>; values: number[]; timestamps: number[] }) : null;
        },
        20_000,
        'stocks_last in VictoriaMetrics',
      );
      assert.equal(exported.metric.board, 'TQBR');
      assert.equal(exported.values.at(-1), sber!.last);
      assert.equal(exported.timestamps.at(-1)! % 1000, 0, 'second-precision exchange timestamps');
      // The counter follows the client's success callback, which can run a moment after the store shows the point.
      const m = await eventually(
        async () => {
          const x = await scrape(scraper.url);
          return x.get(sinkMetric('scraper_points_written_total', 'influxdb'))! > 0 ? x : null;
        },
        10_000,
        'points counted as written',
      );
      assert.equal(m.has(sinkMetric('scraper_points_written_total', 'graphite')), false, 'graphite sink off');
    } finally {
      await scraper.stop();
      await sim.stop();
      await vm.close();
    }
  });
});

describe('scraper config', () => {
  for (const [variable, value] of [
    ['GRAPHITE_TRANSPORT', 'udp'],
    ['INFLUX_API', 'v3'],
    ['INFLUX_URL', 'not a url'],
    ['STATSD_PORT', 'eighty'],
    ['GRAPHITE_RESEND_SECONDS', '-1'],
  ] as const) {
    test(`${variable}=${JSON.stringify(value)} exits 2 with one line naming it`, async () => {
      const { code, output } = await runToExit('scraper', { [variable]: value });
      assert.equal(code, 2);
      assert.equal(output.trim().split('\n').length, 1, output);
      assert.match(output, new RegExp(`^config error: ${variable}: `));
    });
  }
});
