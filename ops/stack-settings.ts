import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { check, hostname, httpUrl, matching, parseConfig, port, positiveInt, Problem, text, type Setting } from '../lib/config';
import type { ScrapeJob, ScrapeSecurity } from './prometheus-config';

/**
 * The native stack's settings: environment → typed, validated, once (a bad value: exit 2 and one
 * line naming the variable, as the services do). Ports come from the daemon table's defaults.
 */

export const REPO_ROOT = path.resolve(__dirname, '..', ...(path.basename(path.resolve(__dirname, '..')) === 'dist' ? ['..'] : []));

/** Every port the stack binds: variable → default (the compose stack's ports). */
export const PORT_DEFAULTS = {
  PROMETHEUS_PORT: 9090,
  NODE_EXPORTER_PORT: 9100,
  GRAPHITE_WEB_PORT: 18000,
  CARBON_PORT: 2003,
  CARBON_PICKLE_PORT: 2004,
  CARBON_QUERY_PORT: 7002,
  STATSD_PORT: 8125,
  STATSD_MGMT_PORT: 8126,
  INFLUXDB_PORT: 8086,
  INFLUXDB_RPC_PORT: 8088,
  VICTORIA_METRICS_PORT: 8428,
  PUSHGATEWAY_PORT: 9091,
  ALERTMANAGER_PORT: 9093,
  ISS_SIM_PORT: 8999,
  WORKER_PORT: 8000,
  SCRAPER_PORT: 8001,
  BACKEND_PORT: 8998,
} as const;
export type PortVariable = keyof typeof PORT_DEFAULTS;

/** What the native daemons and our services need to know of WEB_CONFIG_FILE (docs/security.md). */
export interface WebConfigFacts {
  file: string;
  /** Absolute path of tls_server_config.cert_file: https, and the certificate clients trust. */
  cert?: string;
  /** The stack's user, when the file has basic_auth_users. */
  auth?: { username: string; passwordFile: string };
}

/** `job=host:port[,host:port][;job2=...]`: replaces every scrape job of the native prometheus.yml. */
const scrapeTargets: Setting<ScrapeJob[] | undefined> = (raw) => {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(';')
    .filter(Boolean)
    .map((spec) => {
      const [job, targets] = spec.split('=', 2) as [string, string | undefined];
      if (targets === undefined || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(job)) throw new Problem(`'${spec}' is not job=host:port[,host:port]`);
      const list = targets.split(',');
      const bad = list.find((t) => !/^[A-Za-z0-9._-]+:[0-9]+$/.test(t));
      if (bad !== undefined) throw new Problem(`'${bad}' is not host:port`);
      return { job, targets: list };
    });
};

const optional =
  <T>(setting: Setting<T>): Setting<T | undefined> =>
  (raw) =>
    raw === undefined || raw.trim() === '' ? undefined : setting(raw);

