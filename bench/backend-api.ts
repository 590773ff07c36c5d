/**
 * 4. Backend: GET /api/quotes under 64 concurrent clients, against asking Prometheus'
 * /api/v1/query directly for the same data (the backend's own QUOTES_PROMQL), with
 * MOEX_TICKERS=ALL. Rounds alternate ours / reference.
 */
import { QUOTES_PROMQL } from '../backend/src/quotes';
import { startBenchDaemon as startDaemon } from './signals';
import { eventually, startIssSim, startService } from '../test/support/services';
import type { BenchOptions } from './options';
import { kb, median, ms, num, ratio } from './stats';
import { judge, type Row } from './table';
import { runWrk, type LoadResult } from './wrk';

const CONNECTIONS = 64;
const RPS_TARGET_RATIO = 2;

const summarize = (results: LoadResult[]) => ({
  rps: median(results.map((r) => r.requestsPerSecond)),
  p50: median(results.map((r) => r.p50Ms)),
  p99: median(results.map((r) => r.p99Ms)),
  errors: results.reduce((sum, r) => sum + r.errors, 0),
});
const describe = (s: ReturnType<typeof summarize>) => `${num(s.rps)} req/s; p50 ${ms(s.p50)}, p99 ${ms(s.p99)}${s.errors ? `; ${s.errors} errors` : ''}`;

export async function measureBackendApi(options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const sim = await startIssSim({ LOG_LEVEL: 'warn' });
    cleanups.push(() => sim.stop());
    const worker = await startService(
      'worker',
      { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'ALL', POLL_SCHEDULE: '* * * * * *', LOG_LEVEL: 'warn' },
      { waitFor: 'readyz' },
    );
    cleanups.push(() => worker.stop());
    const prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: '1s',
    });
    cleanups.push(() => prometheus.close());
    // Throughput from one client address: the per-client rate limit (API_RATE_LIMIT) would answer 429s.
    const backend = await startService(
      'backend',
      { PROMETHEUS_URL: prometheus.url, WORKER_URL: worker.url, LOG_LEVEL: 'warn', API_RATE_LIMIT: '1000000000' },
      { waitFor: 'readyz' },
    );
    cleanups.push(() => backend.stop());

    const ours = `${backend.url}/api/quotes`;
    const reference = `${prometheus.url}/api/v1/query?${new URLSearchParams({ query: QUOTES_PROMQL })}`;
    const quotes = await eventually(
      async () => {
        const body = (await (await fetch(ours)).json()) as { quotes?: unknown[] };
        return (body.quotes?.length ?? 0) >= 250 ? body.quotes! : null;
      },
      60_000,
      'the backend serving 250+ quotes',
    );
    const [oursBytes, refBytes] = await Promise.all(
      [ours, reference].map(async (u) => (await (await fetch(u, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()).byteLength),
    );
    log(`backend: ${quotes.length} quotes; /api/quotes ${kb(oursBytes!)}, Prometheus answer ${kb(refBytes!)}`);

    const results = { ours: [] as LoadResult[], reference: [] as LoadResult[] };
    const load = (url: string) => runWrk({ url, connections: CONNECTIONS, durationSeconds: options.loadSeconds });
    // A short unmeasured load on each side first: JIT and buffers warm, for both alike.
    for (const url of [ours, reference]) await runWrk({ url, connections: CONNECTIONS, durationSeconds: 1 });
    for (let round = 0; round < options.loadRounds; round++) {
      if (round % 2 === 0) {
        results.ours.push(await load(ours));
        results.reference.push(await load(reference));
      } else {
        results.reference.push(await load(reference));
        results.ours.push(await load(ours));
      }
    }
    const o = summarize(results.ours);
    const r = summarize(results.reference);
    return [
      {
        section: '4',
        what: `backend GET /api/quotes, MOEX_TICKERS=ALL (${quotes.length} quotes, ${kb(oursBytes!)}), ${CONNECTIONS} connections, no gzip`,
        ours: describe(o),
        reference: `Prometheus /api/v1/query with the backend's PromQL (${kb(refBytes!)}): ${describe(r)}`,
        target: `${ratio(o.rps, r.rps)} req/s (≥ ${RPS_TARGET_RATIO.toFixed(1)}x)`,
        verdict: judge(o.rps >= RPS_TARGET_RATIO * r.rps && o.errors === 0),
      },
    ];
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
