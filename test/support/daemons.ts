/**
 * Runs ONE real daemon of the stack for a test, through ops/native-daemons.sh (the
 * one place that knows how to run them), on free loopback ports in a temp state dir.
 *
 *   const influx = await startDaemon('influxdb');      // database pyexample exists
 *   influx.url                                         // 'http://127.0.0.1:40123'
 *   await influx.stop();                               // that process only; data stays
 *   await influx.start();                              // same ports, same data
 *   await influx.close();                              // stop + delete the temp state dir
 *
 *   const carbon = await startDaemon('carbon');        // carbon.url = 'tcp://127.0.0.1:P' (plaintext)
 *   const web = await startDaemon('graphite-web', { carbon });   // reads carbon's files and cache
 *   const statsd = await startDaemon('statsd', { carbon });      // statsd.url = 'udp://127.0.0.1:P'
 *
 *   const prom = await startDaemon('prometheus', {
 *     scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${port}`] }],
 *     scrapeInterval: '1s',                             // also the rule evaluation interval
 *   });                                                 // rules from prometheus/rules/ are loaded
 *
 * Names: prometheus node-exporter carbon graphite-web statsd influxdb victoria-metrics pushgateway alertmanager.
 * `ports` maps native-daemons.sh's variable names to the ports in use (e.g. CARBON_PORT,
 * CARBON_QUERY_PORT, STATSD_MGMT_PORT); `urls` names each endpoint. Logs:
 * `${stateDir}/logs/<name>.log`. Every daemon still running when the test process exits
 * is stopped and its temp dir removed, even after a failure; still call close() in after().
 *
 * Also exported: getFreePort() (a loopback port free for TCP and UDP, never handed out
 * twice), REPO_ROOT, registerExitCleanup(fn) (runs fn at exit and on SIGINT/SIGTERM).
 */
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DAEMONS_SH = path.join(REPO_ROOT, 'ops', 'native-daemons.sh');
const HOST = '127.0.0.1';

export type DaemonName =
  | 'prometheus'
  | 'node-exporter'
  | 'carbon'
  | 'graphite-web'
  | 'statsd'
  | 'influxdb'
  | 'victoria-metrics'
  | 'pushgateway'
  | 'alertmanager';

export interface ScrapeJob {
  job: string;
  /** host:port, e.g. `127.0.0.1:40001` */
  targets: string[];
}

export interface DaemonOptions {
  /** graphite-web and statsd: the carbon to read from / flush to (its state dir and ports). */
  carbon?: Daemon;
  /** Share a state dir (default: a new temp dir, removed by close()). */
  stateDir?: string;
  /** Fixed ports by variable name (default: free ports). */
  ports?: Record<string, number>;
  /** prometheus: replaces the scrape jobs of prometheus/prometheus.yml. */
  scrapeTargets?: ScrapeJob[];
  /** prometheus: scrape and rule evaluation interval, e.g. '1s' (default 15s). */
  scrapeInterval?: string;
  /** prometheus: the Alertmanager it sends alerts to (default: a free port nobody listens on, so a test's alerts reach no other Alertmanager). */
  alertmanager?: Daemon;
  /** prometheus: load the rule files of this directory instead of prometheus/rules/. */
  rulesDir?: string;
  /** Extra environment for ops/native-daemons.sh (e.g. INFLUXDB_DATABASE). */
  env?: Record<string, string>;
}

export interface Daemon {
  name: DaemonName;
  /** Main endpoint: http://127.0.0.1:P, tcp://127.0.0.1:P (carbon plaintext) or udp://127.0.0.1:P (statsd). */
  url: string;
  /** Every endpoint by name, e.g. carbon: { plaintext, pickle, cacheQuery }; statsd: { udp, mgmt }. */
  urls: Record<string, string>;
  /** Port variables of ops/native-daemons.sh -> port. */
  ports: Record<string, number>;
  stateDir: string;
  /** The environment ops/native-daemons.sh runs with (STATE_DIR, ports, ...). */
  env: Record<string, string>;
  /** Starts it again (no-op while running); waits until it answers. */
  start(): Promise<void>;
  /** Stops exactly the process start() started; waits until its ports are free. */
  stop(): Promise<void>;
  /** Pid of the running process (undefined when stopped). */
  pid(): number | undefined;
  /** stop(), then removes the state dir when startDaemon created it. */
  close(): Promise<void>;
}

