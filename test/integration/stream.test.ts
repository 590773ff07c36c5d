import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, scrape, startIssSim, startService, sumOf, type IssSim, type RunningService } from '../support/services';
import { influxQuery } from '../support/stores';

/** The poll every 5 s: slow enough that a change seen within a second came by the stream. */
const POLL_EVERY_5S = '*/5 * * * * *';
const SBER_LAST = 'moex_last_price{ticker="SBER",board="TQBR",engine="stock",market="shares"}';

async function streamControl(sim: IssSim, method: 'PUT' | 'DELETE', fault?: string) {
  const res = await fetch(`${sim.url}/sim/stream`, { method, body: fault ? JSON.stringify({ fault }) : undefined });
  assert.equal(res.status, 200, await res.text());
}

describe('MOEX_STREAM=issplus: the worker and the scraper against the simulator’s ISS+ stream', { timeout: 8 * 60_000 }, () => {
  let sim: IssSim;
  let influx: Daemon;
  let worker: RunningService;
  let scraper: RunningService;

  before(async () => {
    [sim, influx] = await Promise.all([startIssSim(), startDaemon('influxdb')]);
    await sim.control.walk(false);
    const common = {
      MOEX_ISS_URL: sim.issUrl,
      MOEX_TICKERS: 'SBER,GAZP',
      POLL_SCHEDULE: POLL_EVERY_5S,
      MOEX_STREAM: 'issplus',
      MOEX_STREAM_URL: `${sim.url.replace(/^http/, 'ws')}/infocx/v3/websocket`,
    };
    [worker, scraper] = await Promise.all([
      startService('worker', common, { waitFor: 'readyz' }),
      startService(
        'scraper',
        { ...common, GRAPHITE_TRANSPORT: 'off', INFLUX_URL: influx.url, INFLUX_API: 'v1', SCRAPER_CANDLES: 'off' },
        { waitFor: 'readyz' },
      ),
    ]);
    for (const service of [worker, scraper]) await eventually(async () => (await scrape(service.url)).get('moex_stream_up') === 1, 20_000, 'stream up');
  });
  after(async () => {
    await Promise.all([worker?.stop(), scraper?.stop()]);
    await sim?.stop();
    await influx?.close();
  });

  /** Sets SBER's last price and waits for it at the worker and in InfluxDB: the seconds each took. */
  async function changeAndWait(price: number, timeoutMs: number) {
    const start = Date.now();
    await sim.control.setSecurity('SBER', { last: price });
    let workerMs = 0;
    await Promise.all([
      eventually(async () => (await scrape(worker.url)).get(SBER_LAST) === price && (workerMs = Date.now() - start), timeoutMs, `worker shows ${price}`, 50),
      eventually(() => influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER' AND last = ${price}`), timeoutMs, `InfluxDB has ${price}`, 50),
    ]);
    return { workerMs, influxMs: Date.now() - start };
  }

  test('a price change reaches the worker’s /metrics and InfluxDB within about a second, before the next poll could bring it', async () => {
    const took = await changeAndWait(333.33, 2_500);
    process.stdout.write(`# stream: change → worker ${took.workerMs} ms, → InfluxDB ${took.influxMs} ms\n`);
    assert.ok(took.workerMs <= 2_500 && took.influxMs <= 2_500, JSON.stringify(took));
    const m = await scrape(worker.url);
    assert.ok(m.get('moex_stream_messages_total{destination="MXSE.securities"}')! > 0);
  });

  test('the stream dropped and refused: quotes keep flowing by the poll, moex_stream_up 0; it comes back by itself', async () => {
    await streamControl(sim, 'PUT', 'refuse-login');
    await streamControl(sim, 'PUT', 'drop');
    for (const service of [worker, scraper]) await eventually(async () => (await scrape(service.url)).get('moex_stream_up') === 0, 10_000, 'stream down');
    // By the poll alone: within one POLL_SCHEDULE period (5 s) and a scrape's render.
    await changeAndWait(334.44, 12_000);
    const down = await scrape(worker.url);
    assert.ok(down.get('moex_stream_errors_total{reason="refused"}')! >= 1, 'the refused login is counted');
    assert.equal(down.get('moex_up'), 1, 'the poll carries on');
    await streamControl(sim, 'DELETE');
    for (const service of [worker, scraper]) await eventually(async () => (await scrape(service.url)).get('moex_stream_up') === 1, 40_000, 'stream back');
    const back = await scrape(worker.url);
    assert.ok(back.get('moex_stream_reconnects_total{reason="refused"}')! >= 1, 'the refused reconnects are counted as refused');
    assert.ok(sumOf(back, 'moex_stream_reconnects_total') >= 2, 'the drop and the refusals');
    const took = await changeAndWait(335.55, 2_500);
    process.stdout.write(`# stream after reconnect: change → worker ${took.workerMs} ms, → InfluxDB ${took.influxMs} ms\n`);
  });

  test('a malformed frame is counted and changes nothing; no 0 or NaN is exported', async () => {
    await streamControl(sim, 'PUT', 'malformed');
    await eventually(async () => (await scrape(worker.url)).get('moex_stream_errors_total{reason="malformed"}')! >= 1, 5_000, 'malformed counted');
    const m = await scrape(worker.url);
    assert.equal(m.get(SBER_LAST), 335.55);
    assert.equal(m.get('moex_stream_up'), 1, 'the connection survives a bad frame');
    for (const [key, value] of m)
      if (key.startsWith('moex_last_price') || key.startsWith('moex_bid_price')) assert.ok(Number.isFinite(value) && value > 0, `${key} = ${value}`);
  });

  test('the stream goes silent (no frame, no heart-beat): dropped and counted as silent, the poll carries on, it comes back by itself', async () => {
    await streamControl(sim, 'PUT', 'silent');
    const silentAt = Date.now();
    // The simulator agreed to heart-beats every 1 s, the client asked for 10 s: three 10 s intervals
    // of nothing, checked every 5 s.
    for (const service of [worker, scraper]) await eventually(async () => (await scrape(service.url)).get('moex_stream_up') === 0, 50_000, 'silence noticed');
    process.stdout.write(`# silent stream dropped after ${Date.now() - silentAt} ms\n`);
    const silent = await scrape(worker.url);
    assert.ok(silent.get('moex_stream_reconnects_total{reason="silent"}')! >= 1, 'counted as silent');
    assert.equal(silent.get('moex_up'), 1, 'the poll carries on');
    await changeAndWait(336.66, 12_000);
    await streamControl(sim, 'DELETE');
    // A connection opened during the silence got no CONNECTED: it too is dropped as silent, then the next one comes up.
    for (const service of [worker, scraper]) await eventually(async () => (await scrape(service.url)).get('moex_stream_up') === 1, 90_000, 'stream back');
    const took = await changeAndWait(337.77, 2_500);
    process.stdout.write(`# stream after silence: change → worker ${took.workerMs} ms, → InfluxDB ${took.influxMs} ms\n`);
  });

  test('InfluxDB holds at most one SBER point per second', async () => {
    const perSecond = await influxQuery(influx.url, `SELECT count(last) FROM stocks WHERE ticker='SBER' AND time > now() - 1h GROUP BY time(1s) fill(none)`);
    assert.ok(perSecond && perSecond.values.length > 0);
    assert.ok(
      perSecond.values.every(([, count]) => count === 1),
      JSON.stringify(perSecond.values.filter(([, c]) => c !== 1)),
    );
  });
});
