import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { StackSettings } from './stack-settings';

/** Readiness probes of the native stack: each true when the daemon answers as its clients need it. */

/** A 2xx answer; with the web config, trusting its certificate and sending the stack's user. */
export function httpOk(url: string, s: StackSettings): Promise<boolean> {
  const target = new URL(url);
  const auth = s.web?.auth ? `${s.web.auth.username}:${fs.readFileSync(s.web.auth.passwordFile, 'utf8').trim()}` : undefined;
  const options = { timeout: 3000, ...(auth ? { auth } : {}), ...(s.web?.cert && target.protocol === 'https:' ? { ca: fs.readFileSync(s.web.cert) } : {}) };
  return new Promise((resolve) => {
    const req = (target.protocol === 'https:' ? https : http).get(target, options, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/** True when something accepts connections on host:port. */
export function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** True when the port cannot be bound on `address` because another socket holds it. */
export function portHeld(address: string, port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    const held = (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE');
    if (protocol === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', held);
      socket.bind(port, address, () => socket.close(() => resolve(false)));
      return;
    }
    const server = net.createServer();
    server.once('error', held);
    server.listen(port, address, () => server.close(() => resolve(false)));
  });
}

/** StatsD's management port answers `health` with `health: up`. */
export function statsdHealthy(host: string, mgmtPort: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: mgmtPort, timeout: 3000 }, () => socket.write('health\n'));
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\n')) {
        socket.destroy();
        resolve(reply.startsWith('health: up'));
      }
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}
