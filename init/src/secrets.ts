import fs from 'node:fs';
import path from 'node:path';
import { randomInt, X509Certificate } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { generate } from 'selfsigned';

/**
 * A fresh install's secrets in one folder (docs/security.md): the passwords, the exporter-toolkit
 * web config that holds the stack user's bcrypt hash, and a self-signed certificate. Written by the
 * compose `init` service on first start and by `./runner.sh secrets`; a file that exists is kept
 * unless `force`, so a second run changes nothing and a password a user chose survives.
 */

/** The stack's one user of the web config; prometheus/prometheus.yml and docker-compose.yml name it too. */
export const STACK_USER = 'prometheus';

/** Password and token files, each a different random string. */
export const PASSWORD_FILES = [
  'prometheus_password',
  'grafana_admin_password',
  'influxdb_admin_password',
  'influxdb_user_password',
  'graphite_admin_password',
  // The demo's subscriber token: the ISS simulator asks for it and the pollers send it
  // (`./runner.sh containers up --demo` points MOEX_ISS_TOKEN_FILE here).
  'demo_iss_token',
] as const;

/**
 * Every name a client checks the certificate against: the compose services that serve https
 * (worker-shard replicas are scraped by address, with worker-shard as the TLS server name).
 */
export const CERTIFICATE_NAMES = [
  'localhost',
  'prometheus',
  'node-exporter',
  'alertmanager',
  'worker-prometheus',
  'worker-shard',
  'scraper',
  'backend',
  'iss-sim',
];
const CERTIFICATE_IPS = ['127.0.0.1', '::1'];

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 characters of [A-Za-z0-9]: safe in YAML, URLs, .env and `user:password` tokens. */
export function randomPassword(): string {
  return Array.from({ length: 32 }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
}

/** The web config every https service of the stack reads (paths relative to the file). */
export function webConfigText(hash: string): string {
  return [
    '# exporter-toolkit web configuration, written by the init service / ./runner.sh secrets: read by',
    '# worker, scraper, backend (WEB_CONFIG_FILE), Prometheus, node-exporter and Alertmanager',
    '# (--web.config.file). Paths are relative to this file. See docs/security.md.',
    'tls_server_config:',
    '  cert_file: tls.crt',
    '  key_file: tls.key',
    'basic_auth_users:',
    `  ${STACK_USER}: '${hash}'`,
    '',
  ].join('\n');
}

/** The DNS names of CERTIFICATE_NAMES that the certificate in `pem` does not list. */
export function namesMissingFrom(pem: string): string[] {
  const listed = new Set(
    (new X509Certificate(pem).subjectAltName ?? '')
      .split(/,\s*/)
      .filter((n) => n.startsWith('DNS:'))
      .map((n) => n.slice(4)),
  );
  return CERTIFICATE_NAMES.filter((n) => !listed.has(n));
}

export async function selfSignedCertificate(): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 10);
  const pems = await generate([{ name: 'commonName', value: 'moex-monitoring' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      // Its own CA: clients trust it by naming this one file (curl --cacert, NODE_EXTRA_CA_CERTS).
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...CERTIFICATE_NAMES.map((value) => ({ type: 2 as const, value })), ...CERTIFICATE_IPS.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

export interface SecretsOptions {
  dir: string;
  /** InfluxDB's read/write user: influxdb_token is `<user>:<its password>`. */
  influxUser: string;
  force: boolean;
  say: (line: string) => void;
}

/**
 * Writes what `dir` lacks. Files are 644 inside a 700 folder: the containers' own users (nobody
 * for Prometheus, node for ours) read them through bind mounts; other host users cannot reach them.
 * Run as root (the init container), the folder and what it writes go to the owner of the folder
 * above it (the clone's owner), so the user reads their passwords without sudo.
 */
export async function writeSecrets({ dir, influxUser, force, say }: SecretsOptions): Promise<void> {
  const file = (name: string) => path.join(dir, name);
  const written: string[] = [];
  const wanted = (name: string): boolean => {
    if (force || !fs.existsSync(file(name))) return true;
    say(`kept ${file(name)} (exists; --force replaces it)`);
    return false;
  };
  // Atomically: a half-written secret is never read.
  const write = (name: string, content: string) => {
    const tmp = `${file(name)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content, { mode: 0o644 });
    fs.chmodSync(tmp, 0o644);
    fs.renameSync(tmp, file(name));
    written.push(name);
    say(`wrote ${file(name)}`);
  };

  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o700);
  for (const name of PASSWORD_FILES) if (wanted(name)) write(name, randomPassword());
  // Derived files follow a renewed password.
  const renewed = (name: string) => written.includes(name);
  if (renewed('influxdb_user_password') || wanted('influxdb_token')) {
    write('influxdb_token', `${influxUser}:${fs.readFileSync(file('influxdb_user_password'), 'utf8').trim()}`);
  }
  await writeCertificate(dir, force, say, write);
  if (renewed('prometheus_password') || wanted('web-config.yml')) {
    write('web-config.yml', webConfigText(bcrypt.hashSync(fs.readFileSync(file('prometheus_password'), 'utf8').trim(), 10)));
  }
  giveToParentOwner(dir, written);
}

async function writeCertificate(dir: string, force: boolean, say: (line: string) => void, write: (name: string, content: string) => void): Promise<void> {
  const crt = path.join(dir, 'tls.crt');
  if (!force && fs.existsSync(crt) && fs.existsSync(path.join(dir, 'tls.key'))) {
    // A certificate of an older version may lack a service added since: only then is it replaced
    // (passwords stay; the services read the new files when restarted).
    const missing = namesMissingFrom(fs.readFileSync(crt, 'utf8'));
    if (missing.length === 0) {
      say(`kept ${crt} and tls.key (exist; --force replaces them)`);
      return;
    }
    say(`replacing ${crt} and tls.key: the certificate lacks ${missing.join(', ')} (restart the stack to use the new one)`);
  }
  const { cert, key } = await selfSignedCertificate();
  write('tls.key', key);
  write('tls.crt', cert);
}

function giveToParentOwner(dir: string, written: string[]): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = fs.statSync(path.dirname(path.resolve(dir)));
  if (uid === 0 && gid === 0) return;
  fs.chownSync(dir, uid, gid);
  for (const name of written) fs.chownSync(path.join(dir, name), uid, gid);
}
