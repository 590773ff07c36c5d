/** MOEX_SHARD: N workers together export exactly the series of one unsharded worker, none twice. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { shardOf } from '../../lib/moex/shard';
import { eventually, scrape, startIssSim, startService, type RunningService } from '../support/services';

/** Every board of every market; the simulator scaled to 3,000 securities over them. */
const SOURCES = 'stock/shares/TQBR=ALL;stock/shares/TQTF=ALL;currency/selt/CETS=ALL;stock/index/SNDX=ALL;stock/bonds/TQOB=ALL;futures/forts/RFUD=ALL';
const SCALE = 3000;

/** The quote series (name and labels) a worker exports, once it has polled every board. */
async function quoteSeries(worker: RunningService): Promise<Set<string>> {
  const samples = await eventually(
    async () => {
      const s = await scrape(worker.url);
      return s.get('moex_up') === 1 ? s : null;
    },
    20_000,
    'a complete cycle',
  );
  return new Set([...samples.keys()].filter((k) => /^moex_[a-z_]+\{ticker=/.test(k)));
}

describe('sharded workers', () => {
  test("two shards over a 3,000-security exchange: the union of their series equals one unsharded worker's, with no overlap", async () => {
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

describe('MOEX_SHARD=auto/N', () => {
  test('a replica whose claim is taken over stops exporting that shard, counts it, and claims the free one', async () => {
    const sim = await startIssSim();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shard-claims-'));
    const worker = await startService(
      'worker',
      { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'ALL', POLL_SCHEDULE: '* * * * * *', MOEX_SHARD: 'auto/2', MOEX_SHARD_CLAIM_DIR: dir },
      { waitFor: 'readyz' },
    );
    const shardOfTickers = (s: Map<string, number>) =>
      new Set([...s.keys()].flatMap((k) => (k.startsWith('moex_last_price{') ? [shardOf('TQBR', /ticker="([^"]+)"/.exec(k)![1]!, 2)] : [])));
    try {
      const before = await scrape(worker.url);
      assert.equal(before.get('moex_shard_claim_lost_total'), 0);
      const [first] = [...shardOfTickers(before)] as [number];
      assert.deepEqual([...shardOfTickers(before)], [first], 'one shard exported');
      // Another replica takes the shard over, as after a pause of this one longer than the lease.
      fs.writeFileSync(path.join(dir, `shard-${first}.1.claim`), 'other-replica\ntoken\n');
      const after = await eventually(
        async () => {
          const s = await scrape(worker.url);
          return s.get('moex_shard_claim_lost_total') === 1 && s.get('moex_up') === 1 ? s : null;
        },
        30_000,
        'the loss noticed at the next heartbeat and the other shard polled',
      );
      assert.deepEqual([...shardOfTickers(after)], [1 - first], 'only the newly claimed shard exported');
      assert.match(worker.output(), /shard claim lost to another replica/);
      assert.deepEqual(fs.readdirSync(dir).sort(), [`shard-${1 - first}.claim`, `shard-${first}.1.claim`].sort(), 'its lost claim removed, the new one made');
    } finally {
      await worker.stop();
      await sim.stop();
    }
  });
});
