import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { daemonStatus, startDaemon, statusLine, stopDaemon, type Say } from './supervisor';
import { REPO_ROOT, type StackSettings } from './stack-settings';

/**
 * `./runner.sh local up [--demo] | down | status`: the whole stack natively, without Docker.
 * Alertmanager first (Prometheus sends to it from its first rule evaluation), then the stores,
 * then (with --demo the ISS simulator and) worker, scraper and backend.
 */

const DAEMONS = ['alertmanager', 'prometheus', 'node-exporter', 'carbon', 'graphite-web', 'statsd', 'influxdb'];
const SERVICES = ['worker', 'scraper', 'backend'];
const DEBIAN_PACKAGES = [
  'prometheus',
  'prometheus-node-exporter',
  'graphite-carbon',
  'graphite-web',
  'python3-gunicorn',
  'influxdb',
  'prometheus-alertmanager',
];

/** What `up` started, in start order: `down` and `status` read it. */
const componentsFile = (s: StackSettings) => path.join(s.stateDir, 'local-stack.components');

function components(s: StackSettings): string[] {
  try {
    const names = fs.readFileSync(componentsFile(s), 'utf8').split('\n').filter(Boolean);
    if (names.length) return names;
  } catch {
    // nothing started yet
  }
  return [...DAEMONS, 'iss-sim', ...SERVICES];
}

function remember(s: StackSettings, name: string): void {
  fs.mkdirSync(s.stateDir, { recursive: true });
  const names = fs.existsSync(componentsFile(s)) ? fs.readFileSync(componentsFile(s), 'utf8').split('\n') : [];
  if (!names.includes(name)) fs.appendFileSync(componentsFile(s), `${name}\n`);
}

/**
 * Where the services find this stack's daemons (the services' own variable names; the caller's
 * values win). Debian's InfluxDB is 1.6, which has no /api/v2/write: INFLUX_API defaults to v1.
 */
export function serviceEnv(s: StackSettings, demo: boolean): NodeJS.ProcessEnv {
  const e = s.env;
  const local = (variable: keyof StackSettings['ports'], scheme: string = s.scheme) => `${scheme}://127.0.0.1:${s.ports[variable]}`;
  return {
    ...e,
    STATSD_HOST: e.STATSD_HOST || '127.0.0.1',
    STATSD_PORT: String(s.ports.STATSD_PORT),
    GRAPHITE_HOST: e.GRAPHITE_HOST || '127.0.0.1',
    GRAPHITE_PORT: String(s.ports.CARBON_PORT),
    INFLUX_URL: e.INFLUX_URL || local('INFLUXDB_PORT', 'http'),
    INFLUX_API: e.INFLUX_API || 'v1',
    INFLUX_DATABASE: s.influxDatabase,
    PROMETHEUS_URL: e.PROMETHEUS_URL || local('PROMETHEUS_PORT'),
    WORKER_URL: e.WORKER_URL || local('WORKER_PORT'),
    SCRAPER_URL: e.SCRAPER_URL || local('SCRAPER_PORT'),
    GRAPHITE_URL: e.GRAPHITE_URL || local('GRAPHITE_WEB_PORT', 'http'),
    ALERTMANAGER_URL: e.ALERTMANAGER_URL || local('ALERTMANAGER_PORT', 'http'),
    // The scraper's durable spool of unsent points, next to the daemons' state.
    SCRAPER_SPOOL_DIR: e.SCRAPER_SPOOL_DIR || path.join(s.stateDir, 'scraper-spool'),
    ...(demo ? { MOEX_ISS_URL: `http://127.0.0.1:${s.ports.ISS_SIM_PORT}/iss` } : {}),
  };
}

export async function up(base: StackSettings, demo: boolean, say: Say): Promise<boolean> {
  const s: StackSettings = { ...base, env: serviceEnv(base, demo) };
  say(`state dir ${s.stateDir} (logs in ${s.stateDir}/logs)`);
  const install = spawnSync(path.join(REPO_ROOT, 'ops', 'ensure-debian-packages.sh'), [...DEBIAN_PACKAGES, 'curl', 'iproute2'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (install.status !== 0) throw new Error('installing the Debian packages failed (see above)');
  const names = [...DAEMONS, ...(demo ? ['iss-sim'] : []), ...SERVICES];
  for (const name of names) {
    remember(s, name);
    if (name === 'worker' && demo) say(`demo: services poll the ISS simulator at ${s.env.MOEX_ISS_URL}`);
    try {
      await startDaemon(s, name, say);
    } catch (err) {
      say(`${name} failed to start (log: ${s.stateDir}/logs/${name}.log); './runner.sh local down' stops what did start`);
      throw err;
    }
  }
  say('Grafana is not installed natively: Debian has no package for it and its own downloads are');
  say('out of reach here. For the dashboards run the compose stack (docker compose up, see README.md).');
  process.stdout.write('\n');
  return status(s);
}

/** Stops exactly what `up` started, in reverse order; nothing stays listening. */
export async function down(s: StackSettings, say: Say): Promise<void> {
  for (const name of components(s).reverse()) await stopDaemon(s, name, say);
  fs.rmSync(componentsFile(s), { force: true });
}

/** One line per part; false when one is not up. */
export async function status(s: StackSettings): Promise<boolean> {
  let ok = true;
  for (const name of components(s)) {
    const st = await daemonStatus(s, name);
    if (st.state !== 'up') ok = false;
    process.stdout.write(`${statusLine(st, s)}\n`);
  }
  process.stdout.write(`${'grafana'.padEnd(17)} ${'n/a'.padEnd(9)} ${''.padEnd(12)} not run natively; use the compose stack (:3000)\n`);
  return ok;
}
