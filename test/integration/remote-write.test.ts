/**
 * PROMETHEUS_REMOTE_WRITE_URL: Prometheus (native, as `local up` runs it) forwards everything to
 * VictoriaMetrics; a store outage of a minute loses no sample, because Prometheus resends from its WAL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const SERIES = 'moex_last_price{ticker="SBER"}';

async function vmSamples(vm: Daemon, start: number, end: number): Promise<{ values: number[]; timestamps: number[] }> {
  await fetch(`${vm.url}/internal/force_flush`);
  const params = new URLSearchParams({ 'match[]': SERIES, start: String(start), end: String(end) });
  const text = (await (await fetch(`${vm.url}/api/v1/export?${params}`)).text()).trim();
  if (!text) return { values: [], timestamps: [] };
  return JSON.parse(text.split('\n')[0]!) as { values: number[]; timestamps: number[] };
}

async function promQuery(prom: Daemon, query: string, at: number): Promise<number | undefined> {
  const body = (await (await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query, time: String(at) })}`)).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  const value = body.data.result[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}

describe('Prometheus remote_write to VictoriaMetrics', () => {
  let sim: IssSim;
  let worker: RunningService;
  let vm: Daemon;
  let prom: Daemon;

  before(async () => {
    [sim, vm] = await Promise.all([startIssSim(), startDaemon('victoria-metrics')]);
    await sim.control.walk(false);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: '* * * * * *' }, { waitFor: 'readyz' });
    prom = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [new URL(worker.url).host] }],
      scrapeInterval: '1s',
      env: { PROMETHEUS_REMOTE_WRITE_URL: `${vm.url}/api/v1/write` },
    });
  });
  after(async () => {
    await worker?.stop();
    await sim?.stop();
    await prom?.close();
    await vm?.close();
  });

  test('moex_last_price{ticker="SBER"} reads the same from VictoriaMetrics as from Prometheus', async () => {
    const [sber] = await sim.control.securities(['SBER']);
    const now = Math.floor(Date.now() / 1000);
    const fromVm = await eventually(async () => (await vmSamples(vm, now - 60, now + 60)).values.at(-1), 30_000, 'SBER in VictoriaMetrics');
    assert.equal(fromVm, sber!.last);
    assert.equal(await promQuery(prom, SERIES, Math.floor(Date.now() / 1000)), sber!.last);
  });

  test('VictoriaMetrics down for a minute: every sample Prometheus took meanwhile arrives afterwards', async () => {
    await vm.stop();
    const outageStart = Math.ceil(Date.now() / 1000) + 1;
    await sleep(60_000);
    const outageEnd = Math.floor(Date.now() / 1000) - 1;
    await vm.start();
    const inProm = await promQuery(prom, `count_over_time(${SERIES}[${outageEnd - outageStart}s])`, outageEnd);
    assert.ok(inProm !== undefined && inProm >= 50, `Prometheus scraped ${inProm} samples during the outage`);
    const inVm = await eventually(
      async () => {
        const { timestamps } = await vmSamples(vm, outageStart, outageEnd);
        // count_over_time(...[outageEnd - outageStart s]) at outageEnd counts the samples in (outageStart, outageEnd].
        const count = timestamps.filter((t) => t > outageStart * 1000 && t <= outageEnd * 1000).length;
        return count >= inProm! ? count : null;
      },
      60_000,
      "the outage's samples replayed into VictoriaMetrics",
    );
    assert.equal(inVm, inProm, 'the same samples in both');
  });
});
