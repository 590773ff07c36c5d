import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../lib/log';
import { openSpool } from '../../scraper/src/spool';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, scrape, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';
import { graphiteRender, influxQuery } from '../support/stores';

const portOf = (url: string) => url.split(':').at(-1)!;
const metric = (name: string, sink: string) => `${name}{sink="${sink}"}`;
const pollTimes = async (sim: IssSim) =>
  (await sim.control.requests()).filter((r) => r.path.endsWith('/securities.json') && r.fault === null).map((r) => Date.parse(r.at));
const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

describe('spool: both stores down, the scraper SIGKILLed and started again, nothing lost', () => {
  let sim: IssSim;
  let carbon: Daemon, web: Daemon, influx: Daemon;
  let scraper: RunningService | undefined;
  const spoolDir = tempDir('scraper-spool-');
  let env: Record<string, string>;

  before(async () => {
    // No feed delay: quote times are poll times, so the outage's polls can be looked up by time.
    [sim, carbon, influx] = await Promise.all([startIssSim({ ISS_SIM_DELAY_SECONDS: '0' }), startDaemon('carbon'), startDaemon('influxdb')]);
    web = await startDaemon('graphite-web', { carbon });
    env = {
      MOEX_ISS_URL: sim.issUrl,
      POLL_SCHEDULE: '*/2 * * * * *',
      GRAPHITE_TRANSPORT: 'plaintext',
      GRAPHITE_HOST: '127.0.0.1',
      GRAPHITE_PORT: portOf(carbon.url),
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      SCRAPER_SPOOL_DIR: spoolDir,
    };
    scraper = await startService('scraper', env, { waitFor: 'readyz' });
  });
  after(async () => {
    await scraper?.stop();
    await Promise.all([sim, web].map((d) => d?.stop()));
    await Promise.all([carbon, influx].map((d) => d?.close()));
    fs.rmSync(spoolDir, { recursive: true, force: true });
  });

  test('every poll made during the outage is in InfluxDB (by timestamp) and Graphite (by value at its timestamp), once', async () => {
    await eventually(() => influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER'`), 20_000, 'SBER in InfluxDB');
    await Promise.all([carbon.stop(), influx.stop()]);
    const outageStart = Date.now();
    await eventually(async () => (await pollTimes(sim)).filter((t) => t > outageStart + 500).length >= 3, 20_000, 'three polls into the outage');
    // Give the third poll's points time to reach the spool (written and fsynced before the sink calls them buffered).
    await eventually(async () => (await scrape(scraper!.url)).get(metric('scraper_spool_bytes', 'influxdb'))! > 0, 5_000, 'spooled');
    assert.equal(await scraper!.stop('SIGKILL'), null, 'killed, no exit code');
    const spooled = fs.readdirSync(spoolDir);
    assert.ok(
      spooled.some((f) => f.startsWith('influxdb.') && f.endsWith('.spool')),
      spooled.join(),
    );
    scraper = await startService('scraper', env, { waitFor: 'readyz' });
    await eventually(async () => (await pollTimes(sim)).filter((t) => t > Date.now() - 1500).length > 0, 10_000, 'the new scraper polls');
    await sleep(3000);
    const outageEnd = Date.now();
    await Promise.all([carbon.start(), influx.start()]);

    const drained = await eventually(
      async () => {
        const m = await scrape(scraper!.url);
        // Graphite's spool keeps the last GRAPHITE_RESEND_SECONDS of written lines for a resend: only InfluxDB's empties.
        const empty =
          ['graphite', 'influxdb'].every((s) => m.get(metric('scraper_buffered_points', s)) === 0) && m.get(metric('scraper_spool_bytes', 'influxdb')) === 0;
        // For the same reason carbon's replayed lines count as accepted only that long after they were written.
        const replayed = ['graphite', 'influxdb'].every((s) => m.get(metric('scraper_spool_replayed_points_total', s))! > 0);
        return empty && replayed ? m : null;
      },
      90_000,
      'spools drained',
    );
    for (const sink of ['graphite', 'influxdb']) {
      assert.ok(drained.get(metric('scraper_spool_replayed_points_total', sink))! > 0, `${sink}: the killed run’s points replayed`);
      assert.equal(drained.get(metric('scraper_dropped_points_total', sink)), 0, `${sink}: nothing dropped`);
    }

    const polled = (await pollTimes(sim)).filter((t) => t >= outageStart && t <= outageEnd).map((t) => Math.floor(t / 1000));
    assert.ok(polled.length >= 5, `${polled.length} polls during the outage`);
    const series = (await influxQuery(
      influx.url,
      `SELECT last FROM stocks WHERE ticker='SBER' AND time >= ${outageStart - 20_000}ms AND time <= ${outageEnd + 20_000}ms`,
    ))!;
    const influxAt = new Map(series.values.map(([t, v]) => [t as number, v as number]));
    for (const t of polled) assert.ok(influxAt.has(t) || influxAt.has(t + 1), `InfluxDB has the quote polled at ${t}`);

    // Graphite keeps one value per 10 s slot: the last one written, which must be the slot's latest quote.
    const latestBySlot = new Map<number, { t: number; v: number }>();
    for (const [t, v] of influxAt) {
      const slot = Math.floor(t / 10) * 10;
      if ((latestBySlot.get(slot)?.t ?? -1) < t) latestBySlot.set(slot, { t, v });
    }
    // Written is not yet readable: carbon holds points in its cache, which graphite-web cannot reach for a while after carbon restarted.
    const wrongSlots = async () => {
      const graphite = new Map((await graphiteRender(web.url, 'stocks.SBER.last', '-15min')).map(([v, ts]) => [ts, v]));
      return [...new Set(polled.map((t) => Math.floor(t / 10) * 10))]
        .filter((slot) => graphite.get(slot) !== latestBySlot.get(slot)?.v)
        .map((slot) => `slot ${slot}: ${graphite.get(slot)} instead of ${latestBySlot.get(slot)?.v}`);
    };
    const wrong = await eventually(async () => ((await wrongSlots()).length === 0 ? [] : null), 40_000, 'Graphite slots').catch(async () => wrongSlots());
    assert.deepEqual(wrong, [], 'every Graphite slot of the outage holds the slot’s latest quote');
  });
});

describe('spool: a file cut in the middle of a record', () => {
  let sim: IssSim;
  let influx: Daemon;
  let scraper: RunningService | undefined;
  const spoolDir = tempDir('scraper-spool-torn-');

  before(async () => {
    [sim, influx] = await Promise.all([startIssSim(), startDaemon('influxdb')]);
  });
  after(async () => {
    await scraper?.stop();
    await sim?.stop();
    await influx?.close();
    fs.rmSync(spoolDir, { recursive: true, force: true });
  });

  test('the scraper starts, counts one corrupt record and replays the rest', async () => {
    // What a previous run left: three cycles of a test ticker, the last one torn by a crash.
    const spool = openSpool(
      { dir: spoolDir, name: 'influxdb', maxBytes: 1 << 20 },
      { bytes() {}, replayed() {}, corrupt() {}, refused() {}, dropped() {} },
      createLogger('test', 'silent'),
    );
    const cycles = [1_700_000_000, 1_700_000_030, 1_700_000_060].map((t) => [
      `stocks,board=TQBR,ticker=SPOOLT last=${t % 1000} ${t}`,
      `stocks,board=TQBR,ticker=SPOOLU last=${t % 1000} ${t}`,
    ]);
    for (const lines of cycles) spool.push(lines);
    spool.close();
    const file = path.join(spoolDir, 'influxdb.0.spool');
    fs.truncateSync(file, fs.statSync(file).size - 7);

    scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'off',
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
        SCRAPER_SPOOL_DIR: spoolDir,
        SCRAPER_CANDLES: 'off',
      },
      { waitFor: 'readyz' },
    );
    const m = await eventually(
      async () => {
        const s = await scrape(scraper!.url);
        return s.get(metric('scraper_spool_replayed_points_total', 'influxdb')) === 4 ? s : null;
      },
      20_000,
      'the two good records replayed',
    );
    assert.equal(m.get(metric('scraper_spool_corrupt_records_total', 'influxdb')), 1);
    const stored = await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SPOOLT'`);
    assert.deepEqual(stored!.values, [
      [1_700_000_000, 0],
      [1_700_000_030, 30],
    ]);
    assert.match(scraper.output(), /spool ends in a torn record; cut off, the rest replayed/);
  });
});

