import fs from 'node:fs';
import path from 'node:path';
import { doc, hostname, Problem, type Setting } from './config';

/**
 * WEB_CONFIG_FILE: the exporter-toolkit web configuration (the `--web.config.file` of Prometheus,
 * Alertmanager and node_exporter), read once at start so the whole stack shares one file:
 *
 *   tls_server_config: { cert_file: tls.crt, key_file: tls.key }   # relative to the file's folder
 *   basic_auth_users: { prometheus: $2y$10$... }                   # bcrypt hashes
 *
 * Either part may be absent. A file we cannot honour fully (unreadable, a plain-text password, a
 * client-certificate requirement we do not implement) stops the service: silently serving with less
 * protection than the file asks for would be worse.
 */
export interface WebConfig {
  /** User name → bcrypt hash; empty: no authentication. */
  users: ReadonlyMap<string, string>;
  /** PEM certificate chain and key for an https server; null: plain http. */
  tls: { cert: Buffer; key: Buffer } | null;
}

const TOP_LEVEL_KEYS = new Set(['tls_server_config', 'http_server_config', 'basic_auth_users']);
/** Go's bcrypt writes $2a$; htpasswd and Python write $2b$/$2y$; bcryptjs reads all three. */
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readPem(dir: string, tls: Record<string, unknown>, key: 'cert_file' | 'key_file'): Buffer {
  const file = tls[key];
  if (typeof file !== 'string' || file === '') throw new Problem(`tls_server_config needs both cert_file and key_file`);
  const resolved = path.resolve(dir, file);
  try {
    return fs.readFileSync(resolved);
  } catch (err) {
    throw new Problem(`tls_server_config.${key}: cannot read ${JSON.stringify(resolved)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The parsed file (pure apart from reading the certificate files it names). */
export function parseWebConfig(text: string, dir: string): WebConfig {
  // Loaded here, not at the top: a service without WEB_CONFIG_FILE never pays for the YAML parser.
  const { parse } = require('yaml') as typeof import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Problem(`not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isRecord(doc)) throw new Problem('must be a YAML mapping (tls_server_config, basic_auth_users)');
  const unknown = Object.keys(doc).find((k) => !TOP_LEVEL_KEYS.has(k));
  if (unknown) throw new Problem(`unknown key ${JSON.stringify(unknown)} (known: ${[...TOP_LEVEL_KEYS].join(', ')})`);

  const users = new Map<string, string>();
  const auth = doc.basic_auth_users ?? {};
  if (!isRecord(auth)) throw new Problem('basic_auth_users must map user names to bcrypt hashes');
  for (const [user, hash] of Object.entries(auth)) {
    // The hash is a secret too (it can be attacked offline): never echoed.
    if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) throw new Problem(`basic_auth_users.${user} must be a bcrypt hash ($2y$...), not a password`);
    users.set(user, hash);
  }

  let tls: WebConfig['tls'] = null;
  const tlsConfig = doc.tls_server_config;
  if (tlsConfig !== undefined && tlsConfig !== null) {
    if (!isRecord(tlsConfig)) throw new Problem('tls_server_config must be a mapping with cert_file and key_file');
    const clientAuth = tlsConfig.client_auth_type;
    if (clientAuth !== undefined && clientAuth !== 'NoClientCert') {
      throw new Problem(`tls_server_config.client_auth_type ${JSON.stringify(clientAuth)} is not supported by worker, scraper and backend (only NoClientCert)`);
    }
    if ('cert' in tlsConfig || 'key' in tlsConfig) throw new Problem('tls_server_config: use cert_file and key_file (inline cert/key are not supported)');
    tls = { cert: readPem(dir, tlsConfig, 'cert_file'), key: readPem(dir, tlsConfig, 'key_file') };
  }
  return { users, tls };
}

/** The WEB_CONFIG_FILE setting: unset → null (plain http, no authentication). */
export const webConfigFile: Setting<WebConfig | null> = (raw) => {
  const file = (raw ?? '').trim();
  if (file === '') return null;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Problem(`cannot read the web config: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseWebConfig(text, path.dirname(path.resolve(file)));
};

/** What every HTTP service of ours reads: where it listens (`local up` passes BIND_ADDRESS) and its web config. */
export const httpShape = {
  LISTEN_ADDRESS: doc('the address the service listens on (local up passes BIND_ADDRESS)', hostname('0.0.0.0')),
  WEB_CONFIG_FILE: doc(
    'exporter-toolkit web config: tls_server_config makes the service serve https, basic_auth_users (bcrypt) asks for credentials on every route but /healthz; unset: plain http',
    webConfigFile,
  ),
};
