import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { createAuthGuard } from './http-auth';
import type { Logger } from './log';
import type { WebConfig } from './web-config';

export type Readiness = { ready: true } | { ready: false; reason: string };

export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** /healthz: the process lives. /readyz: 200 once `readiness` says so, else 503 with the reason. */
export function answerHealth(path: string, res: ServerResponse, readiness: () => Readiness): boolean {
  if (path === '/healthz') {
    writeJson(res, 200, { status: 'ok' });
    return true;
  }
  if (path === '/readyz') {
    const state = readiness();
    writeJson(res, state.ready ? 200 : 503, state.ready ? { status: 'ready' } : { status: 'not ready', reason: state.reason });
    return true;
  }
  return false;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The server every service of ours runs (the backend hands it its Express app): https when the web
 * config has tls_server_config, and basic authentication on every path but /healthz when it has
 * basic_auth_users (lib/http-auth.ts); plain http with neither, or without a web config.
 */
export function createServer(handler: RequestListener, web: WebConfig | null, log: Logger, { authenticate = true } = {}): http.Server {
  const guard = authenticate && web && web.users.size > 0 ? createAuthGuard(web.users, log) : null;
  const guarded: RequestListener = guard ? (req, res) => guard(req, res, () => handler(req, res)) : handler;
  const server = web?.tls ? https.createServer({ cert: web.tls.cert, key: web.tls.key }, guarded) : http.createServer(guarded);
  server.on('clientError', answerMalformedRequest);
  return server;
}

/**
 * A request node's parser refuses (bytes outside ASCII in the request line, oversized headers...)
 * never reaches a handler; it still gets a JSON answer, like every other error.
 */
function answerMalformedRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  // As node's own handler: nothing to answer once an answer has started on this connection.
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (!socket.writable || answering || !err.code?.startsWith('HPE_')) return void socket.destroy();
  const [status, text] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
  const body = JSON.stringify({ error: 'malformed request' });
  // A HEAD answer has no body, or the client reads it as the start of a next answer.
  const head = (err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
  const headers = `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  socket.end(head ? headers : headers + body);
}

/** A small HTTP server for the pollers: /healthz, /readyz and the given GET routes; JSON 404/405/500 otherwise. */
export function createPollerServer(routes: Record<string, Route>, readiness: () => Readiness, log: Logger, web: WebConfig | null = null): http.Server {
  return createServer(
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method !== 'GET' && req.method !== 'HEAD') return writeJson(res, 405, { error: 'method not allowed' });
      if (answerHealth(path, res, readiness)) return;
      const route = routes[path];
      if (!route) return writeJson(res, 404, { error: `no route ${path}` });
      Promise.resolve(route(req, res)).catch((err: unknown) => {
        log.error({ err, path }, 'request failed');
        if (!res.headersSent) writeJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    },
    web,
    log,
  );
}

/** Listens on `host` (LISTEN_ADDRESS; unset: every interface). */
export function listen(server: http.Server, port: number, log: Logger, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      log.info({ port, host, tls: server instanceof https.Server }, 'listening');
      resolve();
    });
  });
}

/**
 * On SIGTERM/SIGINT: run `shutdown` (stop polling, flush sinks, close the server) and exit 0;
 * exit 1 if it takes longer than `graceMs`, so `docker stop` never has to SIGKILL us.
 */
export function exitOnSignals(log: Logger, shutdown: () => Promise<void>, graceMs = 9_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    shutdown().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** A service failing before it runs (port in use...): one line on stderr, exit 1. */
export function exitOnStartupFailure(service: string, err: unknown): never {
  process.stderr.write(`${service} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
