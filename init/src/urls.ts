/**
 * `./runner.sh urls`: where everything of a running compose stack is. Each published service's URL
 * (host port from docker-compose.yml), whether it answers, the user name and the file holding its
 * password, whether this system trusts the certificate, and a curl line that works as printed.
 * Settings as compose sees them: the shell's environment over .env over the compose defaults.
 * On a host without Node the compose stack says the same: `docker compose run --rm init urls`, and
 * `init` prints it to its log at every start (`docker compose logs init`).
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/config';
import { urlsShape } from './config';

export type UrlsConfig = ReturnType<typeof loadUrlsConfig>;

/** What a user of each published service needs; the port comes from the compose file. */
export interface PublishedService {
  service: string;
  label: string;
  scheme: 'http' | 'https';
  /** Path of the probe (and of the printed URL when it is not the root). */
  path: string;
  user: (c: UrlsConfig) => string | null;
  passwordFile: string | null;
  note?: string;
  /** The same service in the native stack (ops/daemons.ts), when it runs there. */
  native: string | null;
}
const STACK_USER = 'prometheus';
export const PUBLISHED_SERVICES: PublishedService[] = [
  {
    service: 'grafana',
    label: 'Grafana',
    scheme: 'http',
    path: '/api/health',
    user: (c) => c.GRAFANA_ADMIN_USER,
    passwordFile: 'grafana_admin_password',
    native: null,
  },
  {
    service: 'backend',
    label: 'backend (page, /api)',
    scheme: 'https',
    path: '/healthz',
    user: () => STACK_USER,
    passwordFile: 'prometheus_password',
    native: 'backend',
  },
  {
    service: 'prometheus',
    label: 'Prometheus',
    scheme: 'https',
    path: '/-/healthy',
    user: () => STACK_USER,
    passwordFile: 'prometheus_password',
    native: 'prometheus',
  },
  {
    service: 'alertmanager',
    label: 'Alertmanager',
    scheme: 'https',
    path: '/-/healthy',
    user: () => STACK_USER,
    passwordFile: 'prometheus_password',
    native: 'alertmanager',
  },
  {
    service: 'worker-prometheus',
    label: 'worker /metrics',
    scheme: 'https',
    path: '/metrics',
    user: () => STACK_USER,
    passwordFile: 'prometheus_password',
    native: 'worker',
  },
  {
    service: 'graphite',
    label: 'graphite-web',
    scheme: 'http',
    path: '/metrics/find?query=*',
    user: () => null,
    passwordFile: null,
    note: 'reads need no login; Django admin root: graphite_admin_password',
    native: 'graphite-web',
  },
  {
    service: 'influxdb',
    label: 'InfluxDB',
    scheme: 'http',
    path: '/ping',
    user: (c) => c.INFLUXDB_USER,
    passwordFile: 'influxdb_user_password',
    note: 'admin: influxdb_admin_password',
    native: 'influxdb',
  },
  {
    service: 'victoria-metrics',
    label: 'VictoriaMetrics',
    scheme: 'http',
    path: '/health',
    user: () => null,
    passwordFile: null,
    note: 'profile scale',
    native: 'victoria-metrics',
  },
];

/**
 * Settings as compose sees them: the environment over PROJECT_DIR/.env over the defaults. In the
 * init container compose has resolved them already and passes them in.
 */
export function loadUrlsConfig(env: NodeJS.ProcessEnv = process.env) {
  const dotenv = path.join(loadConfig(urlsShape, env).PROJECT_DIR, '.env');
  const fromFile = fs.existsSync(dotenv) ? parseEnv(fs.readFileSync(dotenv, 'utf8')) : {};
  return loadConfig(urlsShape, { ...fromFile, ...env });
}

/** service → published host port, from docker-compose.yml (`${BIND_ADDRESS:-...}:HOST:CONTAINER`). */
export function publishedPorts(composeText: string): Map<string, number> {
  const compose = parse(composeText) as { services: Record<string, { ports?: string[] }> };
  const ports = new Map<string, number>();
  for (const [name, svc] of Object.entries(compose.services)) {
    const first = svc.ports?.[0];
    const host = first ? /:(\d+):\d+$/.exec(first)?.[1] : undefined;
    if (host) ports.set(name, Number(host));
  }
  return ports;
}

