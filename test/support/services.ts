/**
 * Runs this project's services as a user would (`./runner.sh <service>`) for integration tests:
 * on free loopback ports, logs captured, stopped with SIGTERM.
 *
 *   const sim = await startIssSim();                 // sim.issUrl, sim.control.*
 *   const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl });
 *   await worker.stop();                             // SIGTERM; resolves with the exit code
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { getFreePort, REPO_ROOT } from './daemons';
import { request } from './https';
import { runProcess } from './run';

export { REPO_ROOT };
export const freePort = getFreePort;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes; returns that value. `what`
 * may be a function: it is read when the wait fails, so it can tell what was seen last.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  what: string | (() => string) = 'condition',
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(intervalMs);
  }
}

export type ServiceName = 'worker' | 'scraper' | 'backend' | 'iss-sim';

export interface RunningService {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  /** SIGTERM (or `signal`) and the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Runs `./runner.sh <name>` with `env` until it exits (for config checks): exit code and output. */
export async function runToExit(name: ServiceName, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runProcess('./runner.sh', [name], { LOG_LEVEL: 'warn', ...env }, REPO_ROOT);
  return { code, output: stdout + stderr };
}

/** `opts.scheme` https: the service has a web config with tls_server_config (wait on /healthz, which needs no credentials). */
export async function startService(
  name: ServiceName,
  env: Record<string, string> = {},
  opts: { waitFor?: 'healthz' | 'readyz'; scheme?: 'http' | 'https' } = {},
): Promise<RunningService> {
  const port = Number(env.PORT ?? (await freePort()));
  const child = spawn('./runner.sh', [name], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `${opts.scheme ?? 'http'}://127.0.0.1:${port}`;
  const service: RunningService = {
    url,
    port,
    process: child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  trackForCleanup(service);
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  await eventually(
    async () => {
      if (exitedEarly) throw new Error(`${name} exited: ${output}`);
      if (opts.scheme === 'https') return (await request(`${url}/${opts.waitFor ?? 'healthz'}`, { insecure: true })).status === 200;
      const res = await fetch(`${url}/${opts.waitFor ?? 'healthz'}`);
      return res.ok;
      // As long as a daemon's READY_TIMEOUT: on 2 cores shared with other suites a start can take a minute.
    },
    90_000,
    `${name} on :${port}`,
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return service;
}

const running = new Set<RunningService>();
function trackForCleanup(service: RunningService) {
  running.add(service);
  void service.exited.then(() => running.delete(service));
}
// A failed test must not leave services behind.
process.on('exit', () => {
  for (const s of running) s.process.kill('SIGKILL');
});

export interface IssSim extends RunningService {
  /** MOEX_ISS_URL for the services. */
  issUrl: string;
  control: {
    requests(): Promise<Array<{ at: string; path: string; securities: string | null; fault: string | null; gzip: boolean; bearer: boolean }>>;
    clearRequests(): Promise<void>;
    /** The next `count` requests (default: all) to every board, or to `board` only, get `fault`. */
    setFault(fault: string, count?: number, board?: string): Promise<void>;
    clearFault(): Promise<void>;
    securities(secids?: string[], board?: string): Promise<Array<Record<string, unknown> & { secid: string; last: number; prevPrice: number }>>;
    setSecurity(secid: string, values: Record<string, unknown>): Promise<void>;
    walk(enabled: boolean): Promise<void>;
    /** The market trades `seconds` at once and the simulator's clock moves on by as much. */
    advanceClock(seconds: number): Promise<void>;
    /** `board`'s answers leave `secid` out from now on, as after a delisting. */
    delist(board: string, secid: string): Promise<void>;
  };
}

async function call(url: string, method: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export async function startIssSim(env: Record<string, string> = {}): Promise<IssSim> {
  const sim = await startService('iss-sim', { LOG_LEVEL: 'warn', ...env });
  const c = (p: string) => `${sim.url}/sim/${p}`;
  return {
    ...sim,
    issUrl: `${sim.url}/iss`,
    control: {
      requests: async () => ((await call(c('requests'), 'GET')) as { requests: never[] }).requests,
      clearRequests: async () => void (await call(c('requests'), 'DELETE')),
      setFault: async (fault, count, board) => void (await call(c('faults'), 'PUT', { fault, count, board })),
      clearFault: async () => void (await call(c('faults'), 'DELETE')),
      securities: async (secids, board) => {
        const query = new URLSearchParams({ ...(secids ? { secids: secids.join(',') } : {}), ...(board ? { board } : {}) });
        return ((await call(c(`securities?${query}`), 'GET')) as { securities: never[] }).securities;
      },
      setSecurity: async (secid, values) => void (await call(c(`securities/${secid}`), 'PATCH', values)),
      walk: async (enabled) => void (await call(c('walk'), 'PUT', { enabled })),
      advanceClock: async (seconds) => void (await call(c('clock'), 'PUT', { advanceSeconds: seconds })),
      delist: async (board, secid) => void (await call(c('delist'), 'PUT', { board, secid })),
    },
  };
}

/** Parses a Prometheus text exposition into `name{labels}` → value (labels as written). */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** A sample key of parseExposition, `name{a="x",b="y"}`, split into its exact name and its labels. */
export function parseSampleKey(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf('{');
  if (brace < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  for (const m of key.slice(brace).matchAll(LABEL)) labels[m[1]!] = m[2]!;
  return { name: key.slice(0, brace), labels };
}

/**
 * The sum of every sample of the metric named exactly `name` whose labels include `labels` (e.g. one
 * counter across boards). Exact: `prometheus_tsdb_head_series` is not `..._created_total`.
 */
export function sumOf(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const sample = parseSampleKey(key);
    if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) sum += value;
  }
  return sum;
}

export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET ${url}/metrics: HTTP ${res.status}`);
  return parseExposition(await res.text());
}
