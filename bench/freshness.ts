/**
 * 3. Freshness: from a price change in the ISS simulator to the new value being readable in
 * Prometheus, the backend, Graphite (via StatsD and via carbon plaintext) and InfluxDB, each
 * through its own query API. Three setups: the defaults (30 s poll, 15 s scrape, 10 s StatsD flush),
 * a 1 s poll with a 1 s scrape (StatsD keeps the shipped 10 s flush), and the defaults with
 * MOEX_STREAM=issplus (the worker and the scrapers also take the simulator's ISS+ stream).
 *
 * The same-run reference is the poll itself: every service reaches ISS through a counting proxy,
 * so the moment the answer carrying the new price reached the service is known, and what each
 * path adds after it is measured apart from the wait for the next poll. With the stream, the
 * figure that counts is from the change itself, beside when the next poll's answer came; the pull
 * paths are also timed from the moment the worker's /metrics showed the change.
 */
import type { Daemon } from '../test/support/daemons';
import { startBenchDaemon as startDaemon } from './signals';
import { graphiteLast, influxQuery } from '../test/support/stores';
import { eventually, scrape, startIssSim, startService, sumOf, type IssSim, type RunningService } from '../test/support/services';
import { STREAM_PATH } from '../iss-sim/src/stream';
import { startCountingProxy, type CountingProxy } from './counting-proxy';
import type { BenchOptions } from './options';
import { max, median, ms, sleep } from './stats';
import { judge, type Row } from './table';

const TICKER = 'SBER';
const PLAINTEXT_PREFIX = 'benchplain';
const STATSD_FLUSH_MS = 10_000; // graphite/statsd/config.js
const BACKEND_CACHE_MS = 1_000; // backend/src/app.ts
const PUSH_BOUND_MS = 1_000;
/** The stream's targets for InfluxDB and carbon plaintext, from the change (issue 32's acceptance). */
const STREAM_PUSH_MEDIAN_MS = 1_000;
const STREAM_PUSH_MAX_MS = 2_000;
const PROBE_EVERY_MS = 100;
/**
 * The anonymous feed's delay (the simulator's default, as on ISS): a quote carries UPDATETIME this
 * far behind the poll, and the plaintext scraper and InfluxDB store the point at that time. The
 * change is measured from the ISS answer carrying it to its readability, so the delay is no part of
 * the figure; it only decides how far back a read must look for the newest point.
 */
const FEED_DELAY_S = 900;
/** graphite-web's render window: the feed's delay plus room for the poll and a loaded machine. */
const GRAPHITE_FROM = `-${FEED_DELAY_S / 60 + 10}min`;

interface Setup {
  name: string;
  pollSchedule: string;
  pollMs: number;
  scrapeInterval: string;
  scrapeMs: number;
  samples: number;
  /** MOEX_STREAM=issplus for the worker and the scrapers, against the simulator's stream. */
  stream: boolean;
}

/** What a path is judged against when the stream carries the change. */
interface StreamBound {
  /** `change`: from the change; `worker`: from the worker's /metrics showing it (pull paths). */
  from: 'change' | 'worker';
  medianMs?: number;
  maxMs: number;
  text: string;
}

interface Path {
  name: string;
  /** Whose ISS request carries the change to this path. */
  proxy: CountingProxy;
  /** How long this path may take after the poll's answer. */
  boundMs: number;
  boundText: string;
  push: boolean;
  /** With the stream; none: the path is reported as it comes (info). */
  streamBound?: StreamBound;
  read(): Promise<number | undefined>;
}

/** The path that shows the worker's own view: the stream setup's reference for the pull paths. */
const WORKER_PATH = 'worker /metrics';

interface Stores {
  sim: IssSim;
  carbon: Daemon;
  web: Daemon;
  statsd: Daemon;
  influx: Daemon;
}

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: u.port };
};

async function json(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) return undefined;
  return res.json();
}

const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-6;

/**
 * Sleeps until `phaseMs` after a tick of a schedule that fires every `periodMs` on the wall clock
 * (node-cron's "*\/30 * * * * *" fires at :00 and :30). Spreading the changes over the period makes
 * "from the change" the wait a user sees on average, not one phase repeated.
 */
async function waitForPhase(periodMs: number, phaseMs: number): Promise<void> {
  const now = Date.now();
  let at = Math.floor(now / periodMs) * periodMs + phaseMs;
  if (at <= now + 20) at += periodMs;
  await sleep(at - now);
}

