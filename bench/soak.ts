/**
 * `./runner.sh soak [--minutes N]`: the fault soak of docs/durability.md.
 *
 * The native stack (`./runner.sh local up --demo`, on free loopback ports) polls the ISS simulator
 * every 2 s, the scraper into carbon over plaintext and into InfluxDB, both through its spool; two
 * busy loops keep both cores busy. At random moments one of carbon, InfluxDB, the scraper, the
 * worker and Prometheus is SIGKILLed, left down a few seconds and started again alone through the
 * supervisor in ops/ (as `up` started it: seconds, where a whole `up` took 40 s under load).
 * Beside the kills, the edges a kill does not reach: the spool's file system (a tmpfs of its own)
 * filled to the last byte for a few seconds, InfluxDB (with authentication, as compose runs it)
 * refusing the scraper's password for a while, as after a rotation, and carbon with a slow cache
 * throughout (points wait many seconds in memory before whisper has them, so a kill loses them).
 * Then every quote the scraper and the worker logged as handed over ("polled"; never what the
 * stores say) is looked up in the stores: InfluxDB by point, Graphite by 10 s slot,
 * Prometheus by moex_quote_timestamp_seconds sample, judged against Prometheus' own record of its
 * scrapes of the worker. What a full disk made the spool refuse is counted apart ("refused"): it
 * was never taken, so it cannot be lost; lost is what a store never got of what the spool took.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNativeStack, type NativeStack } from '../test/support/native-stack';
import { eventually, scrape, sleep } from '../test/support/services';
import { graphiteRender, influxQuery } from '../test/support/stores';

export const VICTIMS = ['carbon', 'influxdb', 'scraper', 'worker', 'prometheus'] as const;
export type Victim = (typeof VICTIMS)[number];
/** Faults that kill nothing: the spool's disk full, InfluxDB refusing the scraper's credentials. */
export const EDGES = ['full-disk', 'influxdb-auth'] as const;
export type Fault = Victim | (typeof EDGES)[number];
/** The spool's own file system: large enough for minutes of an InfluxDB outage of three tickers. */
const SPOOL_TMPFS = 'size=16m';
/**
 * carbon with a slow cache: 2 whisper updates a second for the soak's ~50 series (3 tickers, quotes
 * and candles) keeps a point up to ~25 s in carbon's cache, where a SIGKILL loses it. The plaintext
 * sink's resend window must cover that (docs/durability.md): 60 s, with margin.
 */
const CARBON_MAX_UPDATES_PER_SECOND = 2;
const GRAPHITE_RESEND_SECONDS = 60;
const INFLUX_USER = 'soak';
const PORT_OF: Record<Victim, string> = {
  carbon: 'CARBON_PORT',
  influxdb: 'INFLUXDB_PORT',
  scraper: 'SCRAPER_PORT',
  worker: 'WORKER_PORT',
  prometheus: 'PROMETHEUS_PORT',
};
const TICKERS = ['SBERP', 'SBER', 'GAZP'];
const POLL_SECONDS = 2;
/** Kills per minute of soak; at least one of each victim. */
const KILLS_PER_MINUTE = 1.6;
/** Between one part being up again and the next kill, at least. */
const MIN_GAP_MS = 2_000;
/** What a kill and restart take on a loaded 2-core machine, discounted from the gap. */
const RESTART_ESTIMATE_MS = 5_000;

export interface Outage {
  victim: Fault;
  killedAt: number;
  /** When `up` had it answering again. */
  upAt: number;
}

export interface StoreCount {
  store: string;
  unit: string;
  polled: number;
  stored: number;
  lost: number;
  /** Lost while the part that loses it by design was down (Prometheus: the worker or Prometheus). */
  excused: number;
  /** Prometheus: quotes exposed longer than a scrape interval while both were up, and no scrape tried. */
  unexplained: number;
  duplicated: number;
  /** Quotes the spool refused (its disk full): counted apart from polled, never silent. */
  refused: number;
  note: string;
}

