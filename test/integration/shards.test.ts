/** MOEX_SHARD: N workers together export exactly the series of one unsharded worker, none twice. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, scrape, startIssSim, startService, type RunningService } from '../support/services';

const SOURCES = 'stock/shares/TQBR=ALL;stock/bonds/TQOB=ALL;futures/forts/RFUD=ALL;currency/selt/CETS=USD000UTSTOM,CNYRUB_TOM,EUR_RUB__TOM';

/** The quote series (name and labels) a worker exports, once it has polled every board. */
async function quoteSeries(worker: RunningService): Promise<Set<string>> {
  const samples = await eventually(async () => {
    const s = await scrape(worker.url);
    return s.get('moex_up') === 1 ? s : null;
  }, 20_000, 'a complete cycle');
  return new Set([...samples.keys()].filter((k) => /^moex_[a-z_]+\{ticker=/.test(k)));
}

describe('sharded workers', () => {
  test('two shards: the union of their series equals one unsharded worker\'s, with no overlap', async () => {
    const sim = await startIssSim();
    await sim.control.walk(false);
    const env = { MOEX_ISS_URL: sim.issUrl, MOEX_SOURCES: SOURCES, POLL_SCHEDULE: '*/2 * * * * *' };
    const workers = await Promise.all([
      startService('worker', env, { waitFor: 'readyz' }),
      startService('worker', { ...env, MOEX_SHARD: '0/2' }, { waitFor: 'readyz' }),
      startService('worker', { ...env, MOEX_SHARD: '1/2' }, { waitFor: 'readyz' }),
    ]);
    try {
      const [all, first, second] = (await Promise.all(workers.map(quoteSeries))) as [Set<string>, Set<string>, Set<string>];
      const overlap = [...first].filter((k) => second.has(k));
      assert.deepEqual(overlap, [], 'no series in both shards');
      assert.deepEqual([...first, ...second].sort(), [...all].sort(), 'together exactly the unsharded series');
      const tickers = (set: Set<string>) => new Set([...set].map((k) => /ticker="([^"]+)"/.exec(k)![1]));
      assert.ok(tickers(all).size >= 280, `${tickers(all).size} instruments in all`);
      assert.ok(tickers(first).size > 100 && tickers(second).size > 100, 'both shards carry a real share');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await sim.stop();
    }
  });
});
