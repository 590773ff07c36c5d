/**
 * Runs the whole stack natively for a test: `./runner.sh local up [--demo]` on free
 * loopback ports with a temp STATE_DIR, so it never collides with a stack a developer
 * runs on the contract's ports.
 *
 *   const stack = await startNativeStack({ demo: true, env: { POLL_SCHEDULE: '*\/2 * * * * *' } });
 *   stack.urls.backend            // 'http://127.0.0.1:40123'
 *   stack.urls.issSim             // the simulator's ISS base URL (demo only): 'http://127.0.0.1:P/iss'
 *   await stack.status()          // { ok, output } of `./runner.sh local status`
 *   stack.pidOf('carbon')         // the pid the supervisor started carbon as (undefined: not running)
 *   await stack.startPart('carbon') // start that one part again as `up` did (seconds, not a whole `up`)
 *   await stack.stop()            // `./runner.sh local down`, then removes the temp state dir
 *
 * urls: prometheus, nodeExporter, graphiteWeb, carbon (tcp://, plaintext), statsd (udp://),
 * influxdb (database pyexample), worker, scraper, backend, alertmanager, issSim (demo).
 * ports: the stack's port variable names -> port (PROMETHEUS_PORT, CARBON_PORT, ...).
 * Test defaults (override through `env`): PROMETHEUS_SCRAPE_INTERVAL=1s (also the rule
 * evaluation interval), LOG_LEVEL=warn. The services poll on the contract's schedule
 * unless `env.POLL_SCHEDULE` says otherwise. Logs: `${stateDir}/logs/<part>.log`.
 * If `up` fails, what did start is stopped and the error carries the output.
 * A stack still up when the test process exits is brought down then.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serviceEnv } from '../../ops/local-stack';
import { stackSettings } from '../../ops/stack-settings';
import { runningPid, startDaemon } from '../../ops/supervisor';
import { getFreePort, registerExitCleanup, REPO_ROOT } from './daemons';

const RUNNER = path.join(REPO_ROOT, 'runner.sh');

export interface NativeStackOptions {
  /** Start the ISS simulator and point the services at it (default false: real MOEX ISS). */
  demo?: boolean;
  /** the variables of docs/configuration.md and overrides for the services and daemons. */
  env?: Record<string, string>;
  /** Use this state dir (kept after stop) instead of a new temp dir (removed by stop). */
  stateDir?: string;
}

export interface NativeStackUrls {
  prometheus: string;
  nodeExporter: string;
  graphiteWeb: string;
  carbon: string;
  statsd: string;
  influxdb: string;
  worker: string;
  scraper: string;
  backend: string;
  alertmanager: string;
  issSim?: string;
}

export interface NativeStack {
  urls: NativeStackUrls;
  ports: Record<string, number>;
  stateDir: string;
  /** The environment `local up` ran with (ports, STATE_DIR and `env`). */
  env: Record<string, string>;
  status(): Promise<{ ok: boolean; output: string }>;
  /** The pid of one part (ops/daemons.ts name) if that process is alive. */
  pidOf(name: string): number | undefined;
  /** Starts one part that is not running through the supervisor, with the settings `up` used. */
  startPart(name: string): Promise<void>;
  /** `./runner.sh local down`; nothing of this stack listens afterwards. */
  stop(): Promise<void>;
}

const PORT_VARS = [
  'PROMETHEUS_PORT',
  'NODE_EXPORTER_PORT',
  'GRAPHITE_WEB_PORT',
  'CARBON_PORT',
  'CARBON_PICKLE_PORT',
  'CARBON_QUERY_PORT',
  'STATSD_PORT',
  'STATSD_MGMT_PORT',
  'INFLUXDB_PORT',
  'INFLUXDB_RPC_PORT',
  'ISS_SIM_PORT',
  'WORKER_PORT',
  'SCRAPER_PORT',
  'BACKEND_PORT',
  'ALERTMANAGER_PORT',
] as const;

