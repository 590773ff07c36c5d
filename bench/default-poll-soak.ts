/**
 * Part of 2 (footprint): the pollers as users run them — MOEX_TICKERS=ALL, the default 30 s poll,
 * the worker scraped with gzip every 15 s as Prometheus does — running in the background for the
 * whole benchmark, next to the same services with ISS unreachable (Node, the modules and the
 * server, no quotes: the floor the quotes are added to). Started first, read last.
 */
import type { Daemon } from '../test/support/daemons';
import { startBenchDaemon as startDaemon } from './signals';
import { freePort, parseExposition, sumOf, startIssSim, startService, type IssSim, type RunningService } from '../test/support/services';
import { getRaw } from './exposition-text';
import { sampleProcess, type ProcSample } from './proc';
import { startUdpCounter, type UdpCounter } from './udp-counter';

export const DEFAULT_SCRAPE_INTERVAL_MS = 15_000;

export interface SoakReading {
  cycles: number;
  failedCycles: number;
  proc: ProcSample;
  /** CPU per cycle over the soak (scrapes included for the worker). */
  cpuSecondsPerCycle: number;
}

export interface SoakResult {
  minutes: number;
  worker: SoakReading;
  scraper: SoakReading;
  workerWithoutQuotes: ProcSample;
  scraperWithoutQuotes: ProcSample;
}

export interface Soak {
  finish(): Promise<SoakResult>;
  /** Stops everything (also after a failure); finish() calls it. */
  stop(): Promise<void>;
}

async function polls(service: RunningService) {
  const s = parseExposition(await (await fetch(`${service.url}/metrics`)).text());
  return { ok: sumOf(s, 'moex_polls_total', { result: 'ok' }), error: sumOf(s, 'moex_polls_total', { result: 'error' }) };
}

export async function startDefaultPollSoak(): Promise<Soak> {
  const started = Date.now();
  let sim: IssSim | undefined;
  let influx: Daemon | undefined;
  let udp: UdpCounter | undefined;
  const services: RunningService[] = [];
  let timer: NodeJS.Timeout | undefined;
  const stop = async () => {
    if (timer) clearInterval(timer);
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([sim?.stop(), influx?.close(), udp?.close()]);
  };
  try {
    sim = await startIssSim({ LOG_LEVEL: 'warn' });
    influx = await startDaemon('influxdb');
    udp = await startUdpCounter();
    const all = { MOEX_TICKERS: 'ALL', LOG_LEVEL: 'warn' };
    const sinks = { GRAPHITE_TRANSPORT: 'statsd', STATSD_HOST: udp.host, STATSD_PORT: String(udp.port), INFLUX_API: 'v1' };
    const nowhere = `http://127.0.0.1:${await freePort()}/iss`;
    const worker = await startService('worker', { ...all, MOEX_ISS_URL: sim.issUrl }, { waitFor: 'readyz' });
    services.push(worker);
    const scraper = await startService('scraper', { ...all, ...sinks, MOEX_ISS_URL: sim.issUrl, INFLUX_URL: influx.url }, { waitFor: 'readyz' });
    services.push(scraper);
    const workerWithoutQuotes = await startService('worker', { ...all, MOEX_ISS_URL: nowhere });
    services.push(workerWithoutQuotes);
    const scraperWithoutQuotes = await startService('scraper', { ...all, ...sinks, MOEX_ISS_URL: nowhere, INFLUX_URL: influx.url });
    services.push(scraperWithoutQuotes);
    const scrapeAll = () => Promise.all([worker, workerWithoutQuotes].map((w) => getRaw(`${w.url}/metrics`, 'gzip').catch(() => undefined)));
    await scrapeAll();
    timer = setInterval(() => void scrapeAll(), DEFAULT_SCRAPE_INTERVAL_MS);

    const cpuAtStart = { worker: sampleProcess(worker.process.pid!).cpuSeconds, scraper: sampleProcess(scraper.process.pid!).cpuSeconds };
    const pollsAtStart = { worker: await polls(worker), scraper: await polls(scraper) };
    const reading = async (service: RunningService, which: 'worker' | 'scraper'): Promise<SoakReading> => {
      const p = await polls(service);
      const proc = sampleProcess(service.process.pid!);
      const cycles = p.ok - pollsAtStart[which].ok + (p.error - pollsAtStart[which].error);
      return {
        // The first cycle ran before the CPU baseline; its successors are what is measured.
        cycles: p.ok + p.error,
        failedCycles: p.error,
        proc,
        cpuSecondsPerCycle: cycles > 0 ? (proc.cpuSeconds - cpuAtStart[which]) / cycles : NaN,
      };
    };
    return {
      stop,
      async finish() {
        try {
          return {
            minutes: (Date.now() - started) / 60_000,
            worker: await reading(worker, 'worker'),
            scraper: await reading(scraper, 'scraper'),
            workerWithoutQuotes: sampleProcess(workerWithoutQuotes.process.pid!),
            scraperWithoutQuotes: sampleProcess(scraperWithoutQuotes.process.pid!),
          };
        } finally {
          await stop();
        }
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