export interface SoakReport {
  minutes: number;
  startedAt: Date;
  load: { start: number[]; end: number[] };
  outages: Outage[];
  stores: StoreCount[];
  markdown: string;
}

/** The pid listening on a loopback TCP port (by port, so it does not depend on how it was started). */
function listenerPid(port: number): number | undefined {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

interface Handover {
  at: number;
  quotes: string[];
}

type LogEntry = Record<string, unknown> & { time: string; msg: string; level: number };

/** The JSON lines of a service's log (every run of it, appended), with `msg` when given; lines cut by a SIGKILL skipped. */
function logEntries(logFile: string, msg?: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line || (msg && !line.includes(msg))) continue;
    try {
      const entry = JSON.parse(line) as LogEntry;
      if (!msg || entry.msg === msg) out.push(entry);
    } catch {
      // a line cut by a SIGKILL
    }
  }
  return out;
}

/** The "quotes handed over" debug lines of a service's log. */
const handovers = (logFile: string): Handover[] =>
  logEntries(logFile, 'quotes handed over').map((e) => ({ at: Date.parse(e.time), quotes: e.quotes as string[] }));

/** The quotes the scraper logged as refused by `sink` (a full spool disk). */
const refusedQuotes = (logFile: string, sink: string): Set<string> =>
  new Set(logEntries(logFile, 'quotes refused').flatMap((e) => (e.sink === sink ? (e.quotes as string[]) : [])));

/** Sum of a numeric field over the log lines with message `msg` (and `sink`, when given). */
const logSum = (logFile: string, msg: string, field: string, sink?: string): number =>
  logEntries(logFile, msg)
    .filter((e) => !sink || e.sink === sink)
    .reduce((sum, e) => sum + Number(e[field] ?? 0), 0);

const shuffled = <T>(items: readonly T[]): T[] => {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
};

function startBusyLoops(): ChildProcess[] {
  return os.cpus().map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}

async function killAndRestart(stack: NativeStack, victim: Victim, log: (line: string) => void): Promise<Outage> {
  const port = stack.ports[PORT_OF[victim]]!;
  const pid = stack.pidOf(victim);
  if (!pid || listenerPid(port) !== pid) throw new Error(`${victim}: pid ${pid} is not what listens on ${port}`);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await eventually(async () => stack.pidOf(victim) === undefined && listenerPid(port) === undefined, 30_000, `${victim} gone`);
  await sleep(1_000 + Math.random() * 4_000);
  // Only this part, through the supervisor, with the settings `up` used: seconds, not a whole `up`.
  await stack.startPart(victim);
  const upAt = Date.now();
  log(`soak: ${new Date(killedAt).toISOString().slice(11, 23)} ${victim} SIGKILLed (pid ${pid}), up again after ${((upAt - killedAt) / 1000).toFixed(1)} s`);
  return { victim, killedAt, upAt };
}

/** The scraper's spool file system filled to the last byte for a few seconds, then freed. */
async function fillSpoolDisk(spoolDir: string, log: (line: string) => void): Promise<Outage> {
  const filler = path.join(spoolDir, 'soak-filler');
  const killedAt = Date.now();
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // "No space left on device": the point
  }
  await sleep(3_000 + Math.random() * 7_000);
  fs.rmSync(filler, { force: true });
  const upAt = Date.now();
  log(`soak: ${new Date(killedAt).toISOString().slice(11, 23)} spool disk full for ${((upAt - killedAt) / 1000).toFixed(1)} s`);
  return { victim: 'full-disk', killedAt, upAt };
}

