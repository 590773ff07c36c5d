/**
 * 6. The cost curve: worker and scraper polling every board of every market at 300, 3,000 and
 * 30,000 securities (the simulator's ISS_SIM_SCALE), Prometheus scraping the worker once per
 * cycle. Per scale: CPU per cycle and RSS of each service, /metrics bytes and scrape time, ISS
 * bytes per cycle, Prometheus' own cost of ingesting it, each next to the poll itself (a bare Node
 * process fetching and parsing the same answers on the same period) measured alongside. One scale
 * at a time, everything stopped in between, so the scales do not share the CPU.
 */
import os from 'node:os';
import { startBenchDaemon as startDaemon } from './signals';
import { eventually, parseExposition, startIssSim, startService, sumOf, type RunningService } from '../test/support/services';
import { startBarePoll } from './bare-poll';
import { startCountingProxy } from './counting-proxy';
import { getRaw } from './exposition-text';
import type { BenchOptions } from './options';
import { sampleProcess, type ProcSample } from './proc';
import { kb, mb, median, ms, num, ratio, sleep } from './stats';
import { judge, type Row } from './table';
import { startUdpCounter } from './udp-counter';

export const CURVE_SECURITIES = [300, 3_000, 30_000] as const;

/** Every market the stack reads, one board each, whole boards (what ISS_SIM_SCALE grows). */
const BOARDS = ['stock/shares/TQBR', 'stock/shares/TQTF', 'currency/selt/CETS', 'stock/index/SNDX', 'stock/bonds/TQOB', 'futures/forts/RFUD'];
const SOURCES = BOARDS.map((b) => `${b}=ALL`).join(';');

/** Poll (and scrape) period per scale: short enough for several cycles in a few minutes, long enough for a cycle to finish. */
const PERIOD_SECONDS: Record<number, number> = { 300: 2, 3_000: 5, 30_000: 30 };
const DEFAULT_CYCLE_SECONDS = 30;
/** "Comfortably in one cycle on one core": the worker's whole cycle in at most a quarter of the 30 s. */
const COMFORTABLE_SHARE = 0.25;

const FIRST_CYCLE_TIMEOUT_MS = 300_000;
/**
 * How long past the nominal window the measurement may wait for its cycles: on a loaded machine a
 * cycle outlasts its period and node-cron skips the tick it overlaps, so the window holds fewer
 * cycles than it should; every figure must still rest on the cycles the mode promises.
 */
const CYCLE_WAIT_FACTOR = 4;

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

interface Cost {
  cycles: number;
  cpuSeconds: number;
  end: ProcSample;
}

interface Point {
  securities: number;
  periodSeconds: number;
  loadStart: string;
  loadEnd: string;
  worker: Cost;
  scraper: Cost;
  bare: Cost;
  prometheus: Cost & { headSeries: number; scrapeSecondsAvg: number; scrapeSecondsMax: number; samplesScraped: number };
  metrics: { plainBytes: number; gzipBytes: number; samples: number; cachedGetMs: number };
  iss: { requests: number; wireBytes: number; jsonBytes: number };
}

