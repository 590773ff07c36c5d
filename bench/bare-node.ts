import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/services';

/**
 * A bare Node HTTP server in its own process, answering every request with the bytes of
 * `bodyFile` from memory (or "ok"): the floor that any Node service on this machine stands on,
 * for RSS and for serving a body of a given size.
 */
export interface BareNode {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const body = process.env.BODY_FILE ? fs.readFileSync(process.env.BODY_FILE) : Buffer.from('ok');
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function startBareNode(body?: Buffer): Promise<BareNode> {
  let bodyFile = '';
  if (body) {
    bodyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'moex-bench-')), 'body');
    fs.writeFileSync(bodyFile, body);
  }
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', SERVER], { env: { PORT: String(port), BODY_FILE: bodyFile }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare node server exited ${code}`)));
    child.stdout!.once('data', () => resolve());
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
      if (bodyFile) fs.rmSync(path.dirname(bodyFile), { recursive: true, force: true });
    },
  };
}
