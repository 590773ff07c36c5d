import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The poll itself, as a floor: a bare Node process that, every `periodMs`, GETs the same board
 * URLs a poller does (gzip, four at a time, keep-alive), gunzips and JSON.parses each answer and
 * does nothing else. Any poller pays at least this per cycle; what the worker or scraper spends
 * above it is theirs (quotes, metrics, exposition, sinks).
 */
export interface BarePoll {
  pid: number;
  /** Cycles completed so far (read from the child's stdout). */
  cycles(): number;
  stop(): Promise<void>;
}

const POLLER = `
const http = require('node:http');
const zlib = require('node:zlib');
const urls = JSON.parse(process.env.URLS);
const agent = new http.Agent({ keepAlive: true });
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, { agent, headers: { 'Accept-Encoding': 'gzip', Accept: 'application/json' } }, (res) => {
    const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(zlib.createGunzip()) : res;
    const chunks = [];
    body.on('data', (c) => chunks.push(c));
    body.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    body.on('error', reject);
  }).on('error', reject);
});
async function cycle() {
  let next = 0;
  const lane = async () => { while (next < urls.length) await get(urls[next++]); };
  await Promise.all([lane(), lane(), lane(), lane()]);
  process.stdout.write('cycle\\n');
}
let running = false;
const tick = () => { if (running) return; running = true; cycle().catch((e) => process.stderr.write(String(e) + '\\n')).finally(() => { running = false; }); };
tick();
setInterval(tick, Number(process.env.PERIOD_MS));
`;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function startBarePoll(urls: readonly string[], periodMs: number): BarePoll {
  const child = spawn(process.execPath, ['-e', POLLER], {
    env: { URLS: JSON.stringify(urls), PERIOD_MS: String(periodMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let cycles = 0;
  child.stdout!.on('data', (d: Buffer) => (cycles += d.toString().split('cycle').length - 1));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    pid: child.pid!,
    cycles: () => cycles,
    async stop() {
      children.delete(child);
      child.kill('SIGTERM');
      await exited;
    },
  };
}
