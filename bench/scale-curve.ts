/**
 * 6. The cost curve: worker and scraper polling every board of every market at 300, 3,000 and
 * 30,000 securities (the simulator's ISS_SIM_SCALE), Prometheus scraping the worker once per
 * cycle. Per scale: CPU per cycle and RSS of each service, /metrics bytes and scrape time, ISS
 * bytes per cycle, Prometheus' own cost of ingesting it, each next to the poll itself (a bare Node
 * process fetching and parsing the same answers on the same period) measured alongside. Then the
 * whole exchange: the boards at about MOEX's sizes and ROPD's ~30,000 option series, every board
 * ALL, the default 30 s poll and 15 s scrape, with vmagent (remote-writing to VictoriaMetrics)
 * scraping the worker beside Prometheus, and Prometheus' own CPU profile. One point at a time,
 * everything stopped in between, so the points do not share the CPU.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBenchDaemon as startDaemon } from './signals';
import { eventually, parseExposition, startIssSim, startService, sumOf, type RunningService } from '../test/support/services';
import { startBarePoll } from './bare-poll';
import { startCountingProxy } from './counting-proxy';
import { getRaw } from './exposition-text';
import { cpuByKind, type ProfileShare } from './prometheus-profile';
import type { BenchOptions } from './options';
import { sampleProcess, type ProcSample } from './proc';
import { kb, mb, median, ms, num, ratio, sleep } from './stats';
import { judge, type Row } from './table';
import { startUdpCounter } from './udp-counter';
import { getFreePort, registerExitCleanup } from '../test/support/daemons';

export const CURVE_SECURITIES = [300, 3_000, 30_000] as const;

/** Every market the stack reads, one board each, whole boards (what ISS_SIM_SCALE grows). */
const BOARDS = ['stock/shares/TQBR', 'stock/shares/TQTF', 'currency/selt/CETS', 'stock/index/SNDX', 'stock/bonds/TQOB', 'futures/forts/RFUD'];

/** One point of the curve: how many securities, on which boards, how often polled and scraped, and what runs beside. */
interface PointSpec {
  label: string;
  /** ISS_SIM_SCALE: the securities of the six boards (ROPD keeps its own size). */
  securities: number;
  boards: readonly string[];
  periodSeconds: number;
  scrapeSeconds: number;
  /** vmagent scraping the worker too, remote-writing to VictoriaMetrics; and Prometheus' CPU profile. */
  wholeExchange: boolean;
}

/** Poll (and scrape) period per scale: short enough for several cycles in a few minutes, long enough for a cycle to finish. */
const PERIOD_SECONDS: Record<number, number> = { 300: 2, 3_000: 5, 30_000: 30 };

/**
 * MOEX's boards at about their real sizes (shares, funds, bonds, futures, currencies, indices:
 * some 5,000 instruments, docs/scale.md) and ROPD whole: the simulator lists ~30,000 option series.
 */
const WHOLE_EXCHANGE: PointSpec = {
  label: 'the whole exchange',
  securities: 5_000,
  boards: [...BOARDS, 'futures/options/ROPD'],
  periodSeconds: 30,
  scrapeSeconds: 15,
  wholeExchange: true,
};
const curvePoint = (securities: number): PointSpec => ({
  label: `${num(securities)} securities on ${BOARDS.length} boards`,
  securities,
  boards: BOARDS,
  periodSeconds: PERIOD_SECONDS[securities]!,
  scrapeSeconds: PERIOD_SECONDS[securities]!,
  wholeExchange: false,
});

