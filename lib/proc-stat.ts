import fs from 'node:fs';

/** The fields of /proc/<pid>/stat that this project reads (proc(5)). */
export interface ProcStat {
  /** Field 3: R, S, D, Z (a zombie: dead, waiting for its parent to reap it), ... */
  state: string;
  /** Fields 14 and 15: CPU time in clock ticks. */
  utimeTicks: number;
  stimeTicks: number;
  /** Field 22: clock ticks from boot to the process's start; with the boot id it names one process. */
  startTime: string;
}

/** /proc/<pid>/stat read once; undefined where the process does not exist (or /proc does not). */
export function readProcStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', utimeTicks: Number(fields[11]), stimeTicks: Number(fields[12]), startTime: fields[19] ?? '' };
}

/** A process that has exited but is not reaped yet: it holds no files, ports or locks any more. */
export const isZombie = (stat: ProcStat | undefined): boolean => stat?.state === 'Z';
