/**
 * 6. The durable spool's cost per cycle (SCRAPER_SPOOL_DIR): what each cycle adds to the scraper
 * with both sinks spooled: the graphite and influxdb records appended and fsynced, then taken and
 * acknowledged as a store that is up does (compaction included, amortized). The reference is the
 * same lines through the in-memory queue the scraper uses without a spool, in the same run.
 * In-process, on the file system of the OS temp dir (a real disk here, so fsync costs what it costs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../lib/log';
import { NUMERIC_FIELDS, type NumericField, type Quote } from '../lib/moex/quote';
import { CATALOGUE } from '../iss-sim/src/catalogue';
import { createMemoryQueue, type LineQueue } from '../scraper/src/line-queue';
import { graphitePointsFor, quoteToInfluxPoint } from '../scraper/src/series';
import { openSpool } from '../scraper/src/spool';
import type { BenchOptions } from './options';
import { median, ms, num, quantile } from './stats';
import type { Row } from './table';

const quoteOf = (secid: string, price: number, time: Date): Quote => ({
  ...(Object.fromEntries(NUMERIC_FIELDS.map((f) => [f.field, null])) as Record<NumericField, null>),
  ticker: secid,
  board: 'TQBR',
  engine: 'stock',
  market: 'shares',
  shortName: secid,
  trading: true,
  time,
  delaySeconds: 900,
  last: price,
  bid: price - 0.01,
  offer: price + 0.01,
  open: price,
  high: price * 1.01,
  low: price * 0.99,
  waprice: price,
  prevClose: price * 0.995,
  changePercent: 0.5,
  volume: 1_234_567,
  value: 370_000_000.5,
  trades: 45_678,
});

/** One cycle's lines for both sinks, as the scraper makes them. */
function cycleLines(secids: readonly string[], n: number): { graphite: string[]; influxdb: string[] } {
  const time = new Date(Date.UTC(2025, 2, 3, 7, 0, 0) + n * 30_000);
  const quotes = secids.map((s, i) => quoteOf(s, 100 + i + (n % 7) / 100, time));
  const seconds = { convertTime: (t: string | number | Date | undefined) => String(Math.floor((t as Date).getTime() / 1000)) };
  return {
    graphite: quotes.flatMap((q) => graphitePointsFor(q, 'stocks').map((p) => `${p.path} ${p.value} ${p.timestamp}`)),
    influxdb: quotes.flatMap((q) => quoteToInfluxPoint(q, 'stocks')?.toLineProtocol(seconds) ?? []),
  };
}

function runCycles(queues: LineQueue[], secids: readonly string[], cycles: number): { push: number[]; settle: number[] } {
  const push: number[] = [];
  const settle: number[] = [];
  for (let n = 0; n < cycles; n++) {
    const lines = cycleLines(secids, n);
    const [graphite, influxdb] = queues as [LineQueue, LineQueue];
    let t = performance.now();
    graphite.push(lines.graphite);
    influxdb.push(lines.influxdb);
    push.push(performance.now() - t);
    t = performance.now();
    for (const q of queues) while (q.unsent > 0) q.accepted(q.take(500).length);
    settle.push(performance.now() - t);
  }
  return { push, settle };
}

export async function measureSpoolCost(options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const cycles = options.quick ? 100 : 400;
  const quiet = createLogger('bench', 'silent');
  const nothing = { dropped() {} };
  for (const [label, secids] of [
    ['3 tickers', ['SBERP', 'SBER', 'GAZP']],
    ['MOEX_TICKERS=ALL', CATALOGUE.map((l) => l.secid)],
  ] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-spool-'));
    try {
      const spools = ['graphite', 'influxdb'].map((name) =>
        openSpool({ dir, name, maxBytes: 64 * 1024 * 1024 }, { ...nothing, bytes() {}, replayed() {}, corrupt() {}, refused() {} }, quiet),
      );
      const spooled = runCycles(spools, secids, cycles);
      for (const s of spools) s.close();
      const memory = runCycles([createMemoryQueue(200_000, nothing), createMemoryQueue(200_000, nothing)], secids, cycles);
      const perCycle = (r: { push: number[]; settle: number[] }) => r.push.map((p, i) => p + r.settle[i]!);
      const ours = perCycle(spooled);
      const reference = perCycle(memory);
      const lines = cycleLines(secids, 0);
      log(`spool, ${label}: append+fsync median ${ms(median(spooled.push))}, p99 ${ms(quantile(spooled.push, 0.99))}`);
      rows.push({
        section: '7',
        what: `scraper spool cost per cycle, ${label} (${secids.length} securities: ${lines.graphite.length} graphite + ${lines.influxdb.length} influxdb lines), ${cycles} cycles`,
        ours: `median ${ms(median(ours))} (append + fsync ${ms(median(spooled.push))}, p99 ${ms(quantile(spooled.push, 0.99))}; take + acknowledge ${ms(median(spooled.settle))})`,
        reference: `in-memory queue (no SCRAPER_SPOOL_DIR): median ${ms(median(reference))}`,
        target: `adds ${num((median(ours) / 30_000) * 100, 3)}% of the default 30 s poll period (sync I/O: the event loop waits); no target`,
        verdict: 'info',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