/** Published: Prometheus appends a scraped sample in about 0.3 µs of CPU (about 3 million samples a second per core). */
const PROMETHEUS_US_PER_SAMPLE = 0.3;
/** Issue targets: worker and scraper at most this many times the bare poll; the worker's RSS at most this. */
const MAX_BARE_POLL_RATIO = 2;
const MAX_WORKER_RSS_BYTES = 250 * 1024 * 1024;
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
  spec: PointSpec;
  securities: number;
  /** Securities the worker exports (a moex_quote_timestamp_seconds each): with ROPD, the option series too. */
  instruments: number;
  periodSeconds: number;
  windowSeconds: number;
  loadStart: string;
  loadEnd: string;
  worker: Cost;
  scraper: Cost;
  bare: Cost;
  prometheus: Cost & {
    headSeries: number;
    ruleSeries: number;
    scrapeSecondsAvg: number;
    scrapeSecondsMax: number;
    samplesScraped: number;
    version: string;
    profile: ProfileShare[] | null;
  };
  /** The whole exchange only: vmagent scraping the same worker, and the VictoriaMetrics it writes to. */
  vmagent: (Cost & { samplesScraped: number; victoriaMetrics: ProcSample & { cpuDelta: number } }) | null;
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

/** vmagent (Debian's victoria-metrics package) scraping `target` every `interval`, remote-writing to `writeUrl`. */
async function startVmagent(target: string, interval: string, writeUrl: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-vmagent-'));
  const port = await getFreePort();
  const config = path.join(dir, 'scrape.yml');
  fs.writeFileSync(config, `scrape_configs:\n  - job_name: worker\n    scrape_interval: ${interval}\n    static_configs:\n      - targets: ['${target}']\n`);
  const child = spawn(
    'vmagent',
    [`-promscrape.config=${config}`, `-remoteWrite.url=${writeUrl}`, `-remoteWrite.tmpDataPath=${dir}/queue`, `-httpListenAddr=127.0.0.1:${port}`],
    {
      stdio: 'ignore',
    },
  );
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  registerExitCleanup(stop);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/health`)).ok, 60_000, 'vmagent');
  return { pid: child.pid!, url, stop: async () => stop() };
}

/** vmagent's own count of samples scraped so far. */
async function vmagentSamples(url: string): Promise<number> {
  return sumOf(parseExposition((await getRaw(`${url}/metrics`)).text), 'vm_promscrape_scraped_samples_sum');
}

async function measureScale(spec: PointSpec, options: BenchOptions, log: (line: string) => void): Promise<Point> {
  const { securities, periodSeconds, scrapeSeconds, boards } = spec;
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
    const common = {
      MOEX_SOURCES: boards.map((b) => `${b}=ALL`).join(';'),
      POLL_SCHEDULE: `*/${periodSeconds} * * * * *`,
      MOEX_TIMEOUT_MS: '60000',
      LOG_LEVEL: 'warn',
      // The calculator's greeks are their own cost (docs/options.md), not this curve's.
      MOEX_OPTION_GREEKS_SCHEDULE: 'off',
    };
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
      scrapeInterval: `${scrapeSeconds}s`,
    });
    stops.push(() => prometheus.close());
    let vm: { victoriaMetrics: Awaited<ReturnType<typeof startDaemon>>; vmagent: Awaited<ReturnType<typeof startVmagent>> } | null = null;
    if (spec.wholeExchange) {
      const victoriaMetrics = await startDaemon('victoria-metrics');
      stops.push(() => victoriaMetrics.close());
      const vmagent = await startVmagent(`127.0.0.1:${worker.port}`, `${scrapeSeconds}s`, `${victoriaMetrics.url}/api/v1/write`);
      stops.push(() => vmagent.stop());
      vm = { victoriaMetrics, vmagent };
    }
    const boardUrl = (b: string) => {
      const [engine, market, board] = b.split('/');
      return `${sim.issUrl}/engines/${engine}/markets/${market}/boards/${board}/securities.json?iss.meta=off&iss.only=securities,marketdata`;
    };
    const bare = startBarePoll(boards.map(boardUrl), periodSeconds * 1000);
    stops.push(() => bare.stop());

    log(`${spec.label}: warming up ${warmupCycles} cycle(s) of ${periodSeconds} s`);
    await sleep(warmupCycles * periodSeconds * 1000);
    const promScrapes = async () => sumOf(parseExposition((await getRaw(`${prometheus.url}/metrics`)).text), 'prometheus_target_interval_length_seconds_count');
    const vmStart = vm && {
      samples: await vmagentSamples(vm.vmagent.url),
      vmagent: sampleProcess(vm.vmagent.pid),
      victoriaMetrics: sampleProcess(vm.victoriaMetrics.pid()!),
    };
    const start = {
      worker: { cycles: await cyclesOf(worker), proc: sampleProcess(worker.process.pid!) },
      scraper: { cycles: await cyclesOf(scraper), proc: sampleProcess(scraper.process.pid!) },
      bare: { cycles: bare.cycles(), proc: sampleProcess(bare.pid) },
      prometheus: { cycles: await promScrapes(), proc: sampleProcess(prometheus.pid()!) },
      iss: issForWorker.log.length,
    };
    log(`${spec.label}: measuring ${cycles} cycles`);
    const measuredFrom = Date.now();
    // Prometheus' own CPU profile over most of the window (its pprof handler samples while it waits).
    const profileSeconds = Math.max(5, Math.floor(cycles * periodSeconds * 0.8));
    const profile = spec.wholeExchange
      ? fetch(`${prometheus.url}/debug/pprof/profile?seconds=${profileSeconds}`).then(async (r) => new Uint8Array(await r.arrayBuffer()))
      : null;
    await sleep(cycles * periodSeconds * 1000);
    const done = async () =>
      (await cyclesOf(worker)) - start.worker.cycles >= cycles &&
      (await cyclesOf(scraper)) - start.scraper.cycles >= cycles &&
      bare.cycles() - start.bare.cycles >= cycles;
    await eventually(
      done,
      CYCLE_WAIT_FACTOR * cycles * periodSeconds * 1000,
      `${cycles} measured cycles of worker, scraper and the bare poll at ${spec.label}`,
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
    const windowSeconds = (Date.now() - measuredFrom) / 1000;
    let vmagent: Point['vmagent'] = null;
    if (vm && vmStart) {
      const end = sampleProcess(vm.vmagent.pid);
      const vmEnd = sampleProcess(vm.victoriaMetrics.pid()!);
      vmagent = {
        cycles: 0,
        cpuSeconds: end.cpuSeconds - vmStart.vmagent.cpuSeconds,
        end,
        samplesScraped: (await vmagentSamples(vm.vmagent.url)) - vmStart.samples,
        victoriaMetrics: { ...vmEnd, cpuDelta: vmEnd.cpuSeconds - vmStart.victoriaMetrics.cpuSeconds },
      };
    }
    const window = `${Math.ceil(windowSeconds)}s`;
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
    for (const b of boards) jsonBytes += (await getRaw(boardUrl(b))).wireBytes;
    // Prometheus does not scrape itself here: its own figures come from its /metrics.
    const buildInfo = [...promSelf.keys()].find((key) => key.startsWith('prometheus_build_info{'));
    const version = /[{,]version="([^"]*)"/.exec(buildInfo ?? '')?.[1] ?? 'unknown';

    return {
      spec,
      securities,
      instruments: plain.text.split('\n').filter((l) => l.startsWith('moex_quote_timestamp_seconds{')).length,
      periodSeconds,
      windowSeconds,
      loadStart,
      loadEnd: load(),
      worker: workerCost,
      scraper: scraperCost,
      bare: bareCost,
      prometheus: {
        ...promCost,
        // Exactly the gauge of that name: a prefix sum would add prometheus_tsdb_head_series_created_total and the like.
        headSeries: sumOf(promSelf, 'prometheus_tsdb_head_series'),
        ruleSeries: sumOf(promSelf, 'prometheus_rule_group_last_evaluation_samples'),
        scrapeSecondsAvg: await promQuery(prometheus.url, `avg_over_time(scrape_duration_seconds{job="worker"}[${window}])`),
        scrapeSecondsMax: await promQuery(prometheus.url, `max_over_time(scrape_duration_seconds{job="worker"}[${window}])`),
        samplesScraped: await promQuery(prometheus.url, 'scrape_samples_scraped{job="worker"}'),
        version,
        profile: profile ? cpuByKind(await profile) : null,
      },
      vmagent,
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
  for (const spec of [...CURVE_SECURITIES.map(curvePoint), WHOLE_EXCHANGE]) {
    try {
      points.push(await measureScale(spec, options, log));
    } catch (err) {
      // A point the machine cannot hold is a result too; the other points still run.
      const message = err instanceof Error ? err.message : String(err);
      log(`${spec.label}: failed: ${message}`);
      rows.push({ section: '6', what: spec.label, ours: `failed: ${message.split('\n')[0]}`, reference: '-', target: 'a measured point', verdict: 'MISSED' });
    }
  }

  const largestCurve = CURVE_SECURITIES.at(-1)!;
  for (const p of points) {
    const whole = p.spec.wholeExchange;
    const at = whole
      ? `${p.spec.label}: ${num(p.metrics.samples)} moex_ samples, poll every ${p.periodSeconds} s, scrape every ${p.spec.scrapeSeconds} s (load ${p.loadStart} → ${p.loadEnd})`
      : `${p.spec.label}, poll and scrape every ${p.periodSeconds} s (load ${p.loadStart} → ${p.loadEnd})`;
    const bareMs = perCycleMs(p.bare);
    const floor = `the poll itself (bare Node fetching, gunzipping and parsing the same ${p.spec.boards.length} answers): ${ms(bareMs)} (${p.bare.cycles} cycles)`;
    const workerMs = perCycleMs(p.worker);
    const share = workerMs / (DEFAULT_CYCLE_SECONDS * 1000);
    // The issue's targets hold at the largest curve point and at the whole exchange.
    const targeted = whole || p.securities === largestCurve;
    const rssOk = p.worker.end.rssBytes <= MAX_WORKER_RSS_BYTES;
    rows.push({
      section: '6',
      what: `worker CPU per cycle (poll, update, the scrapes) and RSS; ${at}`,
      ours: `${ms(workerMs)} (${p.worker.cycles} cycles); RSS ${mb(p.worker.end.rssBytes)} (peak ${mb(p.worker.end.peakRssBytes)})`,
      reference: floor,
      target: `${ratio(workerMs, bareMs)} the poll${targeted ? ` (≤ ${MAX_BARE_POLL_RATIO}x), RSS ≤ ${mb(MAX_WORKER_RSS_BYTES)}` : ''}; ${num(share * 100, 1)}% of one core at a 30 s cycle${targeted ? ` (≤ ${COMFORTABLE_SHARE * 100}%)` : ''}`,
      verdict: targeted ? judge(workerMs <= MAX_BARE_POLL_RATIO * bareMs && rssOk && share <= COMFORTABLE_SHARE) : 'info',
    });
    const scraperMs = perCycleMs(p.scraper);
    rows.push({
      section: '6',
      what: `scraper CPU per cycle (poll, StatsD and InfluxDB writes) and RSS; ${at}`,
      ours: `${ms(scraperMs)} (${p.scraper.cycles} cycles); RSS ${mb(p.scraper.end.rssBytes)} (peak ${mb(p.scraper.end.peakRssBytes)})`,
      reference: floor,
      target: `${ratio(scraperMs, bareMs)} the poll${targeted ? ` (≤ ${MAX_BARE_POLL_RATIO}x)` : ''}; ${num((scraperMs / (DEFAULT_CYCLE_SECONDS * 1000)) * 100, 1)}% of one core at a 30 s cycle`,
      verdict: targeted ? judge(scraperMs <= MAX_BARE_POLL_RATIO * bareMs) : 'info',
    });
    rows.push({
      section: '6',
      what: `worker /metrics at ${p.spec.label}: ${num(p.metrics.samples)} moex_ samples`,
      ours: `${kb(p.metrics.plainBytes)} plain, ${kb(p.metrics.gzipBytes)} gzip; a gzip GET of the cached render ${ms(p.metrics.cachedGetMs)}`,
      reference: `Prometheus scrape_duration_seconds avg ${ms(p.prometheus.scrapeSecondsAvg * 1000)}, max ${ms(p.prometheus.scrapeSecondsMax * 1000)}; ${num(p.prometheus.samplesScraped)} samples scraped`,
      target: `scrape ≤ the ${p.spec.scrapeSeconds} s interval`,
      verdict: judge(p.prometheus.scrapeSecondsMax < p.spec.scrapeSeconds),
    });
    rows.push({
      section: '6',
      what: `ISS per cycle at ${p.spec.label} (worker; the scraper's are the same requests)`,
      ours: `${num(p.iss.requests / p.worker.cycles, 1)} requests, ${kb(p.iss.wireBytes / p.worker.cycles)} on the wire (gzip)`,
      reference: `the same answers as JSON: ${kb(p.iss.jsonBytes)}`,
      target: `one request per board (${p.spec.boards.length}); ${ratio(p.iss.wireBytes / p.worker.cycles, p.iss.jsonBytes)} of the JSON`,
      verdict: 'info',
    });
    const promMs = perCycleMs(p.prometheus);
    const usPerSample = (promMs * 1000) / p.prometheus.samplesScraped;
    const expectedSeries = p.prometheus.samplesScraped + p.prometheus.ruleSeries;
    rows.push({
      section: '6',
      what: `Prometheus ${p.prometheus.version} ingesting the worker at ${p.spec.label} (its own process CPU; recording rules of prometheus/rules included)`,
      ours: `${ms(promMs)} CPU per scrape (${p.prometheus.cycles} scrapes): ${num(usPerSample, 2)} µs per sample scraped; prometheus_tsdb_head_series ${num(p.prometheus.headSeries)}; RSS ${mb(p.prometheus.end.rssBytes)}`,
      reference: `published: ~${PROMETHEUS_US_PER_SAMPLE} µs per sample appended; samples scraped ${num(p.prometheus.samplesScraped)} + series the recording rules write ${num(p.prometheus.ruleSeries)} = ${num(expectedSeries)}`,
      target: `head series ≤ 1.1x scraped + rule series (${ratio(p.prometheus.headSeries, expectedSeries)}); CPU ${ratio(promMs, workerMs)} the worker's`,
      verdict: judge(p.prometheus.headSeries <= 1.1 * expectedSeries),
    });
    if (p.prometheus.profile) {
      rows.push({
        section: '6',
        what: `where Prometheus' CPU goes at ${p.spec.label} (its /debug/pprof CPU profile over the window, by the kind of work on the stack)`,
        ours: p.prometheus.profile.map((k) => `${k.kind} ${num(k.share * 100, 0)}%`).join(', '),
        reference: `${num(
          p.prometheus.profile.reduce((sum, k) => sum + k.cpuSeconds, 0),
          1,
        )} s of CPU profiled`,
        target: 'where the µs per sample go',
        verdict: 'info',
      });
    }
    if (!whole) continue;
    const cores = os.cpus().length;
    const coreShare = (cpuSeconds: number) => cpuSeconds / p.windowSeconds / cores;
    const pull = [p.worker, p.scraper, p.prometheus].reduce((sum, c) => sum + c.cpuSeconds, 0);
    rows.push({
      section: '6',
      what: `${p.spec.label}: worker + scraper + Prometheus together, share of the ${cores} cores over ${num(p.windowSeconds, 0)} s (load ${p.loadStart} → ${p.loadEnd})`,
      ours: `worker ${num(coreShare(p.worker.cpuSeconds) * 100, 1)}%, scraper ${num(coreShare(p.scraper.cpuSeconds) * 100, 1)}%, Prometheus ${num(coreShare(p.prometheus.cpuSeconds) * 100, 1)}%: together ${num(coreShare(pull) * 100, 1)}%`,
      reference: `RSS worker ${mb(p.worker.end.rssBytes)}, scraper ${mb(p.scraper.end.rssBytes)}, Prometheus ${mb(p.prometheus.end.rssBytes)} (${num(p.prometheus.headSeries)} head series)`,
      target: '≤ 50% of the cores',
      verdict: judge(coreShare(pull) <= 0.5),
    });
    if (p.vmagent) {
      const v = p.vmagent;
      const vmTotal = p.worker.cpuSeconds + p.scraper.cpuSeconds + v.cpuSeconds + v.victoriaMetrics.cpuDelta;
      const promUs = (p.prometheus.cpuSeconds * 1e6) / (p.prometheus.cycles * p.prometheus.samplesScraped);
      rows.push({
        section: '6',
        what: `${p.spec.label}: vmagent scraping the same worker every ${p.spec.scrapeSeconds} s, remote-writing to VictoriaMetrics (same window)`,
        ours: `vmagent ${num((v.cpuSeconds * 1e6) / v.samplesScraped, 2)} µs per sample (${num(coreShare(v.cpuSeconds) * 100, 1)}% of the cores), RSS ${mb(v.end.rssBytes)}; VictoriaMetrics storing them ${num(coreShare(v.victoriaMetrics.cpuDelta) * 100, 1)}%, RSS ${mb(v.victoriaMetrics.rssBytes)}`,
        reference: `Prometheus ${num(promUs, 2)} µs per sample (${num(coreShare(p.prometheus.cpuSeconds) * 100, 1)}%), RSS ${mb(p.prometheus.end.rssBytes)}`,
        target: `worker + scraper + vmagent + VictoriaMetrics ${num(coreShare(vmTotal) * 100, 1)}% of the cores (≤ 50%)`,
        verdict: judge(coreShare(vmTotal) <= 0.5),
      });
    }
  }

  const curve = points.filter((p) => !p.spec.wholeExchange);
  if (curve.length < CURVE_SECURITIES.length) return rows;
  // Linearity and the ceiling, from CPU per security per cycle.
  const perSecurityUs = (p: Point, c: Cost) => (perCycleMs(c) * 1000) / p.instruments;
  const line = (pick: (p: Point) => Cost) => points.map((p) => `${num(p.instruments)}: ${num(perSecurityUs(p, pick(p)), 1)} µs`).join(', ');
  const [, mid, top] = curve as [Point, Point, Point];
  const growth = perSecurityUs(top, top.worker) / perSecurityUs(mid, mid.worker);
  rows.push({
    section: '6',
    what: 'does cost grow linearly? CPU per instrument per cycle at each point (the last: the whole exchange)',
    ours: `worker ${line((p) => p.worker)}; scraper ${line((p) => p.scraper)}`,
    reference: `the poll itself ${line((p) => p.bare)}; Prometheus ${line((p) => p.prometheus)}`,
    target: `worker per security at 30,000 / at 3,000: ${num(growth, 2)}x (linear: ≈1; the fixed cost per cycle dominates at 300)`,
    verdict: 'info',
  });
  const budgetMs = DEFAULT_CYCLE_SECONDS * 1000;
  const ceiling = (usPerSecurity: number, cores: number) => Math.floor((cores * budgetMs * 1000) / usPerSecurity);
  const last = points.at(-1)!;
  const pullUs = perSecurityUs(last, last.worker) + perSecurityUs(last, last.prometheus);
  const bothUs = pullUs + perSecurityUs(last, last.scraper);
  rows.push({
    section: '6',
    what: `where one 2-core machine stops keeping a 30 s cycle (linear from the point of ${last.spec.label}; the simulator excluded)`,
    ours: `worker alone on one core: ${num(ceiling(perSecurityUs(last, last.worker), 1))} instruments; worker + Prometheus on 2 cores: ${num(ceiling(pullUs, 2))}; worker + Prometheus + scraper on 2 cores: ${num(ceiling(bothUs, 2))}`,
    reference: `the poll itself on one core: ${num(ceiling(perSecurityUs(last, last.bare), 1))}`,
    target: 'where CPU per 30 s cycle reaches the cores; memory not counted',
    verdict: 'info',
  });
  return rows;
}