/** The ports each daemon binds, by ops/native-daemons.sh variable name. */
const OWN_PORTS: Record<DaemonName, string[]> = {
  prometheus: ['PROMETHEUS_PORT'],
  'node-exporter': ['NODE_EXPORTER_PORT'],
  carbon: ['CARBON_PORT', 'CARBON_PICKLE_PORT', 'CARBON_QUERY_PORT'],
  'graphite-web': ['GRAPHITE_WEB_PORT'],
  statsd: ['STATSD_PORT', 'STATSD_MGMT_PORT'],
  influxdb: ['INFLUXDB_PORT', 'INFLUXDB_RPC_PORT'],
  'victoria-metrics': ['VICTORIA_METRICS_PORT'],
  pushgateway: ['PUSHGATEWAY_PORT'],
  alertmanager: ['ALERTMANAGER_PORT'],
};

function urlsFor(name: DaemonName, p: Record<string, number>): Record<string, string> {
  const http = (port: number | undefined) => `http://${HOST}:${port}`;
  switch (name) {
    case 'prometheus':
      return { http: http(p.PROMETHEUS_PORT) };
    case 'node-exporter':
      return { http: http(p.NODE_EXPORTER_PORT), metrics: `${http(p.NODE_EXPORTER_PORT)}/metrics` };
    case 'carbon':
      return {
        plaintext: `tcp://${HOST}:${p.CARBON_PORT}`,
        pickle: `tcp://${HOST}:${p.CARBON_PICKLE_PORT}`,
        cacheQuery: `tcp://${HOST}:${p.CARBON_QUERY_PORT}`,
      };
    case 'graphite-web':
      return { http: http(p.GRAPHITE_WEB_PORT) };
    case 'statsd':
      return { udp: `udp://${HOST}:${p.STATSD_PORT}`, mgmt: `tcp://${HOST}:${p.STATSD_MGMT_PORT}` };
    case 'influxdb':
      return { http: http(p.INFLUXDB_PORT) };
    case 'victoria-metrics':
      return { http: http(p.VICTORIA_METRICS_PORT) };
    case 'pushgateway':
      return { http: http(p.PUSHGATEWAY_PORT) };
    case 'alertmanager':
      return { http: http(p.ALERTMANAGER_PORT) };
  }
}

const handedOut = new Set<number>();

function tryUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, HOST, () => socket.close(() => resolve(true)));
  });
}

/**
 * A loopback port that is free now for TCP and UDP (the kernel picks it from the
 * ephemeral range, so never a port of the contract). Never the same twice per process.
 */
