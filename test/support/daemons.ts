/**
 * Runs ONE real daemon of the stack for a test, through ops/ (the daemon table and its
 * supervisor, as `./runner.sh local` does), on free loopback ports in a temp state dir.
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
 * `ports` maps the stack's port variable names to the ports in use (e.g. CARBON_PORT,
 * CARBON_QUERY_PORT, STATSD_MGMT_PORT). Logs:
 * `${stateDir}/logs/<name>.log`. Every daemon still running when the test process exits
 * is stopped and its temp dir removed, even after a failure; still call close() in after().
 *
 * Also exported: getFreePort() (a loopback port free for TCP and UDP, never handed out
 * twice), REPO_ROOT, registerExitCleanup(fn) (runs fn at exit and on SIGINT/SIGTERM).
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { daemonSpec } from '../../ops/daemons';
import type { ScrapeJob } from '../../ops/prometheus-config';
import { stackSettings, type StackSettings } from '../../ops/stack-settings';
import { runningPid, startDaemon as superviseStart, stopDaemon as superviseStop, stopDaemonNow } from '../../ops/supervisor';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const HOST = '127.0.0.1';

export type DaemonName =
  'prometheus' | 'node-exporter' | 'carbon' | 'graphite-web' | 'statsd' | 'influxdb' | 'victoria-metrics' | 'pushgateway' | 'alertmanager';

export type { ScrapeJob };

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
  /** Extra settings of the stack (e.g. INFLUXDB_DATABASE, WEB_CONFIG_FILE, PROMETHEUS_REMOTE_WRITE_URL). */
  env?: Record<string, string>;
}

export interface Daemon {
  name: DaemonName;
  /** What a client uses (the daemon table's url): http(s)://127.0.0.1:P, tcp://127.0.0.1:P (carbon plaintext), udp://127.0.0.1:P (statsd). */
  url: string;
  /** Port variables -> port. */
  ports: Record<string, number>;
  stateDir: string;
  /** The settings' environment (STATE_DIR, ports, ...). */
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

/** The ports each daemon binds, by variable name (the daemon table's). */
const ownPorts = (name: DaemonName): string[] => daemonSpec(name).ports.map((p) => p.variable);

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

function settingsFor(env: Record<string, string>): StackSettings {
  return stackSettings({ ...process.env, ...env });
}

const quiet = () => {};

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
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
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
    for (const { name, env } of entries) stopDaemonNow(settingsFor(env), name);
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

/** PROMETHEUS_TARGETS, which the stack's settings check. */
const prometheusTargets = (jobs: ScrapeJob[]) => jobs.map(({ job, targets }) => `${job}=${targets.join(',')}`).join(';');

/** Starts `name` and resolves once it answers (see the top of this file). */
export async function startDaemon(name: DaemonName, options: DaemonOptions = {}): Promise<Daemon> {
  daemonSpec(name); // throws for an unknown name
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
    for (const key of ownPorts(name)) ports[key] = fixedPorts[key] ?? (await getFreePort());
    const env = { ...baseEnv };
    for (const [k, v] of Object.entries(ports)) env[k] = String(v);
    try {
      await superviseStart(settingsFor(env), name, quiet);
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

function makeHandle(name: DaemonName, ports: Record<string, number>, env: Record<string, string>, stateDir: string, createdDir: string | undefined): Daemon {
  const key = `${stateDir}\0${name}`;
  installExitHook();
  live.set(key, { name, env, stateDir, removeDir: createdDir });
  return {
    name,
    url: daemonSpec(name).url(settingsFor(env)),
    ports,
    stateDir,
    env,
    async start() {
      await superviseStart(settingsFor(env), name, quiet);
      if (!live.has(key)) live.set(key, { name, env, stateDir, removeDir: createdDir });
    },
    async stop() {
      await superviseStop(settingsFor(env), name, quiet);
    },
    pid() {
      return runningPid(settingsFor(env), name);
    },
    async close() {
      await superviseStop(settingsFor(env), name, quiet);
      const removeDir = live.get(key)?.removeDir;
      live.delete(key);
      removeWhenUnused(removeDir);
    },
  };
}
