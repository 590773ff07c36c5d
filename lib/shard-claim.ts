import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from './log';

/**
 * `MOEX_SHARD=auto/N`: identical replicas (compose `deploy.replicas`) take a shard each by claiming
 * a file in a directory they share (MOEX_SHARD_CLAIM_DIR). Creating `shard-<i>.claim` with O_EXCL is
 * atomic, so two replicas never hold the same shard; the holder touches it every `leaseMs`, and a
 * claim untouched for `staleMs` (a replica killed without a goodbye) is taken over. With every shard
 * held, a replica waits and tries again: it never polls what another replica polls.
 */
export interface ShardClaim {
  index: number;
  release(): void;
}

export interface ClaimOptions {
  leaseMs?: number;
  staleMs?: number;
  /** Stop waiting for a free shard (tests); default: wait for ever. */
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/** Takes over a claim nobody renewed: renaming it away is atomic, so only one replica wins. */
function removeIfStale(file: string, staleMs: number, owner: string): void {
  try {
    if (Date.now() - fs.statSync(file).mtimeMs <= staleMs) return;
    const aside = `${file}.stale-${owner}`;
    fs.renameSync(file, aside);
    fs.rmSync(aside, { force: true });
  } catch {
    // Gone meanwhile, or another replica took it over first: either way, try to claim again.
  }
}

function tryClaim(dir: string, count: number, owner: string, staleMs: number): number | null {
  for (let index = 0; index < count; index++) {
    const file = path.join(dir, `shard-${index}.claim`);
    removeIfStale(file, staleMs, owner);
    try {
      fs.writeFileSync(file, `${owner}\n`, { flag: 'wx' });
      return index;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return null;
}

export async function claimShard(dir: string, count: number, owner: string, log: Logger, options: ClaimOptions = {}): Promise<ShardClaim> {
  const { leaseMs = 10_000, staleMs = 3 * leaseMs, signal } = options;
  fs.mkdirSync(dir, { recursive: true });
  let index = tryClaim(dir, count, owner, staleMs);
  if (index === null) log.warn({ dir, count }, 'every shard is claimed by another replica; waiting for one to free up');
  while (index === null) {
    await sleep(leaseMs, signal);
    index = tryClaim(dir, count, owner, staleMs);
  }
  const file = path.join(dir, `shard-${index}.claim`);
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch (err) {
      log.error({ err, file }, 'cannot renew the shard claim; another replica may take the shard over');
    }
  }, leaseMs);
  heartbeat.unref();
  log.info({ shard: `${index}/${count}`, file }, 'claimed shard');
  return {
    index,
    release() {
      clearInterval(heartbeat);
      // Only our own claim: after a takeover the file belongs to someone else.
      try {
        if (fs.readFileSync(file, 'utf8').trim() === owner) fs.rmSync(file);
      } catch {
        // already gone
      }
    },
  };
}