/** A PEM body without its armour, to find the same certificate in a bundle. */
const pemBody = (pem: string): string => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

/** The system trust bundle that curl and most clients of this machine read, if there is one. */
function systemBundle(): string | null {
  const candidates = [process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
  const file = candidates.find((f) => f && fs.existsSync(f));
  return file ? fs.readFileSync(file, 'utf8') : null;
}

export function isTrusted(certPem: string, bundle: string | null): boolean {
  return bundle !== null && pemBody(bundle).includes(pemBody(certPem));
}

function probeUrl(url: string, ca: Buffer | undefined, auth: string | undefined): Promise<string> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const req = client.get(url, { timeout: 5000, ca, headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
      res.resume();
      resolve(`answers ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`not answering (${err.code ?? err.message})`));
  });
}

/** The address a user types: a wildcard bind is reached through localhost. */
export const hostOf = (config: UrlsConfig): string => (['0.0.0.0', '::'].includes(config.BIND_ADDRESS) ? 'localhost' : config.BIND_ADDRESS);

/** The URL a user opens: the root, or the metrics page of an exporter. */
export const openedUrl = (entry: PublishedService, base: string): string =>
  entry.path.startsWith('/metrics') && entry.service !== 'graphite' ? base + entry.path : `${base}/`;

/**
 * What `./runner.sh urls` prints, and `init` to its log: each published service's URL, user and
 * password file (paths relative to the clone), then the certificate. With `probe` (the host) each
 * line also says whether the service answers and the certificate line whether this system trusts
 * it; the init container sees neither the host's ports nor its trust store.
 */
export async function urlsReport(config: UrlsConfig, probe: boolean): Promise<string[]> {
  const host = hostOf(config);
  const ports = publishedPorts(fs.readFileSync(path.join(config.PROJECT_DIR, 'docker-compose.yml'), 'utf8'));
  const shown = (file: string) => path.relative(config.PROJECT_DIR, path.join(config.SECRETS_DIR, file)) || file;
  const crtFile = path.join(config.SECRETS_DIR, 'tls.crt');
  const ca = fs.existsSync(crtFile) ? fs.readFileSync(crtFile) : undefined;
  const secretOf = (file: string) => {
    const f = path.join(config.SECRETS_DIR, file);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : undefined;
  };

  const rows = await Promise.all(
    PUBLISHED_SERVICES.filter((e) => ports.has(e.service)).map(async (e) => {
      const base = `${e.scheme}://${host}:${ports.get(e.service)}`;
      const user = e.user(config);
      const password = e.passwordFile ? secretOf(e.passwordFile) : undefined;
      const login = user ? `user ${user}, password in ${shown(e.passwordFile!)}` : 'no login';
      const line = `  ${e.label.padEnd(22)} ${openedUrl(e, base).padEnd(32)} ${login}${e.note ? ` (${e.note.replace(/(\w+_password)/, (f) => shown(f))})` : ''}`;
      if (!probe) return line;
      return `${line}; ${await probeUrl(base + e.path, ca, user && password ? `${user}:${password}` : undefined)}`;
    }),
  );
  const lines = [`The stack's published services (BIND_ADDRESS ${config.BIND_ADDRESS}):`, ...rows];
  if (!ca) return [...lines, `Certificate: ${shown('tls.crt')} is missing: start the stack (docker compose up -d) or run ./runner.sh secrets.`];
  const giveIt = 'give it to clients (curl --cacert, NODE_EXTRA_CA_CERTS) or trust it (docs/security.md)';
  if (!probe) lines.push(`Certificate: ${shown('tls.crt')}, self-signed unless you replaced it: ${giveIt}.`);
  else if (isTrusted(ca.toString('utf8'), systemBundle())) lines.push(`Certificate: ${shown('tls.crt')} is trusted by this system.`);
  else lines.push(`Certificate: ${shown('tls.crt')} is self-signed and not trusted by this system: ${giveIt}.`);
  lines.push(
    `Try: curl --cacert ${shown('tls.crt')} -u "prometheus:$(cat ${shown('prometheus_password')})" 'https://${host}:${ports.get('prometheus')}/api/v1/query?query=up'`,
  );
  return lines;
}

async function main(): Promise<void> {
  const config = loadUrlsConfig();
  console.log((await urlsReport(config, config.URLS_PROBE === 'true')).join('\n'));
}

if (require.main === module) void main();
