import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isZombie, readProcStat } from '../lib/proc-stat';
import { daemonSpec, type DaemonSpec } from './daemons';
import { portHeld } from './probes';
import { REPO_ROOT, type StackSettings } from './stack-settings';

/**
 * Runs the daemons of ops/daemons.ts in the background under STATE_DIR:
 *   run/NAME.pid   "PID STARTTIME" (the start time guards against a reused pid)
 *   logs/NAME.log  stdout+stderr, appended across restarts
 *   NAME/          its data and generated config
 * `stop` signals only the pid `start` recorded (and, for children it left behind, the process group
 * `start` created); running `start` twice starts nothing twice.
 */

export type Say = (line: string) => void;

export class StartError extends Error {}

const pidFile = (s: StackSettings, name: string) => path.join(s.stateDir, 'run', `${name}.pid`);
export const logFile = (s: StackSettings, name: string) => path.join(s.stateDir, 'logs', `${name}.log`);

/** Start time of a live pid (its identity with the pid); undefined for a dead or zombie pid. */
function startTimeOf(pid: number): string | undefined {
  const stat = readProcStat(pid);
  return stat && !isZombie(stat) ? stat.startTime : undefined;
}

/** The pid `start` recorded for NAME, if that very process is still alive. */
export function runningPid(s: StackSettings, name: string): number | undefined {
  let recorded: string;
  try {
    recorded = fs.readFileSync(pidFile(s, name), 'utf8');
  } catch {
    return undefined;
  }
  const [pid, start] = recorded.trim().split(/\s+/);
  return pid && start && startTimeOf(Number(pid)) === start ? Number(pid) : undefined;
}

async function heldPorts(s: StackSettings, spec: DaemonSpec): Promise<string[]> {
  const held: string[] = [];
  for (const p of spec.ports) if (await portHeld(s.bindAddress, s.ports[p.variable], p.protocol)) held.push(`${s.ports[p.variable]}/${p.protocol}`);
  return held;
}

function lastLines(file: string, n = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

function missingBinary(binary: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', binary]).status !== 0;
}

export async function startDaemon(s: StackSettings, name: string, say: Say): Promise<void> {
  const spec = daemonSpec(name);
  const running = runningPid(s, name);
  if (running !== undefined) {
    say(`${name} already running (pid ${running}) at ${spec.url(s)}`);
    return;
  }
  if (missingBinary(spec.binary))
    throw new StartError(`${name}: '${spec.binary}' not found; install it: ops/ensure-debian-packages.sh ${spec.debianPackage} (./runner.sh local up does)`);
  const held = await heldPorts(s, spec);
  if (held.length) throw new StartError(`${name}: port(s) ${held.join(' ')} already in use by another process`);
  const dir = path.join(s.stateDir, name);
  fs.mkdirSync(path.join(s.stateDir, 'run'), { recursive: true });
  fs.mkdirSync(path.join(s.stateDir, 'logs'), { recursive: true });
  fs.mkdirSync(dir, { recursive: true });
  const log = logFile(s, name);
  fs.appendFileSync(log, `=== ${new Date().toISOString()} start ${name}\n`);
  const { argv, env } = spec.prepare(s, dir);
  if (spec.webConfigFlag && s.web) argv.push(`--web.config.file=${s.web.file}`);
  const out = fs.openSync(log, 'a');
  // detached: its own session and process group, so it outlives the caller and `stop` can reach a
  // child it leaves behind (gunicorn workers).
  const child = spawn(argv[0] as string, argv.slice(1), { cwd: REPO_ROOT, env: { ...s.env, ...env }, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new StartError(`${name}: could not start ${argv[0]}`);
  fs.writeFileSync(pidFile(s, name), `${pid} ${startTimeOf(pid) ?? 0}\n`);
  const deadline = Date.now() + s.readyTimeoutMs;
  while (!(await spec.ready(s))) {
    if (runningPid(s, name) === undefined) {
      fs.rmSync(pidFile(s, name), { force: true });
      throw new StartError(`${name} exited during start; last lines of ${log}:\n${lastLines(log)}`);
    }
    if (Date.now() > deadline) {
      await stopDaemon(s, name, () => {});
      throw new StartError(`${name} did not answer within ${s.readyTimeoutMs / 1000}s; stopped it. Last lines of ${log}:\n${lastLines(log)}`);
    }
    await sleep(250);
  }
  await spec.afterStart?.(s);
  say(`${name} started (pid ${pid}) at ${spec.url(s)}, log ${log}`);
}

const signal = (target: number, sig: NodeJS.Signals) => {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
};

export async function stopDaemon(s: StackSettings, name: string, say: Say): Promise<void> {
  const spec = daemonSpec(name);
  const pid = runningPid(s, name);
  if (pid === undefined) {
    fs.rmSync(pidFile(s, name), { force: true });
    say(`${name} not running`);
    return;
  }
  signal(pid, 'SIGTERM');
  const killAt = Date.now() + s.stopTimeoutMs;
  while (runningPid(s, name) !== undefined) {
    if (Date.now() > killAt) {
      say(`${name} (pid ${pid}) ignored SIGTERM for ${s.stopTimeoutMs / 1000}s; killing it`);
      signal(-pid, 'SIGKILL');
    }
    await sleep(100);
  }
  // A child it left behind (a gunicorn worker) still holding a port: only such children are in the
  // process group `start` created.
  const groupDeadline = Date.now() + 10_000;
  while ((await heldPorts(s, spec)).length) {
    const left = groupDeadline - Date.now();
    if (left < 8_000) signal(-pid, 'SIGTERM');
    if (left < 3_000) signal(-pid, 'SIGKILL');
    if (left < 0) throw new StartError(`${name} stopped but port(s) ${(await heldPorts(s, spec)).join(' ')} are still in use`);
    await sleep(250);
  }
  fs.rmSync(pidFile(s, name), { force: true });
  say(`${name} stopped`);
}

/**
 * Synchronous last resort for an exiting process (test harness): SIGTERM to the process group the
 * recorded pid leads, up to 10 s to go, then SIGKILL.
 */
export function stopDaemonNow(s: StackSettings, name: string): void {
  const pid = runningPid(s, name);
  if (pid === undefined) return;
  signal(-pid, 'SIGTERM');
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 100 && runningPid(s, name) !== undefined; i++) Atomics.wait(wait, 0, 0, 100);
  if (runningPid(s, name) !== undefined) signal(-pid, 'SIGKILL');
  fs.rmSync(pidFile(s, name), { force: true });
}

export interface DaemonStatus {
  name: string;
  state: 'up' | 'not answering' | 'stopped';
  pid?: number;
  url: string;
}

export async function daemonStatus(s: StackSettings, name: string): Promise<DaemonStatus> {
  const spec = daemonSpec(name);
  const pid = runningPid(s, name);
  if (pid === undefined) return { name, state: 'stopped', url: spec.url(s) };
  return { name, state: (await spec.ready(s)) ? 'up' : 'not answering', pid, url: spec.url(s) };
}

export function statusLine(st: DaemonStatus, s: StackSettings): string {
  const name = st.name.padEnd(17);
  if (st.state === 'up') return `${name} up        pid ${String(st.pid).padEnd(8)} ${st.url}`;
  if (st.state === 'stopped') return `${name} stopped   ${''.padEnd(12)} ${st.url}`;
  return `${name} NOT ANSWERING pid ${String(st.pid).padEnd(4)} ${st.url} (log ${logFile(s, st.name)})`;
}