/** Polls every path until each reads `value`; the time of the first probe that saw it, per path. */
async function whenReadable(paths: Path[], value: number, deadline: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  await Promise.all(
    paths.map(async (path) => {
      while (Date.now() < deadline) {
        const probeAt = Date.now();
        const read = await path.read().catch(() => undefined);
        if (near(read, value)) {
          seen.set(path.name, probeAt);
          return;
        }
        await sleep(Math.max(0, PROBE_EVERY_MS - (Date.now() - probeAt)));
      }
    }),
  );
  return seen;
}

async function runSetup(stores: Stores, setup: Setup, firstPrice: number, log: (line: string) => void): Promise<Row[]> {
  const { sim, carbon, web, statsd, influx } = stores;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const issForWorker = await startCountingProxy(sim.issUrl);
    const issForStatsdScraper = await startCountingProxy(sim.issUrl);
    const issForPlaintextScraper = await startCountingProxy(sim.issUrl);
    cleanups.push(
      () => issForWorker.close(),
      () => issForStatsdScraper.close(),
      () => issForPlaintextScraper.close(),
    );
    const streamEnv: Record<string, string> = setup.stream
      ? { MOEX_STREAM: 'issplus', MOEX_STREAM_URL: `${sim.url.replace(/^http/, 'ws')}${STREAM_PATH}` }
      : {};
    const common = { POLL_SCHEDULE: setup.pollSchedule, LOG_LEVEL: 'warn', ...streamEnv };
    const statsdAddr = hostPort(statsd.url.replace('udp:', 'http:'));
    const carbonAddr = hostPort(carbon.url.replace('tcp:', 'http:'));
    const streamed: Array<{ name: string; service: RunningService }> = [];
    const start = async (name: 'worker' | 'scraper' | 'backend', env: Record<string, string>) => {
      // Candle requests through the counting proxies would blur which answer carried the change.
      const service = await startService(name, { ...common, ...(name === 'scraper' ? { SCRAPER_CANDLES: 'off' } : {}), ...env });
      if (name !== 'backend') streamed.push({ name: env.GRAPHITE_TRANSPORT ? `${name} (${env.GRAPHITE_TRANSPORT})` : name, service });
      cleanups.push(() => service.stop());
      return service;
    };
    const worker = await start('worker', { MOEX_ISS_URL: issForWorker.url });
    await start('scraper', {
      MOEX_ISS_URL: issForStatsdScraper.url,
      GRAPHITE_TRANSPORT: 'statsd',
      STATSD_HOST: statsdAddr.host,
      STATSD_PORT: statsdAddr.port,
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
    });
    await start('scraper', {
      MOEX_ISS_URL: issForPlaintextScraper.url,
      GRAPHITE_TRANSPORT: 'plaintext',
      GRAPHITE_HOST: carbonAddr.host,
      GRAPHITE_PORT: carbonAddr.port,
      GRAPHITE_PREFIX: PLAINTEXT_PREFIX,
      INFLUX_URL: 'off',
    });
    const prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: setup.scrapeInterval,
    });
    cleanups.push(() => prometheus.close());
    const backend = await start('backend', { PROMETHEUS_URL: prometheus.url, WORKER_URL: worker.url, GRAPHITE_URL: web.url, INFLUX_URL: influx.url });

    const query = `moex_last_price{ticker="${TICKER}"}`;
    const scrapeText = `one scrape interval (${setup.scrapeInterval})`;
    const streamPushBound: StreamBound = {
      from: 'change',
      medianMs: STREAM_PUSH_MEDIAN_MS,
      maxMs: STREAM_PUSH_MAX_MS,
      text: `from the change: median ≤ ${ms(STREAM_PUSH_MEDIAN_MS)}, max ≤ ${ms(STREAM_PUSH_MAX_MS)}`,
    };
    const paths: Path[] = [
      {
        name: 'InfluxDB (scraper)',
        proxy: issForStatsdScraper,
        boundMs: PUSH_BOUND_MS,
        boundText: '1 s',
        push: true,
        streamBound: streamPushBound,
        read: async () => {
          const series = await influxQuery(influx.url, `SELECT "last" FROM "stocks" WHERE "ticker"='${TICKER}' ORDER BY time DESC LIMIT 1`);
          return series?.values[0]?.[1] as number | undefined;
        },
      },
      {
        name: 'Graphite via carbon plaintext',
        proxy: issForPlaintextScraper,
        boundMs: PUSH_BOUND_MS,
        boundText: '1 s',
        push: true,
        streamBound: streamPushBound,
        read: () => graphiteLast(web.url, `${PLAINTEXT_PREFIX}.${TICKER}.last`, GRAPHITE_FROM),
      },
      {
        name: 'Graphite via StatsD',
        proxy: issForStatsdScraper,
        boundMs: STATSD_FLUSH_MS,
        boundText: 'one StatsD flush (10 s)',
        push: true,
        read: () => graphiteLast(web.url, `stocks.${TICKER}.last`, GRAPHITE_FROM),
      },
      {
        name: 'Prometheus (query API)',
        proxy: issForWorker,
        boundMs: setup.scrapeMs,
        boundText: scrapeText,
        push: false,
        streamBound: { from: 'worker', maxMs: setup.scrapeMs, text: `after the worker showed it: ≤ ${scrapeText}` },
        read: async () => {
          const body = (await json(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query })}`)) as
            { data?: { result?: Array<{ value: [number, string] }> } } | undefined;
          const value = body?.data?.result?.[0]?.value[1];
          return value === undefined ? undefined : Number(value);
        },
      },
      {
        name: 'backend /api/quotes',
        proxy: issForWorker,
        boundMs: setup.scrapeMs + BACKEND_CACHE_MS,
        boundText: `one scrape + the 1 s cache (${(setup.scrapeMs + BACKEND_CACHE_MS) / 1000} s)`,
        push: false,
        read: async () => ((await json(`${backend.url}/api/quotes/${TICKER}`)) as { last?: number } | undefined)?.last ?? undefined,
      },
    ];
    if (setup.stream) {
      // The worker's own view: where the pull paths start from once the stream has brought the change.
      paths.push({
        name: WORKER_PATH,
        proxy: issForWorker,
        boundMs: 0,
        boundText: '',
        push: false,
        read: async () => sumOf(await scrape(worker.url), 'moex_last_price', { ticker: TICKER, board: 'TQBR' }),
      });
      for (const { name, service } of streamed)
        await eventually(async () => (await scrape(service.url)).get('moex_stream_up') === 1, 30_000, `${name}: ISS+ stream up`);
    }

    // Every path shows the simulator's current price before the first sample.
    const [current] = await sim.control.securities([TICKER]);
    const ready = await whenReadable(paths, current!.last, Date.now() + setup.pollMs + setup.scrapeMs + STATSD_FLUSH_MS + 60_000);
    const missing = paths.filter((p) => !ready.has(p.name)).map((p) => p.name);
    if (missing.length) throw new Error(`freshness (${setup.name}): never showed ${TICKER}'s price: ${missing.join(', ')}`);

    const added = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const total = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const afterWorker = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const changes: Array<{ changedAt: number; changeDone: number }> = [];
    // The wait a user sees on average: changes spread over the period that decides it (the poll's,
    // or with the stream the scrape's, the pull paths' only wait).
    const periodMs = setup.stream ? setup.scrapeMs : setup.pollMs;
    for (let i = 0; i < setup.samples; i++) {
      const price = Math.round((firstPrice + i * 1.37) * 100) / 100;
      await waitForPhase(periodMs, ((i + 0.5) / setup.samples) * periodMs);
      const changedAt = Date.now();
      await sim.control.setSecurity(TICKER, { last: price });
      const changeDone = Date.now();
      changes.push({ changedAt, changeDone });
      const seen = await whenReadable(paths, price, changeDone + setup.pollMs + setup.scrapeMs + STATSD_FLUSH_MS + 30_000);
      for (const path of paths) {
        const readableAt = seen.get(path.name);
        if (readableAt === undefined) throw new Error(`freshness (${setup.name}): ${path.name} never showed ${price}`);
        total.get(path.name)!.push(readableAt - changeDone);
        if (setup.stream) {
          afterWorker.get(path.name)!.push(Math.max(0, readableAt - seen.get(WORKER_PATH)!));
          continue;
        }
        // The first ISS request sent after the change carried it (the simulator applies a PATCH at once).
        const poll = path.proxy.log.find((r) => r.startedAt >= changedAt);
        if (!poll) throw new Error(`freshness (${setup.name}): no ISS request after the change for ${path.name}`);
        added.get(path.name)!.push(Math.max(0, readableAt - poll.answeredAt));
      }
      log(`freshness (${setup.name}): sample ${i + 1}/${setup.samples}: ${paths.map((p) => `${p.name} ${ms(total.get(p.name)!.at(-1)!)}`).join(', ')}`);
    }

    const what = (path: Path) =>
      `${path.name}; ${setup.name}; ${setup.samples} change${setup.samples === 1 ? '' : 's'} spread over the ${setup.stream ? 'scrape' : 'poll'} period, probed every ${PROBE_EVERY_MS} ms`;
    const fromChange = (path: Path) => `from the change: median ${ms(median(total.get(path.name)!))}, max ${ms(max(total.get(path.name)!))}`;
    if (setup.stream) {
      // What the poll alone would have given: its next answer after each change (a change after the
      // setup's last poll has none yet and is left out of this reference).
      const pollWaits = changes.flatMap(({ changedAt, changeDone }) => {
        const poll = issForWorker.log.find((r) => r.startedAt >= changedAt);
        return poll ? [poll.answeredAt - changeDone] : [];
      });
      const reference = `the poll of the same services (every ${setup.pollMs / 1000} s): its next answer came median ${ms(median(pollWaits))}, max ${ms(max(pollWaits))} after the change (${pollWaits.length} changes)`;
      return paths.map((path) => {
        const t = total.get(path.name)!;
        const w = afterWorker.get(path.name)!;
        const bound = path.streamBound;
        const judged = bound?.from === 'worker' ? w : t;
        return {
          section: '3',
          what: what(path),
          ours: fromChange(path) + (bound?.from === 'worker' ? `; after the worker showed it: median ${ms(median(w))}, max ${ms(max(w))}` : ''),
          reference,
          target: bound?.text ?? 'as it comes',
          verdict: bound ? judge(max(judged) <= bound.maxMs && (bound.medianMs === undefined || median(judged) <= bound.medianMs)) : 'info',
        };
      });
    }
    return paths.map((path) => {
      const a = added.get(path.name)!;
      return {
        section: '3',
        what: what(path),
        ours: `after the poll's answer: median ${ms(median(a))}, max ${ms(max(a))}; ${fromChange(path)}`,
        reference: `the poll (ISS answer reaching the service), every ${setup.pollMs / 1000} s`,
        target: `${path.push ? 'push path adds' : 'pull path adds'} ≤ ${path.boundText} after the poll`,
        verdict: judge(max(a) <= path.boundMs),
      };
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

export async function measureFreshness(options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const opened: Array<{ close(): Promise<unknown> } | { stop(): Promise<unknown> }> = [];
  try {
    const [sim, carbon, influx] = await Promise.all([
      startIssSim({ LOG_LEVEL: 'warn', SIM_WALK: 'off', ISS_SIM_DELAY_SECONDS: String(FEED_DELAY_S) }),
      startDaemon('carbon'),
      startDaemon('influxdb'),
    ]);
    opened.push(sim, influx, carbon);
    const [web, statsd] = await Promise.all([startDaemon('graphite-web', { carbon }), startDaemon('statsd', { carbon })]);
    opened.unshift(web, statsd);
    const stores = { sim, carbon, web, statsd, influx };
    const setups: Setup[] = [
      {
        name: 'defaults: 30 s poll, 15 s scrape, 10 s StatsD flush',
        pollSchedule: '*/30 * * * * *',
        pollMs: 30_000,
        scrapeInterval: '15s',
        scrapeMs: 15_000,
        samples: options.freshnessDefaultSamples,
        stream: false,
      },
      {
        name: '1 s poll, 1 s scrape, 10 s StatsD flush',
        pollSchedule: '* * * * * *',
        pollMs: 1_000,
        scrapeInterval: '1s',
        scrapeMs: 1_000,
        samples: options.freshnessFastSamples,
        stream: false,
      },
      {
        name: 'MOEX_STREAM=issplus (the simulator’s stream), 30 s poll, 15 s scrape, 10 s StatsD flush',
        pollSchedule: '*/30 * * * * *',
        pollMs: 30_000,
        scrapeInterval: '15s',
        scrapeMs: 15_000,
        samples: options.freshnessStreamSamples,
        stream: true,
      },
    ];
    const rows: Row[] = [];
    for (const [i, setup] of setups.entries()) rows.push(...(await runSetup(stores, setup, 250 + i * 20, log)));
    return rows;
  } finally {
    for (const d of opened) await ('close' in d ? d.close() : d.stop()).catch(() => {});
  }
}
