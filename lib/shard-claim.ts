import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from './log';

/**
 * `MOEX_SHARD=auto/N`: identical replicas (compose `deploy.replicas`) take a shard each by claiming
 * a file in a directory they share (MOEX_SHARD_CLAIM_DIR). The holder touches its claim every
 * `leaseMs`; a claim untouched for `staleMs` (a replica killed without a goodbye) is taken over.
 * With every shard held, a replica waits and tries again: it never polls what another replica polls.
 *
 * Claims are numbered by generation: `shard-<i>.claim` is generation 0 (the name a first claim,
 * and earlier versions of this file, use), `shard-<i>.<g>.claim` generation g. The holder of shard i
 * is the replica whose content is in the highest generation present. Why generations: taking a
 * stale claim over by renaming it away (what this did before) races: A and B both see it stale, A
 * renames it away and claims, then B renames A's fresh claim away and claims too. Here no replica
 * ever renames or removes a claim it has not checked is stale or its own, and:
 *
 * 1. A claim is created whole and only if its name is free: written to a private temp file, then
 *    link()ed to the claim name (atomic, EEXIST if taken; on NFS the classic exclusive create).
 * 2. Taking over generation g creates g+1, so of any number of replicas that saw g stale exactly one
 *    wins the link(); the others get EEXIST and wait.
 * 3. The winner re-checks before it counts as holder: its g+1 is still the highest generation, and
 *    g still holds the very content it saw stale (each claim carries a per-claim random token).
 *    This catches a replica that saw g stale long ago: if g+1 was released since and the shard
 *    claimed afresh, g is gone or holds another token, so the late link() is withdrawn. A claim of
 *    a free shard (generation 0) counts only if, after its link(), it is the only claim of the shard.
 * 4. Generations below the holder's are removed lowest first, so a late link() of one of them can
 *    only succeed once the one below it is already gone, which step 3 then sees.
 * 5. The heartbeat re-reads the claim before renewing it: its content is still ours and no higher
 *    generation exists, else the shard is lost (`onLost`). It renews through the descriptor opened
 *    at claim time, so it can never keep someone else's file fresh.
 *
 * What leases cannot prevent: a holder paused for longer than `staleMs` (a frozen VM) is taken
 * over and exports until its next heartbeat notices, at most one `leaseMs` later. The scheme needs
 * atomic link() and uncached directory listings: any local filesystem, or NFS with `lookupcache=none`.
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
  /** The heartbeat found the claim taken over (or gone): the shard is no longer ours. Called once. */
  onLost?(index: number): void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const abort = () => (clearTimeout(timer), reject(signal!.reason));
    const timer = setTimeout(() => (signal?.removeEventListener('abort', abort), resolve()), ms);
    signal?.addEventListener('abort', abort, { once: true });
  });

const CLAIM_NAME = /^shard-(\d+)(?:\.(\d+))?\.claim$/;

const claimFile = (dir: string, index: number, generation: number) =>
  path.join(dir, generation === 0 ? `shard-${index}.claim` : `shard-${index}.${generation}.claim`);

/** The generations of shard `index`'s claims present in `dir`, lowest first. */
function generationsOf(dir: string, index: number): number[] {
  const generations: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = CLAIM_NAME.exec(name);
    if (m && Number(m[1]) === index) generations.push(Number(m[2] ?? 0));
  }
  return generations.sort((a, b) => a - b);
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** The file's content, or null when it is gone. */
function readClaim(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

function removeClaim(file: string): void {
  fs.rmSync(file, { force: true });
}

/** Creates `file` holding `content`, whole and only if the name is free (see 1. above). */
function linkExclusive(file: string, content: string): boolean {
  const temp = `${file}.${randomUUID()}.tmp`;
  fs.writeFileSync(temp, content, { flag: 'wx' });
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    removeClaim(temp);
  }
}

/** The stale claim a takeover replaces: its file and the content judged stale. */
interface Predecessor {
  file: string;
  content: string;
}

/** The claim a takeover replaces, or 'held' when the shard's top claim is fresh (or just vanished). */
function stalePredecessor(dir: string, index: number, staleMs: number): { generation: number; predecessor: Predecessor | null } | 'held' {
  const top = generationsOf(dir, index).at(-1);
  if (top === undefined) return { generation: 0, predecessor: null };
  const file = claimFile(dir, index, top);
  try {
    if (Date.now() - fs.statSync(file).mtimeMs <= staleMs) return 'held';
  } catch (err) {
    if (isMissing(err)) return 'held'; // removed meanwhile: look again next round
    throw err;
  }
  const content = readClaim(file);
  return content === null ? 'held' : { generation: top + 1, predecessor: { file, content } };
}

/** Steps 2-4 above for one shard: the generation now held, or null. */
function tryClaimIndex(dir: string, index: number, content: string, staleMs: number): number | null {
  const plan = stalePredecessor(dir, index, staleMs);
  if (plan === 'held') return null;
  const { generation, predecessor } = plan;
  const file = claimFile(dir, index, generation);
  if (!linkExclusive(file, content)) return null;
  const present = generationsOf(dir, index);
  const highest = present.at(-1) === generation;
  const valid = predecessor ? highest && readClaim(predecessor.file) === predecessor.content : present.length === 1 && highest;
  if (!valid) {
    removeClaim(file);
    return null;
  }
  for (const older of present) if (older < generation) removeClaim(claimFile(dir, index, older));
  return generation;
}

function tryClaim(dir: string, count: number, content: string, staleMs: number): { index: number; generation: number } | null {
  for (let index = 0; index < count; index++) {
    const generation = tryClaimIndex(dir, index, content, staleMs);
    if (generation !== null) return { index, generation };
  }
  return null;
}

export async function claimShard(dir: string, count: number, owner: string, log: Logger, options: ClaimOptions = {}): Promise<ShardClaim> {
  const { leaseMs = 10_000, staleMs = 3 * leaseMs, signal, onLost } = options;
  fs.mkdirSync(dir, { recursive: true });
  // The owner names the replica for people; the token makes each claim distinct (step 3 above).
  const content = `${owner}\n${randomUUID()}\n`;
  let claimed = tryClaim(dir, count, content, staleMs);
  if (claimed === null) log.warn({ dir, count }, 'every shard is claimed by another replica; waiting for one to free up');
  while (claimed === null) {
    await sleep(leaseMs, signal);
    claimed = tryClaim(dir, count, content, staleMs);
  }
  const { index, generation } = claimed;
  const file = claimFile(dir, index, generation);
  const descriptor = fs.openSync(file, 'r');
  const stillOurs = () => readClaim(file) === content && generationsOf(dir, index).at(-1) === generation;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(heartbeat);
    fs.closeSync(descriptor);
  };
  const heartbeat = setInterval(() => {
    try {
      if (stillOurs()) {
        const now = new Date();
        fs.futimesSync(descriptor, now, now);
        return;
      }
    } catch (err) {
      log.error({ err, file }, 'cannot renew the shard claim; another replica may take the shard over');
      return;
    }
    stop();
    log.warn({ shard: `${index}/${count}`, file }, 'shard claim lost to another replica; no longer polling this shard');
    onLost?.(index);
  }, leaseMs);
  heartbeat.unref();
  log.info({ shard: `${index}/${count}`, file }, 'claimed shard');
  return {
    index,
    release() {
      stop();
      // Only our own claim: after a takeover the shard belongs to someone else.
      if (readClaim(file) === content) removeClaim(file);
    },
  };
}