// Variables of the caller's shell that would point this stack elsewhere.
const INHERITED_VARS_TO_DROP = [
  'PORT',
  'STATE_DIR',
  'GRAPHITE_PORT',
  'STATSD_HOST',
  'GRAPHITE_HOST',
  'INFLUX_URL',
  'INFLUX_API',
  'PROMETHEUS_URL',
  'WORKER_URL',
  'SCRAPER_URL',
  'GRAPHITE_URL',
  'ALERTMANAGER_URL',
  'ALERT_BACKEND_URL',
  'MOEX_ISS_URL',
  'PROMETHEUS_TARGETS',
  ...PORT_VARS,
];

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(RUNNER, ['local', ...args], { cwd: REPO_ROOT, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const liveStacks = new Set<{ env: NodeJS.ProcessEnv; removeDir?: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  registerExitCleanup(() => {
    for (const stack of liveStacks) {
      try {
        execFileSync(RUNNER, ['local', 'down'], { cwd: REPO_ROOT, env: stack.env, stdio: 'ignore', timeout: 120_000 });
      } catch {
        // best effort at exit
      }
      if (stack.removeDir) fs.rmSync(stack.removeDir, { recursive: true, force: true });
    }
  });
}

/** Brings the stack up (see the top of this file); resolves once every part answers. */
export async function startNativeStack(options: NativeStackOptions = {}): Promise<NativeStack> {
  const createdDir = options.stateDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'moex-stack-'));
  const stateDir = options.stateDir ?? (createdDir as string);

  const ports: Record<string, number> = {};
  for (const name of PORT_VARS) ports[name] = await getFreePort();

  const inherited: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_VARS_TO_DROP) delete inherited[name];
  const stackEnv: Record<string, string> = {
    STATE_DIR: stateDir,
    PROMETHEUS_SCRAPE_INTERVAL: '1s',
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    ...options.env,
  };
  const env: NodeJS.ProcessEnv = { ...inherited, ...stackEnv };
  // The ports actually used (env may have fixed some).
  for (const name of PORT_VARS) ports[name] = Number(env[name]);

  const entry = { env, removeDir: createdDir };
  installExitHook();
  liveStacks.add(entry);
  // First start may compile the TypeScript services: allow minutes.
  const upResult = await run(['up', ...(options.demo ? ['--demo'] : [])], env, 600_000);
  if (upResult.code !== 0) {
    const down = await run(['down'], env, 120_000);
    liveStacks.delete(entry);
    if (createdDir) fs.rmSync(createdDir, { recursive: true, force: true });
    throw new Error(`./runner.sh local up failed (exit ${upResult.code}):\n${upResult.output}\n--- down:\n${down.output}`);
  }

  const http = (port: number | undefined) => `http://127.0.0.1:${port}`;
  const urls: NativeStackUrls = {
    prometheus: http(ports.PROMETHEUS_PORT),
    nodeExporter: http(ports.NODE_EXPORTER_PORT),
    graphiteWeb: http(ports.GRAPHITE_WEB_PORT),
    carbon: `tcp://127.0.0.1:${ports.CARBON_PORT}`,
    statsd: `udp://127.0.0.1:${ports.STATSD_PORT}`,
    influxdb: http(ports.INFLUXDB_PORT),
    worker: http(ports.WORKER_PORT),
    scraper: http(ports.SCRAPER_PORT),
    backend: http(ports.BACKEND_PORT),
    alertmanager: http(ports.ALERTMANAGER_PORT),
    ...(options.demo ? { issSim: `${http(ports.ISS_SIM_PORT)}/iss` } : {}),
  };

  // What `local up` computes from the same environment: the daemons' settings, the services' variables.
  const settings = () => {
    const base = stackSettings(env);
    return { ...base, env: serviceEnv(base, options.demo ?? false) };
  };
  return {
    urls,
    ports,
    stateDir,
    env: stackEnv,
    pidOf: (name) => runningPid(settings(), name),
    startPart: (name) => startDaemon(settings(), name, () => {}),
    async status() {
      const { code, output } = await run(['status'], env, 60_000);
      return { ok: code === 0, output };
    },
    async stop() {
      const { code, output } = await run(['down'], env, 180_000);
      liveStacks.delete(entry);
      if (code !== 0) throw new Error(`./runner.sh local down failed (exit ${code}):\n${output}`);
      if (createdDir) fs.rmSync(createdDir, { recursive: true, force: true });
    },
  };
}