/** Poll cycles so far (moex_poll_duration_seconds_count), read without parsing an 87 MB exposition. */
async function cyclesOf(service: RunningService): Promise<number> {
  const { text } = await getRaw(`${service.url}/metrics`, 'gzip');
  return Number(/^moex_poll_duration_seconds_count(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
}

async function promQuery(url: string, query: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  return Number(body.data?.result?.[0]?.value[1] ?? NaN);
}

async function measureScale(securities: number, options: BenchOptions, log: (line: string) => void): Promise<Point> {
  const periodSeconds = PERIOD_SECONDS[securities]!;
  const warmupCycles = options.quick ? 1 : 2;
  const cycles = options.quick ? 3 : 6;
  const stops: Array<() => Promise<unknown>> = [];
  const loadStart = load();
  try {
    const sim = await startIssSim({ ISS_SIM_SCALE: String(securities), LOG_LEVEL: 'warn' });
    stops.push(() => sim.stop());
    const influx = await startDaemon('influxdb');
    stops.push(() => influx.close());
    const issForWorker = await startCountingProxy(sim.issUrl);
    const udp = await startUdpCounter();
    stops.push(
      () => issForWorker.close(),
      () => udp.close(),
    );
    const common = { MOEX_SOURCES: SOURCES, POLL_SCHEDULE: `*/${periodSeconds} * * * * *`, MOEX_TIMEOUT_MS: '60000', LOG_LEVEL: 'warn' };
    const worker = await startService('worker', { ...common, MOEX_ISS_URL: issForWorker.url });
    stops.push(() => worker.stop());
    const scraper = await startService('scraper', {
      ...common,
      MOEX_ISS_URL: sim.issUrl,
      GRAPHITE_TRANSPORT: 'statsd',
      STATSD_HOST: udp.host,
      STATSD_PORT: String(udp.port),
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
    });
    stops.push(() => scraper.stop());
    // A first cycle at 30,000 securities can take longer than startService's wait for /readyz.
    for (const service of [worker, scraper]) await eventually(async () => (await cyclesOf(service)) >= 1, FIRST_CYCLE_TIMEOUT_MS, 'a first poll cycle');
    const prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: `${periodSeconds}s`,
    });
    stops.push(() => prometheus.close());
    const boardUrl = (b: string) => {
      const [engine, market, board] = b.split('/');
      return `${sim.issUrl}/engines/${engine}/markets/${market}/boards/${board}/securities.json?iss.meta=off&iss.only=securities,marketdata`;
    };
    const bare = startBarePoll(BOARDS.map(boardUrl), periodSeconds * 1000);
    stops.push(() => bare.stop());

    log(`scale ${num(securities)}: warming up ${warmupCycles} cycle(s) of ${periodSeconds} s`);
    await sleep(warmupCycles * periodSeconds * 1000);
    const promScrapes = async () => sumOf(parseExposition((await getRaw(`${prometheus.url}/metrics`)).text), 'prometheus_target_interval_length_seconds_count');
    const start = {
      worker: { cycles: await cyclesOf(worker), proc: sampleProcess(worker.process.pid!) },
      scraper: { cycles: await cyclesOf(scraper), proc: sampleProcess(scraper.process.pid!) },
      bare: { cycles: bare.cycles(), proc: sampleProcess(bare.pid) },
      prometheus: { cycles: await promScrapes(), proc: sampleProcess(prometheus.pid()!) },
      iss: issForWorker.log.length,
    };
    log(`scale ${num(securities)}: measuring ${cycles} cycles`);
    const measuredFrom = Date.now();
    await sleep(cycles * periodSeconds * 1000);
    const done = async () =>
      (await cyclesOf(worker)) - start.worker.cycles >= cycles &&
      (await cyclesOf(scraper)) - start.scraper.cycles >= cycles &&
      bare.cycles() - start.bare.cycles >= cycles;
    await eventually(
      done,
      CYCLE_WAIT_FACTOR * cycles * periodSeconds * 1000,
      `${cycles} measured cycles of worker, scraper and the bare poll at ${num(securities)} securities`,
      1000,
    );
    const cost = async (name: keyof typeof start, pid: number, count: () => Promise<number> | number): Promise<Cost> => {
      const s = start[name] as { cycles: number; proc: ProcSample };
      const end = sampleProcess(pid);
      return { cycles: (await count()) - s.cycles, cpuSeconds: end.cpuSeconds - s.proc.cpuSeconds, end };
    };
    const workerCost = await cost('worker', worker.process.pid!, () => cyclesOf(worker));
    const scraperCost = await cost('scraper', scraper.process.pid!, () => cyclesOf(scraper));
    const bareCost = await cost('bare', bare.pid, () => bare.cycles());
    const promCost = await cost('prometheus', prometheus.pid()!, promScrapes);
    const window = `${Math.ceil((Date.now() - measuredFrom) / 1000)}s`;
    const promSelf = parseExposition((await getRaw(`${prometheus.url}/metrics`)).text);
    const requests = issForWorker.log.slice(start.iss);

    // What a scraper is served: sizes, and the time of a GET once the cycle's render is cached.
    const plain = await getRaw(`${worker.url}/metrics`);
    const gzip = await getRaw(`${worker.url}/metrics`, 'gzip');
    const getTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await getRaw(`${worker.url}/metrics`, 'gzip');
      getTimes.push(performance.now() - t);
    }
    let jsonBytes = 0;
    for (const b of BOARDS) jsonBytes += (await getRaw(boardUrl(b))).wireBytes;

    return {
      securities,
      periodSeconds,
      loadStart,
      loadEnd: load(),
      worker: workerCost,
      scraper: scraperCost,
      bare: bareCost,
      prometheus: {
        ...promCost,
        headSeries: sumOf(promSelf, 'prometheus_tsdb_head_series'),
        scrapeSecondsAvg: await promQuery(prometheus.url, `avg_over_time(scrape_duration_seconds{job="worker"}[${window}])`),
        scrapeSecondsMax: await promQuery(prometheus.url, `max_over_time(scrape_duration_seconds{job="worker"}[${window}])`),
        samplesScraped: await promQuery(prometheus.url, 'scrape_samples_scraped{job="worker"}'),
      },
      metrics: {
        plainBytes: plain.wireBytes,
        gzipBytes: gzip.wireBytes,
        samples: plain.text.split('\n').filter((l) => l.startsWith('moex_')).length,
        cachedGetMs: median(getTimes),
      },
      iss: { requests: requests.length, wireBytes: requests.reduce((sum, r) => sum + r.responseBytes, 0), jsonBytes },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

/** NaN when nothing completed: no cycles is no figure, not an infinite one. */
const perCycleMs = (c: Cost) => (c.cycles > 0 ? (c.cpuSeconds * 1000) / c.cycles : NaN);

export async function measureScaleCurve(options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const points: Point[] = [];
  const rows: Row[] = [];
  for (const securities of CURVE_SECURITIES) {
    try {
      points.push(await measureScale(securities, options, log));
    } catch (err) {
      // A scale the machine cannot hold is a result too; the other scales still run.
      const message = err instanceof Error ? err.message : String(err);
      log(`scale ${num(securities)}: failed: ${message}`);
      rows.push({
        section: '6',
        what: `${num(securities)} securities on ${BOARDS.length} boards`,
        ours: `failed: ${message.split('\n')[0]}`,
        reference: '-',
        target: 'a measured point',
        verdict: 'MISSED',
      });
    }
  }

  for (const p of points) {
    const at = `${num(p.securities)} securities on ${BOARDS.length} boards, poll and scrape every ${p.periodSeconds} s (load ${p.loadStart} → ${p.loadEnd})`;
    const bareMs = perCycleMs(p.bare);
    const floor = `the poll itself (bare Node fetching, gunzipping and parsing the same ${BOARDS.length} answers): ${ms(bareMs)} (${p.bare.cycles} cycles)`;
    const workerMs = perCycleMs(p.worker);
    const share = workerMs / (DEFAULT_CYCLE_SECONDS * 1000);
    const largest = p.securities === CURVE_SECURITIES.at(-1);
    rows.push({
      section: '6',
      what: `worker CPU per cycle (poll, update, one scrape by Prometheus) and RSS; ${at}`,
      ours: `${ms(workerMs)} (${p.worker.cycles} cycles); RSS ${mb(p.worker.end.rssBytes)} (peak ${mb(p.worker.end.peakRssBytes)})`,
      reference: floor,
      target: `${ratio(workerMs, bareMs)} the poll; ${num(share * 100, 1)}% of one core at a 30 s cycle${largest ? ` (≤ ${COMFORTABLE_SHARE * 100}%)` : ''}`,
      verdict: largest ? judge(share <= COMFORTABLE_SHARE) : 'info',
    });
    const scraperMs = perCycleMs(p.scraper);
    rows.push({
      section: '6',
      what: `scraper CPU per cycle (poll, StatsD and InfluxDB writes) and RSS; ${at}`,
      ours: `${ms(scraperMs)} (${p.scraper.cycles} cycles); RSS ${mb(p.scraper.end.rssBytes)} (peak ${mb(p.scraper.end.peakRssBytes)})`,
      reference: floor,
      target: `${ratio(scraperMs, bareMs)} the poll; ${num((scraperMs / (DEFAULT_CYCLE_SECONDS * 1000)) * 100, 1)}% of one core at a 30 s cycle`,
      verdict: 'info',
    });
    rows.push({
      section: '6',
      what: `worker /metrics at ${num(p.securities)} securities: ${num(p.metrics.samples)} moex_ samples`,
      ours: `${kb(p.metrics.plainBytes)} plain, ${kb(p.metrics.gzipBytes)} gzip; a gzip GET of the cached render ${ms(p.metrics.cachedGetMs)}`,
      reference: `Prometheus scrape_duration_seconds avg ${ms(p.prometheus.scrapeSecondsAvg * 1000)}, max ${ms(p.prometheus.scrapeSecondsMax * 1000)}; ${num(p.prometheus.samplesScraped)} samples scraped`,
      target: `scrape ≤ the ${p.periodSeconds} s interval`,
      verdict: judge(p.prometheus.scrapeSecondsMax < p.periodSeconds),
    });
    rows.push({
      section: '6',
      what: `ISS per cycle at ${num(p.securities)} securities (worker; the scraper's are the same requests)`,
      ours: `${num(p.iss.requests / p.worker.cycles, 1)} requests, ${kb(p.iss.wireBytes / p.worker.cycles)} on the wire (gzip)`,
      reference: `the same answers as JSON: ${kb(p.iss.jsonBytes)}`,
      target: `one request per board (${BOARDS.length}); ${ratio(p.iss.wireBytes / p.worker.cycles, p.iss.jsonBytes)} of the JSON`,
      verdict: 'info',
    });
    const promMs = perCycleMs(p.prometheus);
    rows.push({
      section: '6',
      what: `Prometheus ingesting the worker at ${num(p.securities)} securities (its own process_cpu and head series; recording rules of prometheus/rules included)`,
      ours: `${ms(promMs)} CPU per scrape (${p.prometheus.cycles} scrapes); ${num(p.prometheus.headSeries)} head series; RSS ${mb(p.prometheus.end.rssBytes)}`,
      reference: `worker CPU per cycle ${ms(workerMs)}`,
      target: `${ratio(promMs, workerMs)} the worker's`,
      verdict: 'info',
    });
  }

  if (points.length < CURVE_SECURITIES.length) return rows;
  // Linearity and the ceiling, from CPU per security per cycle.
  const perSecurityUs = (p: Point, c: Cost) => (perCycleMs(c) * 1000) / p.securities;
  const curve = (pick: (p: Point) => Cost) => points.map((p) => `${num(p.securities)}: ${num(perSecurityUs(p, pick(p)), 1)} µs`).join(', ');
  const [, mid, top] = points as [Point, Point, Point];
  const growth = perSecurityUs(top, top.worker) / perSecurityUs(mid, mid.worker);
  rows.push({
    section: '6',
    what: 'does cost grow linearly? CPU per security per cycle at each scale',
    ours: `worker ${curve((p) => p.worker)}; scraper ${curve((p) => p.scraper)}`,
    reference: `the poll itself ${curve((p) => p.bare)}; Prometheus ${curve((p) => p.prometheus)}`,
    target: `worker per security at 30,000 / at 3,000: ${num(growth, 2)}x (linear: ≈1; the fixed cost per cycle dominates at 300)`,
    verdict: 'info',
  });
  const budgetMs = DEFAULT_CYCLE_SECONDS * 1000;
  const ceiling = (usPerSecurity: number, cores: number) => Math.floor((cores * budgetMs * 1000) / usPerSecurity);
  const pullUs = perSecurityUs(top, top.worker) + perSecurityUs(top, top.prometheus);
  const bothUs = pullUs + perSecurityUs(top, top.scraper);
  rows.push({
    section: '6',
    what: `where one 2-core machine stops keeping a 30 s cycle (linear from the ${num(top.securities)} point; the simulator excluded)`,
    ours: `worker alone on one core: ${num(ceiling(perSecurityUs(top, top.worker), 1))} securities; worker + Prometheus on 2 cores: ${num(ceiling(pullUs, 2))}; worker + Prometheus + scraper on 2 cores: ${num(ceiling(bothUs, 2))}`,
    reference: `the poll itself on one core: ${num(ceiling(perSecurityUs(top, top.bare), 1))}`,
    target: 'where CPU per 30 s cycle reaches the cores; memory not counted',
    verdict: 'info',
  });
  return rows;
}
