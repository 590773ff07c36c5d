import fs from 'node:fs';
import path from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import pino from 'pino';
import { claimShard, type ShardClaim } from '../../lib/shard-claim';

/**
 * One replica of the shard race test (test/unit/shard.test.ts), in its own thread so that replicas
 * really run at once: claim syscalls interleave as they do between processes.
 */

/** Slots of the Int32Array the replicas share with the test. */
export const SLOT = {
  /** The round the test has started; replicas wait for it. */
  round: 0,
  /** Replicas that believe they hold the round's shard right now. */
  holders: 1,
  /** Times a replica saw another holder: at its claim, or at any later step while it held. */
  overlaps: 2,
  /** Claims won, over all rounds. */
  wins: 3,
  /** Steps at which a holder found the claim files naming someone else as holder. */
  foreignClaims: 4,
} as const;

export interface ReplicaData {
  name: string;
  base: string;
  rounds: number;
  holdMs: number;
  control: SharedArrayBuffer;
}

/** Starts a replica thread (tsx registered in it, as node --import tsx does not reach workers). */
export function startReplica(data: ReplicaData): Worker {
  const code = `require('tsx/cjs/api').register(); require(${JSON.stringify(__filename)});`;
  return new Worker(code, { eval: true, workerData: data });
}

const CLAIM_NAME = /^shard-0(?:\.(\d+))?\.claim$/;

/** What the claim files say: the content of shard 0's highest generation. */
function holderOnDisk(dir: string): string | null {
  const generations = fs.readdirSync(dir).flatMap((name) => {
    const m = CLAIM_NAME.exec(name);
    return m ? [{ name, generation: Number(m[1] ?? 0) }] : [];
  });
  const top = generations.sort((a, b) => a.generation - b.generation).at(-1);
  try {
    return top ? fs.readFileSync(path.join(dir, top.name), 'utf8') : null;
  } catch {
    return null;
  }
}

/**
 * Every filesystem call the claim makes waits up to 1 ms first, as on a loaded machine or a network
 * filesystem: without it, the window between one replica's look at a claim and its next step is a
 * few microseconds and the race this test is about would almost never be tried.
 */
function slowFilesystem(): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const calls = [
    'statSync',
    'readdirSync',
    'readFileSync',
    'writeFileSync',
    'linkSync',
    'renameSync',
    'rmSync',
    'openSync',
    'futimesSync',
    'utimesSync',
  ] as const;
  for (const call of calls) {
    const original = fs[call] as (...args: unknown[]) => unknown;
    (fs as unknown as Record<string, unknown>)[call] = (...args: unknown[]) => {
      Atomics.wait(pause, 0, 0, Math.random());
      return original(...args);
    };
  }
}

async function run({ name, base, rounds, holdMs, control }: ReplicaData): Promise<void> {
  slowFilesystem();
  const shared = new Int32Array(control);
  const log = pino({ level: 'silent' });
  let previous: ShardClaim | null = null;
  for (let round = 1; round <= rounds; round++) {
    while (Atomics.load(shared, SLOT.round) < round) Atomics.wait(shared, SLOT.round, round - 1, 1000);
    previous?.release();
    previous = null;
    const dir = path.join(base, String(round));
    const giveUp = AbortSignal.timeout(holdMs);
    let lost = false;
    try {
      // Stale after 10 s: the round's dead claim is a minute old, a live holder is never stale.
      const claim = await claimShard(dir, 1, name, log, { leaseMs: 2, staleMs: 10_000, signal: giveUp, onLost: () => (lost = true) });
      previous = claim;
      if (Atomics.add(shared, SLOT.holders, 1) !== 0) Atomics.add(shared, SLOT.overlaps, 1);
      Atomics.add(shared, SLOT.wins, 1);
      // Every step while holding: alone, and the files name this replica.
      while (!giveUp.aborted && !lost) {
        if (Atomics.load(shared, SLOT.holders) !== 1) Atomics.add(shared, SLOT.overlaps, 1);
        if (!holderOnDisk(dir)?.startsWith(`${name}\n`)) Atomics.add(shared, SLOT.foreignClaims, 1);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      Atomics.sub(shared, SLOT.holders, 1);
    } catch {
      // gave up: another replica holds the shard this round
    }
    parentPort!.postMessage(round);
  }
  previous?.release();
}

if (parentPort && workerData) void run(workerData as ReplicaData);
