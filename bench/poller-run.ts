/**
 * One run of the pollers at both scales, observed from outside: worker and scraper with 3 tickers
 * and with MOEX_TICKERS=ALL, polling every second, the ISS simulator and InfluxDB behind counting
 * proxies and a UDP counter in place of StatsD. footprint.ts and wire-cost.ts turn what it saw
 * into rows. A Pushgateway per scale, fed and scraped once per cycle, runs alongside as the
 * reference for the worker's cost per cycle.
 */
import type { Daemon } from '../test/support/daemons';
import { startBenchDaemon as startDaemon } from './signals';
import { parseExposition, sumOf, startIssSim, startService, type RunningService } from '../test/support/services';
import { startBareNode } from './bare-node';
import { startCountingProxy, type CountingProxy } from './counting-proxy';
import { boardSnapshotRequest } from '../lib/moex/iss-requests';
import { filterFamilies, getRaw } from './exposition-text';
import type { BenchOptions } from './options';
import { sampleProcess, type ProcSample } from './proc';
import { sleep } from './stats';
import { startUdpCounter, type UdpCounter } from './udp-counter';

export const POLL_EVERY_SECOND = '* * * * * *';
export type Scale = '3' | 'ALL' | 'MARKETS';
export const SCALES: Scale[] = ['3', 'ALL', 'MARKETS'];
export const scaleLabel = (s: Scale) => (s === 'ALL' ? 'MOEX_TICKERS=ALL' : s === 'MARKETS' ? 'every market, every board ALL' : '3 tickers');

/** Every board of every market the simulator serves, all securities: the multi-market configuration at its largest. */
const EVERY_MARKET = 'stock/shares/TQBR=ALL;stock/shares/TQTF=ALL;currency/selt/CETS=ALL;stock/index/SNDX=ALL;stock/bonds/TQOB=ALL;futures/forts/RFUD=ALL';
const pollScope = (scale: Scale): Record<string, string> =>
  scale === 'MARKETS' ? { MOEX_SOURCES: EVERY_MARKET } : { MOEX_TICKERS: scale === 'ALL' ? 'ALL' : 'SBERP,SBER,GAZP' };

/** What changed over the measured cycles of one service. */
export interface ServiceObservation {
  cycles: number;
  failedCycles: number;
  cpuSeconds: number;
  end: ProcSample;
  issRequests: number;
  issResponseBytes: number;
}

export interface ScaleObservation {
  worker: ServiceObservation;
  scraper: ServiceObservation;
  securities: number;
  /** ISS boards polled per cycle (one request each). */
  boards: number;
  statsd: { datagrams: number; bytes: number; lines: number };
  influx: { requests: number; requestBytes: number; failed: number };
  /** Pushgateway given the worker's moex_* series and one gzip scrape per cycle. */
  pushgateway: { cycles: number; cpuSeconds: number; end: ProcSample };
  /** ISS answers for the same board, uncompressed: as ISS answers by default (meta on, every block), and with every column of the two blocks (the client's request before it named columns). */
  issDefaultBytes: number;
  issWideBytes: number;
}

export interface PollerRun {
  scales: Record<Scale, ScaleObservation>;
  bareNode: ProcSample;
  /** ISS requests the simulator logged over the measured window, all services together... */
  simLoggedRequests: number;
  /** ...and what the counting proxies saw in the same window (a cross-check). */
  proxiedRequests: number;
}

