import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const TICKERS = ['SBERP', 'SBER', 'GAZP'];

describe('backend against the real Prometheus scraping the worker fed by the simulator', () => {
  let sim: IssSim;
  let worker: RunningService;
  let prometheus: Daemon;
  let backend: RunningService;

  before(async () => {
    sim = await startIssSim();
    await sim.control.walk(false);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: '* * * * * *' }, { waitFor: 'readyz' });
    prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: '1s',
    });
    backend = await startService('backend', { PROMETHEUS_URL: prometheus.url, WORKER_URL: worker.url, PROBE_TIMEOUT_MS: '1000' });
  });
  after(async () => {
    await backend?.stop();
    await prometheus?.close();
    await worker?.stop();
    await sim?.stop();
  });

  test('Prometheus scrapes the worker: moex_last_price{ticker="GAZP"} through its HTTP query API', async () => {
    const [gazp] = await sim.control.securities(['GAZP']);
    const result = await eventually(
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: 'moex_last_price{ticker="GAZP"}' })}`);
        const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        return body.data.result[0];
      },
      20_000,
      'GAZP in Prometheus',
    );
    assert.equal(Number(result.value[1]), gazp!.last);
    assert.equal(result.metric.board, 'TQBR');
    assert.equal(result.metric.job, 'worker-prometheus');
  });

  test('/api/quotes equals the simulator’s prices', async () => {
    const expected = await sim.control.securities(TICKERS);
    const quotes = await eventually(
      async () => {
        const res = await fetch(`${backend.url}/api/quotes`);
        const body = (await res.json()) as { quotes: Array<Record<string, unknown>> };
        return res.ok && body.quotes.length === 3 ? body.quotes : null;
      },
      20_000,
      'three quotes through Prometheus',
    );
    for (const sim of expected) {
      const q = quotes.find((x) => x.ticker === sim.secid)!;
      assert.equal(q.last, sim.last);
      assert.equal(q.bid, sim.bid);
      assert.equal(q.offer, sim.offer);
      assert.equal(q.prevClose, sim.prevPrice);
      assert.equal(q.volume, sim.volume);
      assert.equal(q.trading, true);
      // The simulator is the anonymous feed: quotes belong to 15 minutes ago, and say so.
      assert.equal(q.delaySeconds, 900);
      assert.ok((q.ageSeconds as number) >= 899 && (q.ageSeconds as number) < 915, `ageSeconds ${String(q.ageSeconds)}`);
    }
  });

  test('after three polls /history returns at least three points', async () => {
    const points = await eventually(
      async () => {
        const res = await fetch(`${backend.url}/api/quotes/GAZP/history?range=2m&step=1s`);
        const body = (await res.json()) as { points: Array<[number, number]> };
        return res.ok && body.points.length >= 3 ? body.points : null;
      },
      20_000,
      'three history points',
    );
    const [gazp] = await sim.control.securities(['GAZP']);
    assert.equal(points.at(-1)![1], gazp!.last);
    for (let i = 1; i < points.length; i++) assert.equal(points[i]![0] - points[i - 1]![0], 1);
  });

  test('Prometheus stopped: 503 quickly, status shows it down, backend up; back without a restart', async () => {
    await prometheus.stop();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past the 1 s answer cache
      const started = Date.now();
      const res = await fetch(`${backend.url}/api/quotes`);
      assert.equal(res.status, 503);
      assert.match(((await res.json()) as { error: string }).error, /Prometheus/);
      assert.ok(Date.now() - started < 1500);
      const status = (await (await fetch(`${backend.url}/api/status`)).json()) as { ok: boolean; components: Array<{ name: string; ok: boolean }> };
      assert.equal(status.ok, false);
      assert.equal(status.components.find((c) => c.name === 'prometheus')!.ok, false);
      assert.equal(status.components.find((c) => c.name === 'worker')!.ok, true);
      assert.equal((await fetch(`${backend.url}/healthz`)).status, 200);
    } finally {
      await prometheus.start();
    }
    await eventually(async () => (await fetch(`${backend.url}/api/quotes`)).ok, 20_000, 'quotes again');
    await eventually(
      async () => {
        const status = (await (await fetch(`${backend.url}/api/status`)).json()) as { components: Array<{ name: string; ok: boolean }> };
        return status.components.find((c) => c.name === 'prometheus')!.ok;
      },
      20_000,
      'prometheus green again',
    );
  });
});