/** InfluxDB refuses the scraper's password (rotated elsewhere) for a while, then takes it again. */
async function refuseInfluxAuth(stack: NativeStack, password: string, log: (line: string) => void): Promise<Outage> {
  const setPassword = async (to: string, as: string) => {
    const res = await fetch(`${stack.urls.influxdb}/query?${new URLSearchParams({ u: INFLUX_USER, p: as })}`, {
      method: 'POST',
      body: new URLSearchParams({ q: `SET PASSWORD FOR "${INFLUX_USER}" = '${to}'` }),
    });
    if (!res.ok) throw new Error(`InfluxDB SET PASSWORD: ${res.status} ${await res.text()}`);
  };
  const rotated = `${password}-rotated`;
  // InfluxDB itself may be down (a kill just before): wait for it to answer.
  await eventually(() => setPassword(rotated, password).then(() => true), 30_000, 'InfluxDB takes the rotation');
  const killedAt = Date.now();
  await sleep(5_000 + Math.random() * 15_000);
  await eventually(() => setPassword(password, rotated).then(() => true), 30_000, 'InfluxDB takes the password back');
  const upAt = Date.now();
  log(`soak: ${new Date(killedAt).toISOString().slice(11, 23)} InfluxDB refused the scraper's password for ${((upAt - killedAt) / 1000).toFixed(1)} s`);
  return { victim: 'influxdb-auth', killedAt, upAt };
}

/** The scraper's newest warning or error (pino level 40 or above), for a wait that times out. */
function lastWarning(logFile: string): string {
  const entry = logEntries(logFile)
    .filter((e) => e.level >= 40)
    .at(-1);
  return entry ? `${entry.time} ${String(entry.sink ?? '')} ${entry.msg}${entry.err ? `: ${String(entry.err)}` : ''}`.trim() : 'none';
}

/** What the scraper says of each sink: held lines, spool bytes, write errors by reason, its /readyz and its last warning. */
async function scraperSinks(stack: NativeStack): Promise<string> {
  const m = await scrape(stack.urls.scraper);
  const sinks = ['graphite', 'influxdb'].map((sink) => {
    const errors = [...m]
      .filter(([k, v]) => k.startsWith(`scraper_write_errors_total{sink="${sink}"`) && v > 0)
      .map(([k, v]) => `${/reason="([^"]+)"/.exec(k)?.[1]}=${v}`);
    return `${sink}: ${m.get(`scraper_buffered_points{sink="${sink}"}`)} lines held, ${m.get(`scraper_spool_bytes{sink="${sink}"}`)} spool bytes, errors ${errors.join(' ') || 'none'}`;
  });
  const ready = await fetch(`${stack.urls.scraper}/readyz`).then((r) => r.text());
  return `${sinks.join('; ')}; /readyz ${ready}; last warning: ${lastWarning(path.join(stack.stateDir, 'logs', 'scraper.log'))}`;
}

const keyOf = (ticker: string, time: number) => `${ticker}@${time}`;
const parseKey = (key: string) => {
  const [ticker, time] = key.split('@');
  return { ticker: ticker!, time: Number(time) };
};

async function countInflux(
  stack: NativeStack,
  handed: Set<string>,
  refused: Set<string>,
  fromSeconds: number,
  resent: number,
  auth: { u: string; p: string },
): Promise<StoreCount> {
  const polled = new Set([...handed].filter((k) => !refused.has(k)));
  const present = new Set<string>();
  for (const ticker of TICKERS) {
    const series = await influxQuery(
      stack.urls.influxdb,
      `SELECT prev_close FROM stocks WHERE ticker='${ticker}' AND time >= ${fromSeconds}s`,
      'pyexample',
      auth,
    );
    for (const [t] of series?.values ?? []) {
      present.add(keyOf(ticker, t as number));
    }
  }
  const stored = [...polled].filter((k) => present.has(k)).length;
  const lastPolled = Math.max(...[...polled].map((k) => parseKey(k).time));
  const unpolled = [...present].filter((k) => !polled.has(k) && parseKey(k).time <= lastPolled).length;
  return {
    store: 'InfluxDB',
    unit: 'points',
    polled: polled.size,
    stored,
    lost: polled.size - stored,
    excused: 0,
    unexplained: 0,
    duplicated: resent,
    refused: handed.size - polled.size,
    note: `${unpolled} points at a time nobody polled; ${resent} lines sent again (spool replays), each stored once`,
  };
}

