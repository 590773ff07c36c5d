/** MOEX_SHARD: N workers together export exactly the series of one unsharded worker, none twice. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, scrape, startIssSim, startService, type RunningService } from '../support/services';

/** Every board of every market; the simulator scaled to 3,000 securities over them. */
const SOURCES = 'stock/shares/TQBR=ALL;stock/shares/TQTF=ALL;currency/selt/CETS=ALL;stock/index/SNDX=ALL;stock/bonds/TQOB=ALL;futures/forts/RFUD=ALL';
const SCALE = 3000;

/** The quote series (name and labels) a worker exports, once it has polled every board. */
async function quoteSeries(worker: RunningService): Promise<Set<string>> {
  const samples = await eventually(async () => {
    const s = await scrape(worker.url);
    return s.get('moex_up') === 1 ? s : null;
  }, 20_000, 'a complete cycle');
  return new Set([...samples.keys()].filter((k) => /^moex_[a-z_]+\{ticker=/.test(k)));
}

describe('sharded workers', () => {
  test('two shards over a 3,000-security exchange: the union of their series equals one unsharded worker\'s, with no overlap', async () => {
    const sim = await startIssSim({ ISS_SIM_SCALE: String(SCALE) });
    await sim.control.walk(false);
    const env = { MOEX_ISS_URL: sim.issUrl, MOEX_SOURCES: SOURCES, POLL_SCHEDULE: '*/3 * * * * *' };
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
      assert.equal(tickers(all).size, SCALE, 'every security of the exchange');
      assert.ok(tickers(first).size > SCALE * 0.4 && tickers(second).size > SCALE * 0.4, `shards of ${tickers(first).size} and ${tickers(second).size}`);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await sim.stop();
    }
  });
});
