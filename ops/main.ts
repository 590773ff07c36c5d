import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../lib/config';
import { DAEMON_NAMES, daemonSpec, nativePrometheusConfig, renderAlertmanagerConfig, SettingError } from './daemons';
import { GENERATED_FILES } from './generated-files';
import { down, status, up } from './local-stack';
import { REPO_ROOT, stackSettings, type StackSettings } from './stack-settings';
import { daemonStatus, startDaemon, StartError, statusLine, stopDaemon } from './supervisor';

const USAGE = `Usage (through ./runner.sh):
  local up [--demo] | down | status     the whole stack natively (docs/native-stack.md)
  daemon start|stop|restart NAME...     one part: start in the background and wait until it answers;
                                        stop exactly the process start started
  daemon status [NAME...]               one line each (exit 1 if a named one is down)
  daemon url NAME                       the URL (or udp:// / tcp:// address) a client uses
  daemon config prometheus|alertmanager the generated prometheus.yml / rendered alertmanager.yml
  daemon scheme                         https when WEB_CONFIG_FILE has tls_server_config, else http
  daemon list                           the names: ${DAEMON_NAMES.join(' ')}
  configs [--check]                     write (or check) the committed generated configs
Settings: STATE_DIR, BIND_ADDRESS, READY_TIMEOUT, STOP_TIMEOUT, <NAME>_PORT, PROMETHEUS_*, WEB_CONFIG_FILE (docs/native-stack.md).`;

const say = (line: string) => process.stderr.write(`stack: ${line}\n`);

/** Writes the generated files, or (--check) lists those that differ; exit 1 when any does. */
function configs(check: boolean): number {
  const stale = GENERATED_FILES.filter(({ file, content }) => {
    const target = path.join(REPO_ROOT, file);
    const text = content();
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
    if (current === text) return false;
    if (!check) fs.writeFileSync(target, text);
    say(`${check ? 'differs from its source' : 'wrote'}: ${file}`);
    return true;
  });
  return check && stale.length ? 1 : 0;
}

function printConfig(s: StackSettings, what: string | undefined): void {
  if (what === 'prometheus') return void process.stdout.write(nativePrometheusConfig(s));
  if (what !== 'alertmanager') throw new SettingError("config: only 'prometheus' and 'alertmanager' have a generated config to print");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-am-'));
  try {
    renderAlertmanagerConfig(s, path.join(dir, 'alertmanager.yml'));
    process.stdout.write(fs.readFileSync(path.join(dir, 'alertmanager.yml'), 'utf8'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function daemon(s: StackSettings, command: string | undefined, names: string[]): Promise<number> {
  names.forEach((name) => daemonSpec(name));
  const needNames = () => {
    if (!names.length) throw new SettingError(`${command}: name a daemon`);
  };
  switch (command) {
    case 'start':
      needNames();
      for (const name of names) await startDaemon(s, name, say);
      return 0;
    case 'stop':
      needNames();
      for (const name of names) await stopDaemon(s, name, say);
      return 0;
    case 'restart':
      needNames();
      for (const name of names) {
        await stopDaemon(s, name, say);
        await startDaemon(s, name, say);
      }
      return 0;
    case 'status': {
      let ok = true;
      for (const name of names.length ? names : DAEMON_NAMES) {
        const st = await daemonStatus(s, name);
        process.stdout.write(`${statusLine(st, s)}\n`);
        if (st.state !== 'up') ok = false;
      }
      return ok || !names.length ? 0 : 1;
    }
    case 'url':
      if (names.length !== 1) throw new SettingError('url: name one daemon');
      process.stdout.write(`${daemonSpec(names[0] as string).url(s)}\n`);
      return 0;
    case 'config':
      printConfig(s, names[0]);
      return 0;
    case 'scheme':
      process.stdout.write(`${s.scheme}\n`);
      return 0;
    case 'list':
      process.stdout.write(`${DAEMON_NAMES.join('\n')}\n`);
      return 0;
    default:
      throw new SettingError(`unknown daemon command '${command}'\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [area, command, ...rest] = argv;
  if (area === 'configs') return configs(command === '--check');
  if (area !== 'local' && area !== 'daemon') {
    process.stdout.write(`${USAGE}\n`);
    return area === undefined || area === 'help' || area === '--help' ? 0 : 2;
  }
  const s = stackSettings(process.env);
  if (area === 'daemon') return daemon(s, command, rest);
  switch (command) {
    case 'up': {
      const unknown = rest.find((a) => a !== '--demo');
      if (unknown) throw new SettingError(`up: unknown option '${unknown}'`);
      return (await up(s, rest.includes('--demo'), say)) ? 0 : 1;
    }
    case 'down':
      await down(s, say);
      return 0;
    case 'status':
      return (await status(s)) ? 0 : 1;
    default:
      throw new SettingError('usage: ./runner.sh local up [--demo] | down | status');
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof SettingError) {
      process.stderr.write(`${err instanceof ConfigError ? 'config error: ' : ''}${err.message}\n`);
      process.exit(2);
    }
    say(`error: ${err instanceof StartError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