const shape = {
  STATE_DIR: text(path.join(REPO_ROOT, '.state')),
  BIND_ADDRESS: hostname('127.0.0.1'),
  READY_TIMEOUT: positiveInt(90),
  STOP_TIMEOUT: positiveInt(30),
  INFLUXDB_DATABASE: matching('pyexample', /^[A-Za-z0-9_-]+$/, 'must be a database name (letters, digits, _ and -)'),
  PROMETHEUS_SCRAPE_INTERVAL: optional(matching('', /^[0-9]+(ms|s|m|h)$/, 'must be a duration like 1s or 15s')),
  PROMETHEUS_RETENTION: matching('15d', /^[0-9]+(ms|s|m|h|d|w|y)$/, 'must be a duration like 15d'),
  PROMETHEUS_TARGETS: scrapeTargets,
  PROMETHEUS_REMOTE_WRITE_URL: optional(check(httpUrl(''), (v) => !/[\s"]/.test(v), 'must not contain spaces or quotes')),
  PROMETHEUS_RULES_DIR: text(path.join(REPO_ROOT, 'prometheus', 'rules')),
  VICTORIA_METRICS_RETENTION: matching('1', /^[0-9]+[hdwy]?$/, 'must be a retention like 1 (month) or 7d'),
  WEB_CONFIG_FILE: optional(text('')),
  PROMETHEUS_USERNAME: text('prometheus'),
  PROMETHEUS_PASSWORD_FILE: optional(text('')),
  // InfluxDB with authentication, as compose runs it: the user (created at first start, with every
  // privilege) and the file holding its password; unset = InfluxDB without authentication.
  // How many whisper files carbon updates a second: its cache holds a point until then (carbon's default 500).
  CARBON_MAX_UPDATES_PER_SECOND: positiveInt(500),
  INFLUXDB_USER: optional(matching('', /^[A-Za-z0-9_-]+$/, 'must be a user name (letters, digits, _ and -)')),
  INFLUXDB_USER_PASSWORD_FILE: optional(text('')),
  ...(Object.fromEntries(Object.entries(PORT_DEFAULTS).map(([name, value]) => [name, port(value)])) as Record<PortVariable, Setting<number>>),
};

export interface StackSettings {
  stateDir: string;
  bindAddress: string;
  /** Where clients connect: a wildcard bind is still reached through loopback. */
  host: string;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  ports: Record<PortVariable, number>;
  web: WebConfigFacts | null;
  scheme: 'http' | 'https';
  influxDatabase: string;
  /** INFLUXDB_USER: InfluxDB runs with authentication and this user; the services write and read as it. */
  influxAuth: { username: string; passwordFile: string } | null;
  carbonMaxUpdatesPerSecond: number;
  prometheus: { interval?: string; retention: string; targets?: ScrapeJob[]; remoteWriteUrl?: string; rulesDir: string };
  victoriaMetricsRetention: string;
  /** The environment every child process starts from (the caller's, plus what the web config needs). */
  env: NodeJS.ProcessEnv;
}

function webConfigFacts(file: string, username: string, passwordFile: string | undefined): WebConfigFacts {
  let doc: { tls_server_config?: { cert_file?: string }; basic_auth_users?: Record<string, string> } | null;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Problem(`cannot read '${file}' as a web config: ${(err as Error).message.split('\n')[0]}`);
  }
  const certFile = doc?.tls_server_config?.cert_file;
  const hasUsers = Object.keys(doc?.basic_auth_users ?? {}).length > 0;
  // `./runner.sh secrets` writes the stack's password next to the web config.
  const besideIt = path.join(path.dirname(file), 'prometheus_password');
  const password = passwordFile ?? (fs.existsSync(besideIt) ? besideIt : undefined);
  if (hasUsers && !password) throw new Problem('has basic_auth_users: set PROMETHEUS_PASSWORD_FILE (the password Prometheus scrapes with)');
  return {
    file,
    ...(certFile ? { cert: path.resolve(path.dirname(file), certFile) } : {}),
    ...(hasUsers ? { auth: { username, passwordFile: path.resolve(password as string) } } : {}),
  };
}

/** Reads and checks the stack's settings from `env`; throws ConfigError for the first bad one. */
export function stackSettings(env: NodeJS.ProcessEnv): StackSettings {
  // GRAPHITE_PORT is the services' name for carbon's plaintext port.
  const c = parseConfig(shape, { ...env, CARBON_PORT: env.CARBON_PORT || env.GRAPHITE_PORT, INFLUXDB_DATABASE: env.INFLUXDB_DATABASE || env.INFLUX_DATABASE });
  let web: WebConfigFacts | null = null;
  if (c.WEB_CONFIG_FILE) {
    const file = path.resolve(c.WEB_CONFIG_FILE);
    web = parseConfig({ WEB_CONFIG_FILE: () => webConfigFacts(file, c.PROMETHEUS_USERNAME, c.PROMETHEUS_PASSWORD_FILE) }, {}).WEB_CONFIG_FILE;
  }
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (web) {
    childEnv.WEB_CONFIG_FILE = web.file;
    if (web.cert) childEnv.NODE_EXTRA_CA_CERTS = env.NODE_EXTRA_CA_CERTS || web.cert;
    if (web.auth) Object.assign(childEnv, { PROMETHEUS_USERNAME: web.auth.username, PROMETHEUS_PASSWORD_FILE: web.auth.passwordFile });
  }
  const influxAuth = c.INFLUXDB_USER
    ? parseConfig(
        {
          INFLUXDB_USER_PASSWORD_FILE: () => {
            if (!c.INFLUXDB_USER_PASSWORD_FILE) throw new Problem('must name the password file of INFLUXDB_USER');
            return { username: c.INFLUXDB_USER!, passwordFile: path.resolve(c.INFLUXDB_USER_PASSWORD_FILE) };
          },
        },
        {},
      ).INFLUXDB_USER_PASSWORD_FILE
    : null;
  const ports = Object.fromEntries(Object.keys(PORT_DEFAULTS).map((k) => [k, c[k as PortVariable]])) as Record<PortVariable, number>;
  return {
    stateDir: path.resolve(c.STATE_DIR),
    bindAddress: c.BIND_ADDRESS,
    host: c.BIND_ADDRESS === '0.0.0.0' ? '127.0.0.1' : c.BIND_ADDRESS,
    readyTimeoutMs: c.READY_TIMEOUT * 1000,
    stopTimeoutMs: c.STOP_TIMEOUT * 1000,
    ports,
    web,
    scheme: web?.cert ? 'https' : 'http',
    influxDatabase: c.INFLUXDB_DATABASE,
    influxAuth,
    carbonMaxUpdatesPerSecond: c.CARBON_MAX_UPDATES_PER_SECOND,
    prometheus: {
      retention: c.PROMETHEUS_RETENTION,
      rulesDir: path.resolve(c.PROMETHEUS_RULES_DIR),
      ...(c.PROMETHEUS_SCRAPE_INTERVAL ? { interval: c.PROMETHEUS_SCRAPE_INTERVAL } : {}),
      ...(c.PROMETHEUS_TARGETS ? { targets: c.PROMETHEUS_TARGETS } : {}),
      ...(c.PROMETHEUS_REMOTE_WRITE_URL ? { remoteWriteUrl: c.PROMETHEUS_REMOTE_WRITE_URL } : {}),
    },
    victoriaMetricsRetention: c.VICTORIA_METRICS_RETENTION,
    env: childEnv,
  };
}

/** How Prometheus scrapes this stack's targets: the web config's certificate and user, or plain http. */
export function scrapeSecurity(s: StackSettings): ScrapeSecurity {
  return {
    ...(s.web?.cert ? { caFile: s.web.cert } : {}),
    ...(s.web?.auth ? { basicAuth: s.web.auth } : {}),
  };
}
