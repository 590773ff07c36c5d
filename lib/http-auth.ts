import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './log';

/**
 * HTTP basic authentication against the bcrypt hashes of the web config (exporter-toolkit's
 * `basic_auth_users`), shared by the pollers' shell and the backend's Express app.
 *
 * bcrypt is slow on purpose (~50-100 ms per check at cost 10) and Prometheus sends the same
 * credentials every scrape, so a success is remembered for CACHE_TTL_MS as a SHA-256 digest of
 * user, password and hash (never the password itself), compared in constant time; exporter-toolkit
 * caches the same way. An unknown user is checked against a dummy hash so that the answer takes as
 * long as for a known one.
 */
export type AuthResult = { ok: true; user: string } | { ok: false; user: string | null };

const CACHE_TTL_MS = 60_000;
/** Bounds the cache: many valid users is not a case this stack has. */
const CACHE_MAX_USERS = 100;
const REALM = 'moex-monitoring';
// A bcrypt hash (cost 10) of a random string nobody knows: only spends the time a real check would.
const DUMMY_HASH = '$2b$10$T3Jj5pLJMGlkhW1x.7JusOMK8UQGRU/ZSI6NGPXRZ/7Rem2BAdFx.';

function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The Authorization header a client of ours sends; no user name: none. */
export function basicAuthHeader(user: string, password: string): Record<string, string> {
  return user === '' ? {} : { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

const digestOf = (user: string, password: string, hash: string) => createHash('sha256').update(`${user}\0${password}\0${hash}`).digest();

/** Checks an Authorization header against `users` (user → bcrypt hash). */
export function createBasicAuthCheck(users: ReadonlyMap<string, string>) {
  const remembered = new Map<string, { digest: Buffer; expires: number }>();
  // Required here, not at the top: a service without basic auth never loads bcrypt.
  const bcrypt = require('bcryptjs') as typeof import('bcryptjs');

  return async (authorization: string | undefined): Promise<AuthResult> => {
    const credentials = parseBasic(authorization);
    if (!credentials) return { ok: false, user: null };
    const { user, password } = credentials;
    const hash = users.get(user);
    const digest = digestOf(user, password, hash ?? DUMMY_HASH);
    const cached = remembered.get(user);
    if (hash !== undefined && cached && cached.expires > Date.now() && timingSafeEqual(cached.digest, digest)) return { ok: true, user };

    const match = await bcrypt.compare(password, hash ?? DUMMY_HASH);
    if (!match || hash === undefined) return { ok: false, user };
    if (remembered.size >= CACHE_MAX_USERS && !remembered.has(user)) remembered.clear();
    remembered.set(user, { digest, expires: Date.now() + CACHE_TTL_MS });
    return { ok: true, user };
  };
}

/** Paths anyone may ask for: liveness only (an orchestrator's probe carries no credentials). */
const OPEN_PATHS = new Set(['/healthz']);

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

/**
 * A guard usable as Express middleware and in a plain node:http handler: calls `next()` for an
 * open path or valid credentials, else answers 401 with `WWW-Authenticate`. A refused attempt is
 * logged with its user name and client address, never with the password.
 */
export function createAuthGuard(users: ReadonlyMap<string, string>, log: Logger) {
  const check = createBasicAuthCheck(users);
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (OPEN_PATHS.has(pathOf(req))) return next();
    check(req.headers.authorization).then(
      (result) => {
        if (result.ok) return next();
        if (result.user !== null) log.warn({ user: result.user, path: pathOf(req), remote: req.socket.remoteAddress }, 'authentication failed');
        const body = JSON.stringify({ error: 'unauthorized' });
        res.writeHead(401, {
          'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(body);
      },
      (err: unknown) => {
        log.error({ err }, 'authentication check failed');
        res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' }).end('{"error":"internal error"}');
      },
    );
  };
}