async function countGraphite(stack: NativeStack, handed: Set<string>, refused: Set<string>, fromSeconds: number, resent: number): Promise<StoreCount> {
  const polled = new Set([...handed].filter((k) => !refused.has(k)));
  const slotsPolled = new Set([...polled].map(parseKey).map(({ ticker, time }) => keyOf(ticker, Math.floor(time / 10) * 10)));
  const missing = async () => {
    const filled = new Set<string>();
    for (const ticker of TICKERS) {
      for (const [v, ts] of await graphiteRender(stack.urls.graphiteWeb, `stocks.${ticker}.prev_close`, String(fromSeconds - 20))) {
        if (v !== null) filled.add(keyOf(ticker, ts));
      }
    }
    return [...slotsPolled].filter((k) => !filled.has(k));
  };
  // carbon holds points in its cache before whisper has them: give the last ones time to show.
  const lost = await eventually(async () => ((await missing()).length === 0 ? [] : null), 60_000, 'Graphite slots').catch(() => missing());
  return {
    store: 'Graphite (plaintext)',
    unit: '10 s slots',
    polled: slotsPolled.size,
    stored: slotsPolled.size - lost.length,
    lost: lost.length,
    excused: 0,
    unexplained: 0,
    duplicated: resent,
    refused: handed.size - polled.size,
    note: `${resent} lines sent again (after a carbon disconnect or from the spool), one value kept per slot${lost.length ? `; missing: ${lost.slice(0, 10).join(' ')}` : ''}`,
  };
}

interface Span {
  from: number;
  to: number;
}

/** A range query's samples at `endMs` as [ms, value] per series. */
async function rangeSamples(stack: NativeStack, selector: string, rangeSeconds: number, endMs: number) {
  const url = `${stack.urls.prometheus}/api/v1/query?${new URLSearchParams({ query: `${selector}[${rangeSeconds}s]`, time: String(endMs / 1000) })}`;
  const body = (await (await fetch(url)).json()) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  return body.data.result.map((series) => ({ metric: series.metric, values: series.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as const) }));
}

/**
 * Prometheus' record of its scrapes of the worker: every attempt's time (its up sample; the
 * timestamp is the scrape's start), each successful one as the span its response was served in
 * (plus scrape_duration_seconds), and the times of the failed ones (up 0).
 */
async function workerScrapes(stack: NativeStack, rangeSeconds: number, endMs: number): Promise<{ attempts: number[]; served: Span[]; failed: number[] }> {
  const job = '{job="worker-prometheus"}';
  const [up] = await rangeSamples(stack, `up${job}`, rangeSeconds, endMs);
  const [duration] = await rangeSamples(stack, `scrape_duration_seconds${job}`, rangeSeconds, endMs);
  const lasted = new Map(duration?.values ?? []);
  const attempts = (up?.values ?? []).map(([at]) => at);
  const served = (up?.values ?? []).filter(([, v]) => v === 1).map(([at]) => ({ from: at, to: at + (lasted.get(at) ?? 1) * 1000 }));
  const failed = (up?.values ?? []).filter(([, v]) => v !== 1).map(([at]) => at);
  return { attempts, served, failed };
}

/**
 * When the worker or Prometheus was down as Prometheus' record shows it. Prometheus: from its last
 * scrape on record before the kill (what it had not flushed from its WAL page is gone with it) to
 * its first scrape after the restart (it scrapes only after its discovery and scrape managers'
 * first 5 s reload, some seconds after it answers /-/ready). The worker: from the kill to its first
 * successful scrape after the restart.
 */
function downWindows(outages: Outage[], scrapes: { attempts: number[]; served: Span[] }, endMs: number): Span[] {
  const firstAfter = (times: number[], t: number) => times.find((x) => x > t) ?? endMs;
  return outages.flatMap((o): Span[] => {
    if (o.victim === 'prometheus') {
      const before = scrapes.attempts.filter((x) => x < o.killedAt);
      return [{ from: before.length ? before[before.length - 1]! : o.killedAt, to: firstAfter(scrapes.attempts, o.upAt) }];
    }
    if (o.victim === 'worker')
      return [
        {
          from: o.killedAt,
          to: firstAfter(
            scrapes.served.map((sc) => sc.from),
            o.upAt,
          ),
        },
      ];
    return [];
  });
}

