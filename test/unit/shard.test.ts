import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, test } from 'node:test';
import { parseConfig, moexShape, ConfigError } from '../../lib/config';
import { shardOf, sourcesOfShard } from '../../lib/moex/shard';
import { claimShard } from '../../lib/shard-claim';
import { SLOT, startReplica } from '../support/shard-replica';

describe('MOEX_SHARD', () => {
  test('every instrument is in exactly one shard, the same on every run, spread evenly', () => {
    const secids = Array.from({ length: 3000 }, (_, i) => `SIM${i}`);
    for (const count of [2, 3, 7]) {
      const sizes = new Array(count).fill(0);
      for (const secid of secids) {
        const shard = shardOf('TQBR', secid, count);
        assert.ok(shard >= 0 && shard < count);
        assert.equal(shardOf('tqbr', secid.toLowerCase(), count), shard, 'case does not move an instrument');
        sizes[shard]++;
      }
      for (const size of sizes) assert.ok(Math.abs(size - 3000 / count) < (3000 / count) * 0.15, `shard sizes ${sizes.join(',')}`);
    }
    assert.equal(shardOf('TQBR', 'SBER', 2), shardOf('TQBR', 'SBER', 2));
  });

  test('listed tickers are split, a board left empty is not polled, ALL boards go to every shard', () => {
    const sources = [
      { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares' as const, tickers: ['SBERP', 'SBER', 'GAZP', 'LKOH', 'ROSN', 'VTBR'] },
      { engine: 'stock', market: 'bonds', board: 'TQOB', kind: 'bonds' as const, tickers: 'ALL' as const },
    ];
    const parts = [0, 1].map((index) => sourcesOfShard(sources, { index, count: 2 }));
    const tqbr = parts.flatMap((p) => p.filter((s) => s.board === 'TQBR').flatMap((s) => s.tickers as string[]));
    assert.deepEqual([...tqbr].sort(), [...sources[0]!.tickers].sort(), 'union is the whole list, no overlap');
    for (const p of parts) assert.ok(p.some((s) => s.board === 'TQOB' && s.tickers === 'ALL'));
    const lonely = sourcesOfShard([{ ...sources[0]!, tickers: ['SBER'] }], { index: 1 - shardOf('TQBR', 'SBER', 2), count: 2 });
    assert.deepEqual(lonely, []);
  });

  test('config: i/N with 0 <= i < N; anything else exits 2 naming the variable', () => {
    assert.deepEqual(parseConfig(moexShape, { MOEX_SHARD: '1/3' }).MOEX_SHARD, { index: 1, count: 3 });
    assert.equal(parseConfig(moexShape, {}).MOEX_SHARD, null);
    assert.deepEqual(parseConfig(moexShape, { MOEX_SHARD: 'auto/4' }).MOEX_SHARD, { auto: true, count: 4 });
    for (const bad of ['3/3', '1', 'a/b', '0/0', '-1/2', 'auto/0']) {
      assert.throws(
        () => parseConfig(moexShape, { MOEX_SHARD: bad }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'MOEX_SHARD',
        bad,
      );
    }
  });
});

describe('MOEX_SHARD=auto/N claims', () => {
  const log = pino({ level: 'silent' });
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'shard-claims-'));

  test('replicas take distinct shards; one too many waits until a claim is released', async () => {
    const dir = tmp();
    const a = await claimShard(dir, 2, 'a', log, { leaseMs: 50 });
    const b = await claimShard(dir, 2, 'b', log, { leaseMs: 50 });
    assert.deepEqual([a.index, b.index].sort(), [0, 1]);
    const waiting = claimShard(dir, 2, 'c', log, { leaseMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    a.release();
    const c = await waiting;
    assert.equal(c.index, a.index, 'the freed shard');
    b.release();
    c.release();
    assert.deepEqual(fs.readdirSync(dir), [], 'released claims are removed');
  });

  test('a claim nobody renews (a killed replica) is taken over; a renewed one is not', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'shard-0.claim'), 'dead\n');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dir, 'shard-0.claim'), past, past);
    const live = await claimShard(dir, 2, 'live', log, { leaseMs: 20 });
    assert.equal(live.index, 0, 'took over the stale claim');
    await new Promise((resolve) => setTimeout(resolve, 100)); // several leases: renewed, so not stale
    const other = await claimShard(dir, 2, 'other', log, { leaseMs: 20 });
    assert.equal(other.index, 1);
    const abort = new AbortController();
    const third = claimShard(dir, 2, 'third', log, { leaseMs: 20, signal: abort.signal });
    setTimeout(() => abort.abort(new Error('gave up')), 150);
    await assert.rejects(third, /gave up/, 'live claims are never taken over');
    live.release();
    other.release();
  });
});

describe('MOEX_SHARD=auto/N takeover race', () => {
  test('three replicas race for one stale claim, 200 rounds: exactly one holds it at every step', async () => {
    const ROUNDS = 200;
    const REPLICAS = 3;
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'shard-race-'));
    const control = new SharedArrayBuffer(8 * Int32Array.BYTES_PER_ELEMENT);
    const shared = new Int32Array(control);
    const replicas = Array.from({ length: REPLICAS }, (_, i) => startReplica({ name: `replica-${i}`, base, rounds: ROUNDS, holdMs: 25, control }));
    const finished = new Map<number, number>();
    const roundDone = new Map<number, () => void>();
    for (const replica of replicas) {
      replica.on('error', (err) => assert.fail(err));
      replica.on('message', (round: number) => {
        finished.set(round, (finished.get(round) ?? 0) + 1);
        if (finished.get(round) === REPLICAS) roundDone.get(round)?.();
      });
    }
    const past = new Date(Date.now() - 60_000);
    let winsBefore = 0;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        // The round's shard: a claim of a replica that died a minute ago, so every replica sees it stale.
        const dir = path.join(base, String(round));
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'shard-0.claim'), 'dead\n');
        fs.utimesSync(path.join(dir, 'shard-0.claim'), past, past);
        const done = new Promise<void>((resolve) => roundDone.set(round, resolve));
        Atomics.store(shared, SLOT.round, round);
        Atomics.notify(shared, SLOT.round);
        await done;
        const wins = Atomics.load(shared, SLOT.wins);
        assert.equal(wins - winsBefore, 1, `round ${round}: exactly one replica took the stale claim over`);
        winsBefore = wins;
      }
    } finally {
      await Promise.all(replicas.map((r) => r.terminate()));
    }
    assert.equal(Atomics.load(shared, SLOT.overlaps), 0, 'never two replicas holding the shard at once');
    assert.equal(Atomics.load(shared, SLOT.foreignClaims), 0, 'a holder always found its own claim on top');
  });
});
