import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { readProcStat } from '../lib/proc-stat';

/** What the kernel says about one process: memory now and at its peak, CPU used so far. */
export interface ProcSample {
  rssBytes: number;
  /** The process' own memory (heap, stacks, malloc) ... */
  anonRssBytes: number;
  /** ...and mapped files: mostly the pages of the node binary it has touched, shared with every other Node process. */
  fileRssBytes: number;
  peakRssBytes: number;
  cpuSeconds: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicks;
}

/** /proc/<pid>/status VmRSS (RssAnon + RssFile + RssShmem) and VmHWM, /proc/<pid>/stat utime + stime. */
export function sampleProcess(pid: number): ProcSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const stat = readProcStat(pid);
  if (!stat) throw new Error(`no process ${pid}`);
  return {
    rssBytes: kb('VmRSS'),
    anonRssBytes: kb('RssAnon'),
    fileRssBytes: kb('RssFile'),
    peakRssBytes: kb('VmHWM'),
    cpuSeconds: (stat.utimeTicks + stat.stimeTicks) / ticksPerSecond(),
  };
}