/** Prometheus scrapes every 1 s (the test default); a quote exposed for less than this may fall between two scrapes by design. */
const SCRAPE_INTERVAL_MS = 1_000;
/** How late a scrape may start on a loaded machine and still be on schedule. */
const SCRAPE_LATENESS_MS = 250;
/** Clock slack between the services' log times and Prometheus' scrape timestamps (it aligns them by a few ms). */
const CLOCK_SLACK_MS = 50;

async function countPrometheus(stack: NativeStack, worker: Handover[], outages: Outage[], rangeSeconds: number, endMs: number): Promise<StoreCount> {
  const samples = new Map<string, number>();
  for (const series of await rangeSamples(stack, 'moex_quote_timestamp_seconds', rangeSeconds, endMs)) {
    for (const [, v] of series.values) {
      const key = keyOf(series.metric.ticker!, v);
      samples.set(key, (samples.get(key) ?? 0) + 1);
    }
  }
  // A quote is exposed from its handover until the worker's next one, or until the worker is killed
  // (a restarted worker exposes no quote before its first poll).
  const workerKills = outages.filter((o) => o.victim === 'worker').map((o) => o.killedAt);
  const exposed = new Map<string, Span>();
  worker.forEach((h, i) => {
    const next = worker[i + 1]?.at ?? endMs;
    const to = Math.min(next, ...workerKills.filter((k) => k > h.at));
    for (const key of h.quotes) {
      const seen = exposed.get(key);
      exposed.set(key, { from: seen?.from ?? h.at, to });
    }
  });
  // Lost means Prometheus did serve itself the quote (a scrape succeeded while the worker exposed it)
  // and still has no sample of it. A quote no successful scrape saw is a gap; it is excused and
  // counted by its cause: the worker or Prometheus down (downWindows), a scrape that failed, a quote
  // exposed for less than a scrape interval (pull samples the state once per interval), or else no
  // scrape on record at all: unexplained.
  const scrapes = await workerScrapes(stack, rangeSeconds, endMs);
  const { served, failed } = scrapes;
  const down = downWindows(outages, scrapes, endMs);
  const overlaps = (a: Span, b: Span) => a.from < b.to && b.from < a.to;
  let stored = 0;
  let whileDown = 0;
  let scrapeFailed = 0;
  let tooBrief = 0;
  const notScraped: string[] = [];
  const lost: string[] = [];
  for (const [key, span] of exposed) {
    if (samples.has(key)) stored++;
    else if (served.some((sc) => sc.from >= span.from + CLOCK_SLACK_MS && sc.to + CLOCK_SLACK_MS <= span.to)) lost.push(key);
    else if (down.some((d) => overlaps(d, span))) whileDown++;
    else if (failed.some((at) => at >= span.from && at < span.to)) scrapeFailed++;
    else if (span.to - span.from < SCRAPE_INTERVAL_MS + SCRAPE_LATENESS_MS) tooBrief++;
    else notScraped.push(`${key}(${new Date(span.from).toISOString().slice(11, 23)} for ${span.to - span.from} ms)`);
  }
  const sampleCount = [...samples.values()].reduce((a, b) => a + b, 0);
  return {
    store: 'Prometheus',
    unit: 'quotes (samples)',
    polled: exposed.size,
    stored,
    lost: lost.length,
    excused: whileDown + scrapeFailed + tooBrief + notScraped.length,
    unexplained: notScraped.length,
    duplicated: sampleCount - samples.size,
    refused: 0,
    note:
      `not scraped: ${whileDown} while the worker or Prometheus was down, ${scrapeFailed} while a scrape of the worker failed (up 0, ${failed.length} such scrapes), ` +
      `${tooBrief} exposed for less than a scrape interval (a late poll followed by one on time), ` +
      `${notScraped.length} with no scrape recorded${notScraped.length ? ` (${notScraped.slice(0, 6).join(' ')})` : ''}; lost = a scrape succeeded while the worker exposed the quote and no sample has it; ` +
      `duplicated = samples repeating a quote (1 s scrapes of a 2 s poll)${lost.length ? `; lost: ${lost.slice(0, 10).join(' ')}` : ''}`,
  };
}