describe('candles: ISS down for 5 minutes, then every minute of the gap is in InfluxDB with the simulator’s values', () => {
  let sim: IssSim;
  let influx: Daemon;
  let scraper: RunningService;

  before(async () => {
    // The simulator's clock runs 10 minutes behind: its 5-minute gap, walked in an instant, stays in the past.
    [sim, influx] = await Promise.all([startIssSim({ SIM_CLOCK_OFFSET_SECONDS: '-600', SIM_HISTORY_MINUTES: '3' }), startDaemon('influxdb')]);
    scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'off',
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
        SCRAPER_CANDLES_LOOKBACK_MINUTES: '10',
      },
      { waitFor: 'readyz' },
    );
  });
  after(async () => {
    await scraper?.stop();
    await sim?.stop();
    await influx?.close();
  });

  const simCandles = async (from: string) => {
    const res = await fetch(
      `${sim.issUrl}/engines/stock/markets/shares/boards/TQBR/securities/SBER/candles.json?iss.meta=off&interval=1&from=${encodeURIComponent(from)}`,
    );
    return ((await res.json()) as { candles: { data: Array<[number, number, number, number, number, number, string, string]> } }).candles.data;
  };
  const toUtcSeconds = (moscow: string) => Date.parse(`${moscow.replace(' ', 'T')}+03:00`) / 1000;

  test('the history at start is backfilled, then the gap: one row per minute, open/high/low/close/volume as the simulator has them', async () => {
    await eventually(
      async () => ((await influxQuery(influx.url, `SELECT count(close) FROM candles WHERE ticker='SBER'`))?.values[0]?.[1] as number) >= 4,
      20_000,
      'start-up history backfilled',
    );
    const before = (await simCandles('2000-01-01')).at(-1)!;
    await sim.control.setFault('http500');
    await eventually(async () => (await scrape(scraper.url)).get('moex_up') === 0, 10_000, 'ISS down for the scraper');
    await sim.control.advanceClock(300);
    await sim.control.clearFault();

    const gapFrom = before[6];
    const expected = await simCandles(gapFrom);
    assert.ok(expected.length >= 6, `${expected.length} simulator minutes from ${gapFrom}`);
    const complete = expected.slice(0, -1); // the newest minute is still trading
    const rows = await eventually(
      async () => {
        const s = await influxQuery(
          influx.url,
          `SELECT open, high, low, close, volume, "interval" FROM candles WHERE ticker='SBER' AND time >= ${toUtcSeconds(gapFrom)}s`,
        );
        return s && s.values.length >= expected.length ? s.values : null;
      },
      20_000,
      'the gap’s candles in InfluxDB',
    );
    const stored = new Map(rows.map(([t, ...fields]) => [t as number, fields]));
    for (const [open, close, high, low, , volume, begin] of complete) {
      assert.deepEqual(stored.get(toUtcSeconds(begin)), [open, high, low, close, volume, '1m'], `candle ${begin}`);
    }
    const minutes = rows.map(([t]) => t as number);
    for (let i = 1; i < minutes.length; i++) assert.equal(minutes[i]! - minutes[i - 1]!, 60, 'every minute, no hole');
  });
});
