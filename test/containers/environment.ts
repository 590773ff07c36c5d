/**
 * The container engine the suite runs docker-compose.yml on, set up for this test and torn down
 * after it. Test machinery only: a user runs `docker compose up -d` on their own engine.
 *
 * - Docker when `docker info` answers: the pinned images are pulled as usual.
 * - Else Podman (Debian's), driven by docker-compose through Podman's Docker-compatible API socket,
 *   with its own config and socket in the suite's state folder (nothing system-wide is changed;
 *   images go to Podman's default store, where they serve as a cache). The settings this machine
 *   kind needs: runc (crun fails on hybrid cgroups), cgroupfs (no systemd), no default ulimits
 *   (the hard open-files limit is below Podman's default). Without systemd Podman never runs
 *   healthchecks by itself: `healthLoop` runs them.
 * - When a pinned third-party image can be neither found nor pulled, every third-party service
 *   runs a stand-in built from Debian packages (standins/<name>/Containerfile) and our image is
 *   built on a Node stand-in: standins/compose.yml joins the compose file through COMPOSE_FILE, so
 *   `docker-compose` and `./runner.sh containers` both see it with no option.
 */
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/daemons';
import { runProcess, type RunResult } from '../support/run';

const STANDINS = path.join(REPO_ROOT, 'test/containers/standins');
const STANDIN_REPO = 'localhost/moex-standin';
const BASE_IMAGE = `${STANDIN_REPO}/bookworm:base`;
const NODE_STANDIN = `${STANDIN_REPO}/node:bookworm`;
const BASE_PACKAGES = 'ca-certificates,curl,wget,passwd,libstdc++6';
/** compose service → stand-in folder (third-party images; grafana has none). */
const STANDIN_DIRS: Record<string, string> = {
  prometheus: 'prometheus',
  'node-exporter': 'node-exporter',
  alertmanager: 'alertmanager',
  graphite: 'graphite-statsd',
  influxdb: 'influxdb',
  selenium: 'selenium',
  'victoria-metrics': 'victoria-metrics',
};
/** Labels our builds carry (the Dockerfile's, a stand-in's): what `prune` may remove. */
const OUR_LABELS = ['moex-monitoring.image', 'moex.standin.input'];

export interface Engine {
  name: 'docker' | 'podman';
  /** What compose and the engine's CLI need in their environment (DOCKER_HOST, COMPOSE_FILE...). */
  env: Record<string, string>;
  /** The stand-ins are in use (Grafana is then left out). */
  standins: boolean;
  cli(args: string[], input?: string): Promise<RunResult>;
  stop(): Promise<void>;
}

const say = (line: string) => console.log(`containers: ${line}`);

async function ok(r: Promise<RunResult>, what: string): Promise<RunResult> {
  const result = await r;
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}: ${`${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-20).join('\n')}`);
  return result;
}

/** Podman's API service on a socket in `dir`; resolves once it answers. */
async function startPodmanService(dir: string, env: Record<string, string>): Promise<ChildProcess> {
  await ok(
    runProcess(path.join(REPO_ROOT, 'ops/ensure-debian-packages.sh'), [
      'podman',
      'runc',
      'catatonit',
      'netavark',
      'aardvark-dns',
      'iptables',
      'docker-compose',
      'mmdebstrap',
    ]),
    'installing Podman',
  );
  const socket = path.join(dir, 'podman.sock');
  const log = fs.openSync(path.join(dir, 'podman-service.log'), 'a');
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  for (let i = 0; i < 100; i += 1) {
    const ping = await runProcess('curl', ['-fsS', '--max-time', '2', '--unix-socket', socket, 'http://d/_ping']);
    if (ping.code === 0) return child;
    await sleep(200);
  }
  child.kill();
  throw new Error(`the Podman API service did not answer on ${socket} (log: ${dir}/podman-service.log)`);
}