function markdown(report: Omit<SoakReport, 'markdown'>): string {
  const kills = [...VICTIMS, ...EDGES].map((v) => {
    const mine = report.outages.filter((o) => o.victim === v);
    const mean = mine.length ? mine.reduce((s, o) => s + o.upAt - o.killedAt, 0) / mine.length / 1000 : 0;
    return `| ${v} | ${mine.length} | ${mean.toFixed(1)} |`;
  });
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `Soak ${report.startedAt.toISOString()}: ${report.minutes} min, carbon's cache slowed to ${CARBON_MAX_UPDATES_PER_SECOND} updates/s with GRAPHITE_RESEND_SECONDS=${GRAPHITE_RESEND_SECONDS}, ${report.outages.filter((o) => (VICTIMS as readonly string[]).includes(o.victim)).length} SIGKILLs and ${report.outages.filter((o) => (EDGES as readonly string[]).includes(o.victim)).length} edge faults, ${os.cpus().length} busy loops; load average ${load(report.load.start)} at start, ${load(report.load.end)} at end`,
    '',
    '| fault (SIGKILLed part, or edge) | times | mean down (s) |',
    '|---|---|---|',
    ...kills,
    '',
    ...report.stores.flatMap((s) => [
      `**${s.store}** (${s.unit})`,
      '',
      '| polled | stored | lost | refused (disk full) | duplicated | note |',
      '|---|---|---|---|---|---|',
      `| ${s.polled} | ${s.stored} | ${s.lost} | ${s.refused} | ${s.duplicated} | ${s.note.replace(/\|/g, '\\|')} |`,
      '',
    ]),
  ].join('\n');
}

