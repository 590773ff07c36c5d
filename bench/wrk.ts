import { spawn } from 'node:child_process';

/** One wrk run's figures. Latencies in milliseconds. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx/3xx, plus socket errors (connect, read, write, timeout). */
  errors: number;
  requests: number;
  transferPerSecond: string;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
}

const running = new Set<ReturnType<typeof spawn>>();
/** A wrk still running when the benchmark stops is ended with it. */
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
}

/** Parses `wrk --latency` output. Exported for a check of the parser. */
export function parseWrk(output: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${output}`);
  const percentile = (p: string) => latencyMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(output)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    errors: non2xx + socketErrors,
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? 0),
    transferPerSecond: /^Transfer\/sec:\s+(\S+)/m.exec(output)?.[1] ?? '',
  };
}

/**
 * Closed-loop HTTP load with wrk (one thread: on a 2-core machine the other core is left to the
 * server under test). Bounded by `durationSeconds`; loopback targets only.
 */
export function runWrk({ url, connections, durationSeconds, headers = {} }: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error(`load targets must be on loopback: ${url}`);
  const args = ['-t1', `-c${connections}`, `-d${durationSeconds}s`, '--timeout', '10s', '--latency'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), (durationSeconds + 30) * 1000);
    child.on('error', (err) => reject(new Error(`wrk could not start (Debian package wrk): ${err.message}`)));
    child.on('exit', (code) => {
      clearTimeout(guard);
      running.delete(child);
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${output}`));
      try {
        resolve(parseWrk(output));
      } catch (err) {
        reject(err);
      }
    });
  });
}