/** A short hash of a folder's files (paths and contents) and its parent image's hash: a stand-in's label. */
export function inputHash(dir: string, parentHash: string): string {
  const hash = createHash('sha256').update(`${parentHash}\n`);
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  for (const file of walk(dir).sort()) hash.update(`${path.relative(dir, file)}\n`).update(fs.readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

/** The third-party images of the compose file: service → image (services we build have `build:`). */
function thirdPartyImages(composeFile: string): Map<string, string> {
  const compose = parse(fs.readFileSync(composeFile, 'utf8')) as { services: Record<string, { image?: string; build?: unknown }> };
  return new Map(
    Object.entries(compose.services).flatMap(([name, s]) => (s.image && !s.build && !name.startsWith('x-') ? [[name, s.image] as [string, string]] : [])),
  );
}

class Builder {
  constructor(
    private readonly cli: Engine['cli'],
    private readonly dir: string,
  ) {}

  private async label(image: string): Promise<string> {
    const r = await this.cli(['image', 'inspect', '--format', '{{index .Config.Labels "moex.standin.input"}}', image]);
    return r.code === 0 ? r.stdout.trim() : '';
  }

  /** Builds `tag` from `context` unless an image with this input hash is there already. */
  async build(tag: string, hash: string, context: string, description: string, args: string[]): Promise<void> {
    if ((await this.label(tag)) === hash) return;
    const started = Date.now();
    say(`building ${tag} (${description})`);
    // --format docker: OCI images drop HEALTHCHECK.
    await ok(
      this.cli([
        'build',
        '--format',
        'docker',
        '-t',
        tag,
        '-f',
        path.join(context, 'Containerfile'),
        '--label',
        `moex.standin.input=${hash}`,
        '--label',
        `org.opencontainers.image.description=stand-in: ${description}`,
        ...args,
        context,
      ]),
      `building ${tag}`,
    );
    say(`built ${tag} in ${Math.round((Date.now() - started) / 1000)} s`);
  }

  /** A Debian bookworm root file system (mmdebstrap: no registry needed), imported as the base. */
  async base(): Promise<string> {
    const hash = createHash('sha256').update(`bookworm minbase ${BASE_PACKAGES}\n`).digest('hex').slice(0, 16);
    if ((await this.label(BASE_IMAGE)) === hash) return hash;
    say(`building ${BASE_IMAGE} from Debian bookworm with mmdebstrap (a few minutes, once)`);
    const tar = path.join(this.dir, 'bookworm-rootfs.tar');
    await ok(runProcess('mmdebstrap', ['--quiet', '--variant=minbase', `--include=${BASE_PACKAGES}`, 'bookworm', tar]), 'mmdebstrap');
    await ok(this.cli(['import', '--change', `LABEL moex.standin.input=${hash}`, '--change', 'CMD ["/bin/bash"]', tar, BASE_IMAGE]), 'importing the base');
    fs.rmSync(tar);
    return hash;
  }

  /** The Node stand-in: the base plus the host's Node runtime and npm, and the CA bundle the host trusts. */
  async node(baseHash: string): Promise<string> {
    const context = path.join(this.dir, 'node-context');
    fs.rmSync(context, { recursive: true, force: true });
    fs.mkdirSync(context, { recursive: true });
    const npmDir = path.dirname(path.dirname(fs.realpathSync((await ok(runProcess('sh', ['-c', 'command -v npm']), 'finding npm')).stdout.trim())));
    fs.copyFileSync(path.join(STANDINS, 'node/Containerfile'), path.join(context, 'Containerfile'));
    fs.copyFileSync(process.execPath, path.join(context, 'node'));
    fs.chmodSync(path.join(context, 'node'), 0o755);
    fs.cpSync(npmDir, path.join(context, 'npm'), { recursive: true, verbatimSymlinks: true });
    fs.copyFileSync(process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt', path.join(context, 'ca-certificates.crt'));
    const hash = inputHash(context, baseHash);
    await this.build(NODE_STANDIN, hash, context, `Node ${process.version} from the host on Debian bookworm`, ['--build-arg', `BASE_IMAGE=${BASE_IMAGE}`]);
    fs.rmSync(context, { recursive: true, force: true });
    return hash;
  }
}

/**
 * Each rebuild leaves the image it replaces untagged (300-600 MB): remove those of ours, never
 * anybody else's, never a layer a tagged image still uses.
 */
export async function pruneReplaced(cli: Engine['cli']): Promise<void> {
  for (const label of OUR_LABELS) await cli(['image', 'prune', '-f', '--filter', `label=${label}`]);
}

/** Builds every stand-in (side by side: mostly package downloads). */
async function buildStandins(cli: Engine['cli'], dir: string, images: Map<string, string>): Promise<void> {
  const builder = new Builder(cli, dir);
  const baseHash = await builder.base();
  const nodeHash = await builder.node(baseHash);
  await Promise.all(
    Object.entries(STANDIN_DIRS)
      .filter(([service]) => images.has(service))
      .map(([service, folder]) => {
        const context = path.join(STANDINS, folder);
        const [parent, parentHash] = service === 'graphite' ? [NODE_STANDIN, nodeHash] : [BASE_IMAGE, baseHash];
        return builder.build(`${STANDIN_REPO}/${folder}:bookworm`, inputHash(context, parentHash), context, `${images.get(service)} from Debian packages`, [
          '--build-arg',
          `BASE_IMAGE=${parent}`,
        ]);
      }),
  );
  await pruneReplaced(cli);
}

/** Docker, or Podman set up in `dir`; stand-ins built when the pinned images cannot be had. */
export async function prepareEngine(dir: string, composeFile = path.join(REPO_ROOT, 'docker-compose.yml')): Promise<Engine> {
  fs.mkdirSync(dir, { recursive: true });
  if ((await runProcess('sh', ['-c', 'timeout 10 docker info'])).code === 0) {
    return { name: 'docker', env: {}, standins: false, cli: (args, input) => runProcess('docker', args, {}, undefined, input), stop: async () => {} };
  }
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n');
  const env: Record<string, string> = { CONTAINERS_CONF: conf, DOCKER_HOST: `unix://${path.join(dir, 'podman.sock')}` };
  const service = await startPodmanService(dir, env);
  const cli: Engine['cli'] = (args, input) => runProcess('podman', args, env, undefined, input);
  const images = thirdPartyImages(composeFile);
  const missing = [];
  for (const [name, image] of images) {
    const here = (await cli(['image', 'exists', image])).code === 0 || (await cli(['pull', '--quiet', image])).code === 0;
    if (!here) missing.push(name);
  }
  const standins = missing.length > 0;
  if (standins) {
    say(`cannot pull the images of ${missing.join(', ')}: third-party services run stand-ins built from Debian packages`);
    await buildStandins(cli, dir, images);
    env.COMPOSE_FILE = `${composeFile}:${path.join(STANDINS, 'compose.yml')}`;
  }
  return {
    name: 'podman',
    env,
    standins,
    cli,
    stop: async () => {
      if (service.exitCode === null) process.kill(-service.pid!, 'SIGTERM');
      await pruneReplaced(cli);
    },
  };
}

/**
 * Podman without systemd never runs healthchecks: this loop does, for every compose container,
 * one at a time (a burst of parallel execs on a busy 2-core machine makes the checks time out):
 * every few seconds for a container not yet healthy, every 15 s once healthy. Returns a stop function.
 */
export function healthLoop(engine: Engine): () => Promise<void> {
  if (engine.name !== 'podman') return async () => {};
  let running = true;
  const lastOk = new Map<string, number>();
  const loop = (async () => {
    while (running) {
      const ps = await engine.cli(['ps', '-q', '--filter', 'label=com.docker.compose.project']);
      for (const id of ps.stdout.split('\n').filter(Boolean)) {
        if (!running) break;
        if (Date.now() - (lastOk.get(id) ?? 0) < 15_000) continue;
        const check = await runProcess('timeout', ['20', 'podman', 'healthcheck', 'run', id], engine.env);
        if (check.code === 0) lastOk.set(id, Date.now());
        else lastOk.delete(id);
      }
      await sleep(3000);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}
