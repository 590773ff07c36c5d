import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the proxy; times are Date.now() milliseconds. */
export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  startedAt: number;
  /** When the last byte of the upstream's answer was passed on. */
  answeredAt: number;
  requestBytes: number;
  responseBytes: number;
}

export interface CountingProxy {
  /** Base URL to give the client instead of the upstream's (path prefix kept). */
  url: string;
  log: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * A transparent HTTP reverse proxy on loopback that records every request: how many, when, and
 * how many body bytes went each way. Put in front of the ISS simulator or InfluxDB, it measures a
 * service's wire cost without touching the service.
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const log: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 0,
      startedAt: Date.now(),
      answeredAt: 0,
      requestBytes: 0,
      responseBytes: 0,
    };
    const upstreamReq = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, agent },
      (upstreamRes) => {
        entry.status = upstreamRes.statusCode ?? 0;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.on('data', (chunk: Buffer) => (entry.responseBytes += chunk.length));
        upstreamRes.on('end', () => {
          entry.answeredAt = Date.now();
          log.push(entry);
        });
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => {
      entry.status = 502;
      entry.answeredAt = Date.now();
      log.push(entry);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.on('data', (chunk: Buffer) => (entry.requestBytes += chunk.length));
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const prefix = target.pathname.replace(/\/+$/, '');
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
