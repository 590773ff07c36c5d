import fs from 'node:fs';
import os from 'node:os';

/** What the figures were measured on: they only mean something next to this. */
export function describeMachine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const cores = os.availableParallelism();
  const ramGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  let distro = `${os.type()} ${os.release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (pretty) distro = `${pretty[1]} (kernel ${os.release()})`;
  } catch {
    // not Linux: keep os.type()
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return [
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- CPU: ${cpu}, ${cores} cores; RAM ${ramGb} GiB`,
    `- OS: ${distro}; Node ${process.version}`,
    `- Load average when the run started: ${load}`,
  ].join('\n');
}
