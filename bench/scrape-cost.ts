/**
 * 1. Scrape cost at scale: the worker's /metrics under concurrent scrapers, against Prometheus
 * Pushgateway (Go) serving the same moex_* series, pushed from the worker's own output.
 * Rounds alternate ours / reference, so drift on a busy machine hits both alike.
 */
import { startBenchDaemon as startDaemon } from './signals';
import { startIssSim, startService } from '../test/support/services';
import { startBareNode } from './bare-node';
import { countSamples, filterFamilies, getRaw } from './exposition-text';
import { kb, median, ms, num, ratio } from './stats';
import { judge, type Row } from './table';
import { runWrk, type LoadResult } from './wrk';
import type { BenchOptions } from './options';

export const SCRAPE_CONNECTIONS = 32;
const P99_TARGET_MS = 20;
const RPS_TARGET_RATIO = 2;

const ENCODINGS = [
  { name: 'plain', headers: {} },
  { name: 'gzip', headers: { 'Accept-Encoding': 'gzip' } },
] as const;

function summarize(results: LoadResult[]) {
  return {
    rps: median(results.map((r) => r.requestsPerSecond)),
    p50: median(results.map((r) => r.p50Ms)),
    p99: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

const describeLoad = (s: ReturnType<typeof summarize>) => `${num(s.rps)} req/s; p50 ${ms(s.p50)}, p99 ${ms(s.p99)}${s.errors ? `; ${s.errors} errors` : ''}`;

export async function measureScrapeCost(options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const sim = await startIssSim({ LOG_LEVEL: 'warn' });
  const pushgateway = await startDaemon('pushgateway');
  const workers = {
    '3': await startService('worker', { MOEX_ISS_URL: sim.issUrl, LOG_LEVEL: 'warn' }, { waitFor: 'readyz' }),
    ALL: await startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'ALL', LOG_LEVEL: 'warn' }, { waitFor: 'readyz' }),
  };
  try {
    for (const [size, worker] of Object.entries(workers)) {
      const label = size === 'ALL' ? 'MOEX_TICKERS=ALL' : '3 tickers';
      const ours = `${worker.url}/metrics`;
      const reference = `${pushgateway.url}/metrics`;
      const workerText = (await getRaw(ours)).text;
      // Only the moex_* families: the worker's process_* families would clash with Pushgateway's own.
      const pushed = filterFamilies(workerText, /^moex_/);
      const put = await fetch(`${pushgateway.url}/metrics/job/moex-bench`, { method: 'PUT', body: pushed });
      if (!put.ok) throw new Error(`Pushgateway rejected the worker's moex_* series: HTTP ${put.status} ${await put.text()}`);
      const served = (await getRaw(reference)).text;
      const moexSamples = countSamples(workerText, 'moex_');
      if (countSamples(served, 'moex_') !== moexSamples) {
        throw new Error(`Pushgateway serves ${countSamples(served, 'moex_')} moex_ samples, the worker ${moexSamples}`);
      }
      const [oursPlain, oursGzip, refPlain, refGzip] = await Promise.all([getRaw(ours), getRaw(ours, 'gzip'), getRaw(reference), getRaw(reference, 'gzip')]);
      log(`scrape cost, ${label}: ${moexSamples} moex_ samples; body ours ${kb(oursPlain.wireBytes)}, Pushgateway ${kb(refPlain.wireBytes)}`);

      const results: Record<string, { ours: LoadResult[]; reference: LoadResult[] }> = {};
      for (const e of ENCODINGS) results[e.name] = { ours: [], reference: [] };
      // At scale, the plain body is large enough that Node itself sets a floor: a bare Node server
      // answering the same bytes from memory, loaded the same way, shows where that floor is.
      const floor = size === 'ALL' ? await startBareNode(Buffer.from(oursPlain.text)) : null;
      const floorResults: LoadResult[] = [];
      // A short unmeasured load on each side first: JIT and buffers warm, for all alike.
      for (const url of [ours, reference, ...(floor ? [`${floor.url}/metrics`] : [])]) {
        await runWrk({ url, connections: SCRAPE_CONNECTIONS, durationSeconds: 1 });
      }
      for (let round = 0; round < options.loadRounds; round++) {
        for (const e of ENCODINGS) {
          const load = (url: string) => runWrk({ url, connections: SCRAPE_CONNECTIONS, durationSeconds: options.loadSeconds, headers: e.headers });
          if (floor && e.name === 'plain') floorResults.push(await load(`${floor.url}/metrics`));
          // Alternate who goes first, so a slow stretch of the machine does not always hit the same side.
          if (round % 2 === 0) {
            results[e.name]!.ours.push(await load(ours));
            results[e.name]!.reference.push(await load(reference));
          } else {
            results[e.name]!.reference.push(await load(reference));
            results[e.name]!.ours.push(await load(ours));
          }
        }
      }

      await floor?.stop();

      for (const e of ENCODINGS) {
        const o = summarize(results[e.name]!.ours);
        const r = summarize(results[e.name]!.reference);
        const bodies = e.name === 'gzip' ? [oursGzip, refGzip] : [oursPlain, refPlain];
        const atScale = size === 'ALL';
        const ok = o.p99 < P99_TARGET_MS && o.errors === 0 && (!atScale || o.rps >= RPS_TARGET_RATIO * r.rps);
        rows.push({
          section: '1',
          what: `worker /metrics, ${label} (${num(moexSamples)} moex_ samples), ${e.name}, ${SCRAPE_CONNECTIONS} connections; body ${kb(bodies[0]!.wireBytes)} vs ${kb(bodies[1]!.wireBytes)}`,
          ours: describeLoad(o),
          reference: `Pushgateway ${describeLoad(r)}`,
          target: `${ratio(o.rps, r.rps)} req/s${atScale ? ` (≥ ${RPS_TARGET_RATIO.toFixed(1)}x)` : ''}; p99 < ${P99_TARGET_MS} ms`,
          verdict: judge(ok),
        });
      }
      if (floorResults.length) {
        const f = summarize(floorResults);
        const o = summarize(results.plain!.ours);
        rows.push({
          section: '1',
          what: `context: bare Node ${process.version} http server answering the same ${kb(oursPlain.wireBytes)} from memory, plain, ${SCRAPE_CONNECTIONS} connections`,
          ours: `worker ${describeLoad(o)}`,
          reference: `bare Node ${describeLoad(f)}`,
          target: `${ratio(o.rps, f.rps)} of the floor's req/s`,
          verdict: 'info',
        });
      }
      const gzipOk = oursGzip.contentEncoding === 'gzip';
      rows.push({
        section: '1',
        what: `gzip answered to Accept-Encoding: gzip (${label})`,
        ours: gzipOk ? `yes, ${kb(oursGzip.wireBytes)} for ${kb(oursPlain.wireBytes)}` : `no (Content-Encoding ${oursGzip.contentEncoding ?? 'none'})`,
        reference: `Pushgateway: ${refGzip.contentEncoding === 'gzip' ? `yes, ${kb(refGzip.wireBytes)}` : 'no'}`,
        target: 'gzip when asked',
        verdict: judge(gzipOk),
      });
    }
  } finally {
    await Promise.all([...Object.values(workers).map((w) => w.stop()), sim.stop(), pushgateway.close()]);
  }
  return rows;
}
