import fs from 'node:fs';
import { isZombie, readProcStat } from '../../lib/proc-stat';

/**
 * A lock file that dies with its process, as flock(2) would (Node has no flock without a native
 * addon). It names its holder by pid, the kernel's boot id and the process's start time
 * (/proc/<pid>/stat, field 22): a pid that is alive but belongs to another process (reused after
 * a reboot, or later in the same boot) is not the holder, so a stale lock never blocks a start.
 * Where /proc is missing, the pid alone decides, as before.
 */
export interface ProcessIdentity {
  pid: number;
  /** null where /proc cannot tell (not Linux). */
  bootId: string | null;
  startTime: string | null;
}

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

export function currentIdentity(pid = process.pid): ProcessIdentity {
  return { pid, bootId: readOr('/proc/sys/kernel/random/boot_id'), startTime: readProcStat(pid)?.startTime ?? null };
}

export function formatIdentity(id: ProcessIdentity): string {
  return `${id.pid} ${id.bootId ?? '-'} ${id.startTime ?? '-'}\n`;
}

/** A lock's text: `<pid> <boot id> <start time>`, or the bare pid earlier versions wrote. */
export function parseIdentity(text: string): ProcessIdentity | null {
  const [pid, bootId, startTime] = text.trim().split(/\s+/);
  if (!pid || !/^\d+$/.test(pid) || Number(pid) <= 0) return null;
  const known = (v: string | undefined) => (v && v !== '-' ? v : null);
  return { pid: Number(pid), bootId: known(bootId), startTime: known(startTime) };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process the lock names still runs: same pid alive and not a zombie (a SIGKILLed
 * holder whose parent has not reaped it yet, which kill(pid, 0) still finds), and the same boot and
 * start where both are known.
 */
export function holderRuns(holder: ProcessIdentity, now: ProcessIdentity = currentIdentity(holder.pid)): boolean {
  if (!pidAlive(holder.pid) || isZombie(readProcStat(holder.pid))) return false;
  if (holder.bootId && now.bootId && holder.bootId !== now.bootId) return false;
  if (holder.startTime && now.startTime && holder.startTime !== now.startTime) return false;
  return true;
}

/** Takes the lock at `lockPath`, or throws naming the running holder and `advice`. */
export function claimProcessLock(lockPath: string, advice: string): void {
  let text = '';
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const holder = parseIdentity(text);
  if (holder && holder.pid !== process.pid && holderRuns(holder)) {
    throw new Error(`${lockPath} is held by running process ${holder.pid}: ${advice}`);
  }
  fs.writeFileSync(lockPath, formatIdentity(currentIdentity()));
}