/** Runs the soak for `minutes` of faults (plus start-up and a settling minute) and counts. */
export async function runSoak(minutes: number, log: (line: string) => void = (l) => console.error(l)): Promise<SoakReport> {
  const startedAt = new Date();
  const loadStart = os.loadavg();
  // The state dir is the soak's: the spool gets a file system of its own (to fill), InfluxDB a password (to rotate).
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-soak-'));
  const spoolDir = path.join(stateDir, 'scraper-spool');
  fs.mkdirSync(spoolDir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', SPOOL_TMPFS, 'tmpfs', spoolDir]);
  const password = `soak-${Math.random().toString(36).slice(2)}`;
  const passwordFile = path.join(stateDir, 'influxdb_password');
  fs.writeFileSync(passwordFile, `${password}\n`);
  log(`soak: starting the native stack (load average ${loadStart.map((x) => x.toFixed(2)).join(' ')})`);
  let stack: NativeStack | null = null;
  const busy: ChildProcess[] = [];
  const outages: Outage[] = [];
  try {
    stack = await startNativeStack({
      demo: true,
      stateDir,
      env: {
        POLL_SCHEDULE: `*/${POLL_SECONDS} * * * * *`,
        MOEX_TICKERS: TICKERS.join(','),
        GRAPHITE_TRANSPORT: 'plaintext',
        // No feed delay: a quote's time is its poll's time, so outages and quotes share one clock.
        ISS_SIM_DELAY_SECONDS: '0',
        // The scraper and worker log each cycle's quotes: that is what "polled" counts.
        LOG_LEVEL: 'debug',
        SCRAPER_SPOOL_DIR: spoolDir,
        CARBON_MAX_UPDATES_PER_SECOND: String(CARBON_MAX_UPDATES_PER_SECOND),
        GRAPHITE_RESEND_SECONDS: String(GRAPHITE_RESEND_SECONDS),
        INFLUXDB_USER: INFLUX_USER,
        INFLUXDB_USER_PASSWORD_FILE: passwordFile,
      },
    });
    busy.push(...startBusyLoops());
    const fromSeconds = Math.floor(Date.now() / 1000);
    const faultsEnd = Date.now() + minutes * 60_000;
    const faults: Fault[] = [...VICTIMS, ...EDGES];
    // Random moments, spread so that the target is reached even when restarts are slow (a loaded machine).
    const target = Math.max(faults.length, Math.ceil(minutes * KILLS_PER_MINUTE));
    let order: Fault[] = [];
    const inflict = (fault: Fault): Promise<Outage> =>
      fault === 'full-disk'
        ? fillSpoolDisk(spoolDir, log)
        : fault === 'influxdb-auth'
          ? refuseInfluxAuth(stack!, password, log)
          : killAndRestart(stack!, fault, log);
    // The faults last `minutes` and at least until the target is reached.
    while (outages.length < target || Date.now() < faultsEnd) {
      const gapMs = Math.max(0, faultsEnd - Date.now()) / Math.max(1, target - outages.length);
      const waitMs = Math.max(MIN_GAP_MS, gapMs * (0.2 + Math.random() * 0.8) - RESTART_ESTIMATE_MS);
      if (outages.length >= target && Date.now() + waitMs >= faultsEnd) break;
      await sleep(waitMs);
      if (order.length === 0) order = shuffled(faults);
      outages.push(await inflict(order.shift()!));
    }
    await sleep(Math.max(0, faultsEnd - Date.now()));
    const polledUntil = Date.now();
    log('soak: faults over; waiting for the scraper to drain');
    let seen = '';
    await eventually(
      async () => {
        seen = await scraperSinks(stack!);
        const m = await scrape(stack!.urls.scraper);
        return ['graphite', 'influxdb'].every((s) => m.get(`scraper_buffered_points{sink="${s}"}`) === 0);
      },
      120_000,
      () => `scraper buffers drained (last seen: ${seen})`,
      1_000,
    );

    const scraperLog = path.join(stack.stateDir, 'logs', 'scraper.log');
    // From the first second the stores are asked about to the end of the faults.
    const inWindow = (h: Handover) => ({ at: h.at, quotes: h.quotes.filter((k) => parseKey(k).time >= fromSeconds) });
    const polled = new Set(
      handovers(scraperLog)
        .filter((h) => h.at <= polledUntil)
        .map(inWindow)
        .flatMap((h) => h.quotes),
    );
    const worker = handovers(path.join(stack.stateDir, 'logs', 'worker.log'))
      .filter((h) => h.at <= polledUntil)
      .map(inWindow);
    const replayed = (sink: string) => logSum(scraperLog, 'spool: replaying points from the previous run', 'points', sink);
    const resentToCarbon = logSum(scraperLog, 'carbon connection lost; the lines written before it are sent again', 'lines');
    const stores = [
      await countInflux(stack, polled, refusedQuotes(scraperLog, 'influxdb'), fromSeconds, replayed('influxdb'), { u: INFLUX_USER, p: password }),
      await countGraphite(stack, polled, refusedQuotes(scraperLog, 'graphite'), fromSeconds, replayed('graphite') + resentToCarbon),
      await countPrometheus(stack, worker, outages, Math.ceil((Date.now() - fromSeconds * 1000) / 1000) + 60, polledUntil),
    ];
    const report = { minutes, startedAt, load: { start: loadStart, end: os.loadavg() }, outages, stores };
    return { ...report, markdown: markdown(report) };
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    await stack?.stop();
    execFileSync('umount', [spoolDir]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function minutesFromArgs(args: string[]): number {
  let minutes = 20;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--minutes' && /^\d+(\.\d+)?$/.test(args[i + 1] ?? '') && Number(args[i + 1]) > 0) minutes = Number(args[++i]);
    else {
      console.error(`soak: unknown or bad argument '${args[i]}' (usage: ./runner.sh soak [--minutes N], N > 0, default 20)`);
      process.exit(2);
    }
  }
  return minutes;
}

if (require.main === module) {
  const minutes = minutesFromArgs(process.argv.slice(2));
  runSoak(minutes).then(
    (report) => {
      console.log(report.markdown);
      const lossless = report.stores.every((s) => s.lost === 0);
      process.exit(lossless ? 0 : 1);
    },
    (err: unknown) => {
      console.error(`soak failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(1);
    },
  );
}
