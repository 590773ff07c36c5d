import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, startService, type RunningService } from '../support/services';
import { startDaemon, type Daemon } from '../support/daemons';

describe('backend history from InfluxDB candles (source=candles, or a range beyond PROMETHEUS_RETENTION)', () => {
  let influx: Daemon;
  let backend: RunningService;
  const hour = 3600;
  const base = Math.floor(Date.now() / 1000 / hour) * hour - 3 * hour;

  before(async () => {
    influx = await startDaemon('influxdb');
    // Four 1-minute candles over two hours, one of another interval and one of another ticker.
    const lines = [
      `candles,board=TQBR,interval=1m,ticker=SBER open=300,high=301,low=299,close=300.5,value=1,volume=10i ${base + 60}`,
      `candles,board=TQBR,interval=1m,ticker=SBER open=300,high=301,low=299,close=301.5,value=1,volume=10i ${base + 600}`,
      `candles,board=TQBR,interval=1m,ticker=SBER open=300,high=301,low=299,close=302.5,value=1,volume=10i ${base + hour + 60}`,
      `candles,board=TQBR,interval=1m,ticker=SBER open=300,high=301,low=299,close=303.5,value=1,volume=10i ${base + hour + 120}`,
      `candles,board=TQBR,interval=10m,ticker=SBER open=1,high=1,low=1,close=999,value=1,volume=1i ${base + hour + 180}`,
      `candles,board=TQBR,interval=1m,ticker=GAZP open=1,high=1,low=1,close=130,value=1,volume=1i ${base + 60}`,
    ];
    const res = await fetch(`${influx.url}/write?db=pyexample&precision=s`, { method: 'POST', body: lines.join('\n') });
    assert.equal(res.status, 204);
    backend = await startService('backend', {
      PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`, // nothing there: the candle path must not need it
      INFLUX_URL: influx.url,
      PROMETHEUS_RETENTION: '1d',
    });
  });
  after(async () => {
    await backend?.stop();
    await influx?.close();
  });

  const history = async (query: string) => {
    const res = await fetch(`${backend.url}/api/quotes/SBER/history?${query}`);
    return { status: res.status, json: (await res.json()) as { ticker?: string; points?: Array<[number, number]>; error?: string } };
  };

  test('source=candles: the last 1-minute close of each step, same JSON shape', async () => {
    const { status, json } = await history('range=6h&step=1h&source=candles');
    assert.equal(status, 200, JSON.stringify(json));
    assert.deepEqual(json, {
      ticker: 'SBER',
      points: [
        [base, 301.5],
        [base + hour, 303.5],
      ],
    });
  });

  test('a range beyond PROMETHEUS_RETENTION reads candles without being asked; within it, Prometheus', async () => {
    assert.deepEqual((await history('range=2d&step=1h')).json.points, [
      [base, 301.5],
      [base + hour, 303.5],
    ]);
    assert.equal((await history('range=6h&step=1h')).status, 503, 'Prometheus (down here) answers ranges it keeps');
    assert.equal((await history('range=6h&step=1h&source=prometheus')).status, 503);
    const bad = await history('range=6h&step=1h&source=graphite');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error!, /source/);
  });
});