export async function getFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
    });
    if (handedOut.has(port) || !(await tryUdp(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free loopback port found');
}

function runScript(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      DAEMONS_SH,
      args,
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`ops/native-daemons.sh ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve(`${stdout}${stderr}`);
      },
    );
  });
}

// Whatever a test leaves running is stopped when the process exits (also after a failure).
interface LiveDaemon {
  name: DaemonName;
  env: Record<string, string>;
  stateDir: string;
  /** The temp dir startDaemon created for it, removed once nothing live uses it. */
  removeDir?: string;
}
const live = new Map<string, LiveDaemon>();

const exitCleanups: Array<() => void> = [];
/**
 * Runs `cleanup` (synchronous) when the test process exits, also on SIGINT/SIGTERM:
 * the daemons run in their own sessions, so nothing else would stop them.
 * (Shared with native-stack.ts.)
 */
export function registerExitCleanup(cleanup: () => void): void {
  if (exitCleanups.length === 0) {
    process.on('exit', () => {
      for (const fn of exitCleanups.splice(0).reverse()) fn();
    });
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(code));
    }
  }
  exitCleanups.push(cleanup);
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  registerExitCleanup(() => {
    const entries = [...live.values()].reverse(); // graphite-web and statsd before their carbon
    for (const { name, env } of entries) {
      try {
        execFileSync(DAEMONS_SH, ['stop', name], { env: { ...process.env, ...env }, stdio: 'ignore', timeout: 60_000 });
      } catch {
        // best effort at exit
      }
    }
    for (const { removeDir } of entries) if (removeDir) fs.rmSync(removeDir, { recursive: true, force: true });
  });
}

/** Removes `dir`, or hands that job to a live daemon still keeping its state there. */
function removeWhenUnused(dir: string | undefined): void {
  if (!dir) return;
  const user = [...live.values()].find((d) => d.stateDir === dir);
  if (user) user.removeDir = dir;
  else fs.rmSync(dir, { recursive: true, force: true });
}

function prometheusTargets(jobs: ScrapeJob[]): string {
  return jobs
    .map(({ job, targets }) => {
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(job)) throw new Error(`bad scrape job name ${job}`);
      return `${job}=${targets.join(',')}`;
    })
    .join(';');
}

/** Starts `name` and resolves once it answers (see the top of this file). */
export async function startDaemon(name: DaemonName, options: DaemonOptions = {}): Promise<Daemon> {
  if (!(name in OWN_PORTS)) throw new Error(`unknown daemon ${name}`);
  const createdDir = options.stateDir || options.carbon ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), `moex-${name}-`));
  const stateDir = options.stateDir ?? options.carbon?.stateDir ?? (createdDir as string);
  const fixedPorts = options.ports ?? {};

  const baseEnv: Record<string, string> = { STATE_DIR: stateDir, BIND_ADDRESS: HOST };
  if (name === 'alertmanager') {
    // Receivers only from options.env: none from the caller's shell, and no backend on the contract's port.
    for (const key of Object.keys(process.env)) if (key.startsWith('ALERT_')) baseEnv[key] = '';
    baseEnv.ALERT_BACKEND_URL = 'off';
  }
  Object.assign(baseEnv, options.env);
  if (options.carbon) {
    for (const [k, v] of Object.entries(options.carbon.ports)) baseEnv[k] = String(v);
  }
  if (name === 'prometheus') {
    if (options.scrapeTargets) baseEnv.PROMETHEUS_TARGETS = prometheusTargets(options.scrapeTargets);
    if (options.scrapeInterval) baseEnv.PROMETHEUS_SCRAPE_INTERVAL = options.scrapeInterval;
    if (options.rulesDir) baseEnv.PROMETHEUS_RULES_DIR = options.rulesDir;
    baseEnv.ALERTMANAGER_PORT = String(options.alertmanager?.ports.ALERTMANAGER_PORT ?? (await getFreePort()));
  }

  // Free ports can be taken between choosing and binding: retry with new ones.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports: Record<string, number> = {};
    for (const key of OWN_PORTS[name]) ports[key] = fixedPorts[key] ?? (await getFreePort());
    const env = { ...baseEnv };
    for (const [k, v] of Object.entries(ports)) env[k] = String(v);
    try {
      await runScript(['start', name], env);
    } catch (err) {
      lastError = err;
      if (/already in use/.test(String(err)) && Object.keys(fixedPorts).length === 0) continue;
      if (createdDir) fs.rmSync(createdDir, { recursive: true, force: true });
      throw err;
    }
    return makeHandle(name, ports, env, stateDir, createdDir);
  }
  if (createdDir) fs.rmSync(createdDir, { recursive: true, force: true });
  throw lastError;
}

function makeHandle(
  name: DaemonName,
  ports: Record<string, number>,
  env: Record<string, string>,
  stateDir: string,
  createdDir: string | undefined,
): Daemon {
  const key = `${stateDir}\0${name}`;
  installExitHook();
  live.set(key, { name, env, stateDir, removeDir: createdDir });
  const urls = urlsFor(name, ports);
  const mainUrl = urls.http ?? urls.plaintext ?? urls.udp;
  return {
    name,
    url: mainUrl as string,
    urls,
    ports,
    stateDir,
    env,
    async start() {
      await runScript(['start', name], env);
      if (!live.has(key)) live.set(key, { name, env, stateDir, removeDir: createdDir });
    },
    async stop() {
      await runScript(['stop', name], env);
    },
    pid() {
      try {
        const [pid] = fs.readFileSync(path.join(stateDir, 'run', `${name}.pid`), 'utf8').trim().split(/\s+/);
        return pid ? Number(pid) : undefined;
      } catch {
        return undefined;
      }
    },
    async close() {
      await runScript(['stop', name], env);
      const removeDir = live.get(key)?.removeDir;
      live.delete(key);
      removeWhenUnused(removeDir);
    },
  };
}