/** Cycles (one per schedule tick, every board) and failed board polls so far. */
async function pollCounts(service: RunningService): Promise<{ cycles: number; error: number }> {
  const samples = parseExposition(await (await fetch(`${service.url}/metrics`)).text());
  return { cycles: samples.get('moex_poll_duration_seconds_count') ?? 0, error: sumOf(samples, 'moex_polls_total', { result: 'error' }) };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

interface Rig {
  scale: Scale;
  issForWorker: CountingProxy;
  issForScraper: CountingProxy;
  influxProxy: CountingProxy;
  udp: UdpCounter;
  worker: RunningService;
  scraper: RunningService;
  pushgateway: Daemon;
}

export async function runPollers(options: BenchOptions, log: (line: string) => void): Promise<PollerRun> {
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const sim = await startIssSim({ LOG_LEVEL: 'warn' });
    stops.push(() => sim.stop());
    const influx = await startDaemon('influxdb');
    stops.push(() => influx.close());
    const bare = await startBareNode();
    stops.push(() => bare.stop());

    const rigs: Rig[] = [];
    for (const scale of SCALES) {
      const issForWorker = await startCountingProxy(sim.issUrl);
      const issForScraper = await startCountingProxy(sim.issUrl);
      const influxProxy = await startCountingProxy(influx.url);
      const udp = await startUdpCounter();
      stops.push(
        () => issForWorker.close(),
        () => issForScraper.close(),
        () => influxProxy.close(),
        () => udp.close(),
      );
      // Six boards every second is more than the default budget of 5 ISS requests a second; the
      // simulator on loopback is not MOEX, so the budget is raised to measure the poll itself.
      const common = { ...pollScope(scale), POLL_SCHEDULE: POLL_EVERY_SECOND, LOG_LEVEL: 'warn', MOEX_ISS_MAX_RPS: '50' };
      const worker = await startService('worker', { ...common, MOEX_ISS_URL: issForWorker.url }, { waitFor: 'readyz' });
      stops.push(() => worker.stop());
      const scraper = await startService(
        'scraper',
        {
          ...common,
          MOEX_ISS_URL: issForScraper.url,
          GRAPHITE_TRANSPORT: 'statsd',
          STATSD_HOST: udp.host,
          STATSD_PORT: String(udp.port),
          INFLUX_URL: influxProxy.url,
          INFLUX_API: 'v1',
          // The poll path alone: candle requests would add to the per-cycle ISS and InfluxDB counts.
          SCRAPER_CANDLES: 'off',
        },
        { waitFor: 'readyz' },
      );
      stops.push(() => scraper.stop());
      const pushgateway = await startDaemon('pushgateway');
      stops.push(() => pushgateway.close());
      rigs.push({ scale, issForWorker, issForScraper, influxProxy, udp, worker, scraper, pushgateway });
    }

    log(`pollers: warming up for ${options.warmupCycles} cycles`);
    await sleep(options.warmupCycles * 1000);

    await sim.control.clearRequests();
    const proxiedAtClear = sum(rigs.map((r) => r.issForWorker.log.length + r.issForScraper.log.length));
    const start = await Promise.all(
      rigs.map(async (rig) => ({
        worker: { polls: await pollCounts(rig.worker), proc: sampleProcess(rig.worker.process.pid!), iss: rig.issForWorker.log.length },
        scraper: { polls: await pollCounts(rig.scraper), proc: sampleProcess(rig.scraper.process.pid!), iss: rig.issForScraper.log.length },
        udp: { datagrams: rig.udp.datagrams, bytes: rig.udp.bytes, lines: rig.udp.lines },
        influx: rig.influxProxy.log.length,
        pushgateway: sampleProcess(rig.pushgateway.pid()!),
      })),
    );

    // Once per cycle, as Prometheus would: scrape each worker with gzip; and give each Pushgateway
    // the same series once (a push) and one gzip scrape.
    log(`pollers: measuring ${options.cycles} cycles`);
    const pushgatewayCycles = rigs.map(() => 0);
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const tick = sleep(1000);
      await Promise.all(
        rigs.map(async (rig, i) => {
          const workerText = (await getRaw(`${rig.worker.url}/metrics`, 'gzip')).text;
          const put = await fetch(`${rig.pushgateway.url}/metrics/job/moex-bench`, { method: 'PUT', body: filterFamilies(workerText, /^moex_/) });
          if (!put.ok) throw new Error(`Pushgateway rejected a push: HTTP ${put.status}`);
          await getRaw(`${rig.pushgateway.url}/metrics`, 'gzip');
          pushgatewayCycles[i]! += 1;
        }),
      );
      await tick;
    }
    // Let every service finish the cycle in flight and its sinks send it (StatsD datagrams and InfluxDB writes leave at once; the margin is for a busy machine).
    await sleep(1500);
    const simLoggedRequests = (await sim.control.requests()).length;
    const proxiedRequests = sum(rigs.map((r) => r.issForWorker.log.length + r.issForScraper.log.length)) - proxiedAtClear;

    const scales = {} as Record<Scale, ScaleObservation>;
    for (const [i, rig] of rigs.entries()) {
      const s = start[i]!;
      const observe = async (service: RunningService, proxy: CountingProxy, before: typeof s.worker): Promise<ServiceObservation> => {
        const polls = await pollCounts(service);
        const end = sampleProcess(service.process.pid!);
        const requests = proxy.log.slice(before.iss);
        return {
          cycles: polls.cycles - before.polls.cycles,
          failedCycles: polls.error - before.polls.error,
          cpuSeconds: end.cpuSeconds - before.proc.cpuSeconds,
          end,
          issRequests: requests.length,
          issResponseBytes: sum(requests.map((r) => r.responseBytes)),
        };
      };
      const influxRequests = rig.influxProxy.log.slice(s.influx).filter((r) => r.method === 'POST');
      const pgEnd = sampleProcess(rig.pushgateway.pid()!);
      const boardUrl = `${sim.issUrl}/engines/stock/markets/shares/boards/TQBR/securities.json`;
      const tickers = rig.scale === '3' ? '&securities=SBERP,SBER,GAZP' : '';
      const issDefault = await getRaw(`${boardUrl}?${tickers.slice(1)}`);
      // What the client asked before its requests named their columns: every column of both blocks.
      const issWide = await getRaw(
        boardSnapshotRequest({ issUrl: sim.issUrl, engine: 'stock', market: 'shares', board: 'TQBR' }, rig.scale === '3' ? ['SBERP', 'SBER', 'GAZP'] : 'ALL')
          .url,
      );
      // Securities exported: one quote time series each, whatever the market.
      const exported = [...parseExposition(await (await fetch(`${rig.worker.url}/metrics`)).text()).keys()];
      scales[rig.scale] = {
        worker: await observe(rig.worker, rig.issForWorker, s.worker),
        scraper: await observe(rig.scraper, rig.issForScraper, s.scraper),
        securities: exported.filter((k) => k.startsWith('moex_quote_timestamp_seconds{')).length,
        boards: exported.filter((k) => k.startsWith('moex_board_up{')).length,
        statsd: { datagrams: rig.udp.datagrams - s.udp.datagrams, bytes: rig.udp.bytes - s.udp.bytes, lines: rig.udp.lines - s.udp.lines },
        influx: {
          requests: influxRequests.length,
          requestBytes: sum(influxRequests.map((r) => r.requestBytes)),
          failed: influxRequests.filter((r) => r.status >= 300).length,
        },
        pushgateway: { cycles: pushgatewayCycles[i]!, cpuSeconds: pgEnd.cpuSeconds - s.pushgateway.cpuSeconds, end: pgEnd },
        issDefaultBytes: issDefault.wireBytes,
        issWideBytes: issWide.wireBytes,
      };
    }
    return { scales, bareNode: sampleProcess(bare.pid), simLoggedRequests, proxiedRequests };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}
