// docker-compose.yml: valid for `docker-compose config` (no engine needed) and true to the stack's
// reference (docs/configuration.md): ports on BIND_ADDRESS, networks along the data flow, pinned
// images, healthchecks, passwords as files in secrets/ written by the one-shot init service (never
// environment values), hardened app containers, profiles, start order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { demoSettings } from '../support/demo';

const ROOT = resolve(__dirname, '../..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const ENV_EXAMPLE = join(ROOT, '.env.example');

type Service = {
  image?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  tmpfs?: string[] | string;
  mem_limit?: string | number;
  secrets?: Array<string | { source: string; target?: string }>;
  build?: { context: string; target?: string };
  ports?: Array<string | { published: number | string; target: number | string }>;
  networks?: Record<string, unknown> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  profiles?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string | null>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  command?: string[] | string;
};
type Compose = {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
  volumes: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
};

/** The variables .env.example shows, commented (it sets none: docs.test.ts); the last line of a name wins. */
function shownVariables(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:# )?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
const exampleEnv = shownVariables(ENV_EXAMPLE);

/** `docker-compose --env-file FILE config`, with none of the stack's variables leaking in from the shell. */
function composeConfig(envFile: string, extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of [...Object.keys(exampleEnv), 'MOEX_ISS_URL', 'COMPOSE_FILE', 'COMPOSE_PROFILES', 'COMPOSE_PROJECT_NAME']) delete env[key];
  for (const key of Object.keys(env)) if (key.startsWith('ALERT_')) delete env[key];
  const r = spawnSync('docker-compose', ['--env-file', envFile, '-f', COMPOSE_FILE, 'config'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...env, ...extraEnv },
  });
  assert.equal(r.error, undefined, `could not run docker-compose (Debian package docker-compose): ${String(r.error)}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const resolved = composeConfig(ENV_EXAMPLE);
const config: Compose = resolved.status === 0 ? (parse(resolved.stdout) as Compose) : { services: {}, networks: {}, volumes: {} };
const services = config.services;

const networksOf = (name: string): string[] => {
  const n = services[name]?.networks ?? [];
  return Array.isArray(n) ? n : Object.keys(n);
};
const portsOf = (name: string): string[] =>
  (services[name]?.ports ?? []).map((p) => (typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.published}:${p.target}`));

const APP_SERVICES = ['worker-prometheus', 'scraper', 'backend', 'iss-sim'];
/** The files of secrets/ a service mounts (read-only, at /run/secrets/<name>). */
const secretsOf = (name: string): string[] =>
  (services[name]?.volumes ?? [])
    .map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`))
    .flatMap((v) => {
      const m = /^(.*)\/secrets\/([^/:]+):\/run\/secrets\/([^/:]+):ro$/.exec(v);
      return m && m[1] === ROOT && m[2] === m[3] ? [m[2]!] : [];
    });

test('docker-compose --env-file .env.example config succeeds', () => {
  assert.equal(resolved.status, 0, resolved.stderr);
  for (const name of [
    'grafana',
    'prometheus',
    'alertmanager',
    'node-exporter',
    'graphite',
    'influxdb',
    'worker-prometheus',
    'scraper',
    'backend',
    'iss-sim',
    'selenium',
    'e2e',
  ]) {
    assert.ok(services[name], `service ${name}`);
  }
});

test('the file uses the Compose spec: no version key', () => {
  const raw = parse(readFileSync(COMPOSE_FILE, 'utf8')) as Record<string, unknown>;
  assert.equal('version' in raw, false);
});

test('published ports are exactly the contract (3000, 9090, 9093, 18000:80, 8086, 8998, 28000:8000; 8428 in profile scale), all on 127.0.0.1 by default', () => {
  const published = Object.keys(services)
    .flatMap((name) => portsOf(name).map((p) => `${name} ${p}`))
    .sort();
  assert.deepEqual(published, [
    'alertmanager 127.0.0.1:9093:9093',
    'backend 127.0.0.1:8998:8998',
    'grafana 127.0.0.1:3000:3000',
    'graphite 127.0.0.1:18000:80',
    'influxdb 127.0.0.1:8086:8086',
    'prometheus 127.0.0.1:9090:9090',
    'victoria-metrics 127.0.0.1:8428:8428',
    'worker-prometheus 127.0.0.1:28000:8000',
  ]);
});

test('BIND_ADDRESS moves every published port: 0.0.0.0 is an explicit choice', () => {
  for (const address of ['0.0.0.0', '192.0.2.10']) {
    const r = composeConfig(ENV_EXAMPLE, { BIND_ADDRESS: address });
    assert.equal(r.status, 0, r.stderr);
    const bound = Object.values((parse(r.stdout) as Compose).services).flatMap((s) => (s.ports ?? []).map((p) => String(p).split(':')[0]));
    assert.equal(bound.length, 8);
    assert.deepEqual([...new Set(bound)], [address]);
  }
  assert.equal(exampleEnv.BIND_ADDRESS, '127.0.0.1');
});

test('every image is pinned to a version tag (no :latest, no untagged)', () => {
  for (const [name, svc] of Object.entries(services)) {
    assert.ok(svc.image, `${name} names its image`);
    const tag = /:([^/:@]+)$/.exec(svc.image)?.[1];
    assert.ok(tag, `${name}: ${svc.image} has no tag`);
    assert.notEqual(tag, 'latest', `${name}: ${svc.image}`);
    assert.match(tag, /\d/, `${name}: ${svc.image} is pinned to a version`);
  }
});

test('worker, scraper, backend and iss-sim are one image built from the Dockerfile; e2e uses its dev target', () => {
  const images = new Set(APP_SERVICES.map((n) => services[n]!.image));
  assert.equal(images.size, 1, `one image, got ${[...images].join(', ')}`);
  for (const name of APP_SERVICES) {
    assert.equal(services[name]!.build?.target, 'runtime', name);
    assert.equal(resolve(services[name]!.build!.context), ROOT, name);
  }
  assert.equal(services.e2e!.build?.target, 'dev');
  assert.deepEqual(services['worker-prometheus']!.command, ['worker']);
  assert.deepEqual(services.scraper!.command, ['scraper']);
  assert.deepEqual(services.backend!.command, ['backend']);
  assert.deepEqual(services['iss-sim']!.command, ['iss-sim']);
  assert.deepEqual(services.e2e!.command, ['e2e']);
});

test('every long-running service has a healthcheck and restarts unless stopped; the one-shots init and e2e do not restart', () => {
  for (const [name, svc] of Object.entries(services)) {
    if (name === 'e2e' || name === 'init') {
      assert.equal(svc.restart, 'no');
      continue;
    }
    assert.equal(svc.restart, 'unless-stopped', name);
    assert.ok(svc.healthcheck && !svc.healthcheck.disable, `${name} has a healthcheck`);
    const probe = Array.isArray(svc.healthcheck.test) ? svc.healthcheck.test : [svc.healthcheck.test];
    assert.ok(['CMD', 'CMD-SHELL'].includes(probe[0] ?? ''), `${name}: ${JSON.stringify(probe)}`);
    assert.ok(probe.length >= 2, `${name} healthcheck runs something`);
  }
});

test('every service that reads secrets/ waits for init to complete; other edges wait for healthy services, which all have healthchecks', () => {
  let edges = 0;
  for (const [name, svc] of Object.entries(services)) {
    const deps = svc.depends_on ?? {};
    assert.ok(!Array.isArray(deps), `${name}: depends_on must use conditions`);
    if (secretsOf(name).length > 0) assert.equal(deps.init?.condition, 'service_completed_successfully', `${name} waits for init`);
    for (const [dep, spec] of Object.entries(deps)) {
      if (dep === 'init') continue;
      edges += 1;
      assert.equal(spec.condition, 'service_healthy', `${name} -> ${dep}`);
      assert.ok(services[dep]?.healthcheck, `${dep} (needed by ${name}) has a healthcheck`);
    }
  }
  assert.ok(edges >= 6, `expected the start order to be declared, got ${edges} edges`);
  assert.deepEqual(Object.keys(services.e2e!.depends_on ?? {}).sort(), ['backend', 'grafana', 'init', 'selenium']);
});

test('four networks, each used; members can reach whom the data flow needs', () => {
  assert.deepEqual(Object.keys(config.networks).sort(), ['backend', 'browsers', 'frontend', 'prometheus']);
  for (const net of Object.keys(config.networks)) {
    assert.ok(
      Object.keys(services).some((s) => networksOf(s).includes(net)),
      `network ${net} is used`,
    );
  }
  const mustReach: Array<[string, string]> = [
    ['prometheus', 'alertmanager'],
    ['alertmanager', 'backend'],
    ['backend', 'alertmanager'],
    ['prometheus', 'node-exporter'],
    ['prometheus', 'worker-prometheus'],
    ['prometheus', 'scraper'],
    ['prometheus', 'backend'],
    ['grafana', 'prometheus'],
    ['grafana', 'graphite'],
    ['grafana', 'influxdb'],
    ['grafana', 'backend'],
    ['scraper', 'graphite'],
    ['scraper', 'influxdb'],
    ['backend', 'prometheus'],
    ['backend', 'worker-prometheus'],
    ['backend', 'scraper'],
    ['backend', 'graphite'],
    ['backend', 'influxdb'],
    ['worker-prometheus', 'iss-sim'],
    ['scraper', 'iss-sim'],
    ['backend', 'iss-sim'],
    ['selenium', 'backend'],
    ['selenium', 'grafana'],
    ['e2e', 'selenium'],
    ['e2e', 'backend'],
    ['e2e', 'grafana'],
  ];
  for (const [from, to] of mustReach) {
    const shared = networksOf(from).filter((n) => networksOf(to).includes(n));
    assert.ok(shared.length > 0, `${from} must reach ${to}: ${networksOf(from)} vs ${networksOf(to)}`);
  }
  // Least privilege: host metrics and the browser stay on their own networks.
  assert.deepEqual(networksOf('node-exporter'), ['prometheus']);
  assert.deepEqual(networksOf('selenium'), ['browsers']);
  assert.deepEqual(networksOf('e2e'), ['browsers']);
  for (const name of ['influxdb', 'graphite', 'node-exporter']) assert.ok(!networksOf(name).includes('browsers'), name);
  // Whoever polls MOEX or installs plugins needs a network with egress.
  for (const name of ['worker-prometheus', 'scraper', 'backend', 'grafana', 'alertmanager']) {
    assert.ok(
      networksOf(name).some((n) => !config.networks[n]?.internal),
      `${name} has egress`,
    );
  }
});

test('Grafana: admin password from a compose secret (never admin/admin), plugins preinstalled, provisioning mounted', () => {
  const grafana = services.grafana!;
  assert.equal(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD, undefined);
  assert.equal(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD__FILE, '/run/secrets/grafana_admin_password');
  assert.ok(secretsOf('grafana').includes('grafana_admin_password'));
  assert.match(grafana.image ?? '', /^grafana\/grafana:12\.\d+\.\d+$/, 'grafana/grafana (grafana-oss has no tags from 12.4 on), a pinned 12.x tag');
  // Installed before provisioning runs, at pinned versions (grafana-provisioning.test.ts checks they cover what is provisioned).
  const plugins = (grafana.environment?.GF_PLUGINS_PREINSTALL_SYNC ?? '').split(',');
  assert.deepEqual(plugins.map((p) => p.split('@')[0]).sort(), ['grafana-clock-panel', 'yesoreyeram-infinity-datasource']);
  for (const p of plugins) assert.match(p, /^[a-z0-9-]+@\d+\.\d+\.\d+$/, `${p} is pinned`);
  assert.equal(grafana.environment?.GF_PLUGINS_PREINSTALL, undefined, 'no background (async) install');
  const targets = (grafana.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
  assert.ok(targets.includes('/etc/grafana/provisioning'));
  assert.ok(targets.includes('/var/lib/grafana/dashboards'));
  assert.ok(targets.includes('/var/lib/grafana'));
});

test('a fresh clone: compose needs no .env; init writes every file of secrets/ the services mount; no secret in any environment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-secrets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretsDir = join(dir, 'secrets');
  const made = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'init/src/main.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, SECRETS_DIR: secretsDir },
  });
  assert.equal(made.status, 0, made.stderr);
  assert.doesNotMatch(made.stdout + made.stderr, new RegExp(readFileSync(join(secretsDir, 'prometheus_password'), 'utf8')), 'no password printed');

  // Without any env file, every variable has its default: no warning, no required variable.
  const emptyEnvFile = join(dir, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const r = composeConfig(emptyEnvFile);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /WARNING|not set/);
  const rendered = parse(r.stdout) as Compose;
  const init = rendered.services.init!;
  assert.deepEqual(init.command, ['init']);
  assert.equal(init.restart, 'no');
  assert.equal(init.environment?.SECRETS_DIR, '/project/secrets');
  assert.ok(
    (init.volumes ?? []).some((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`).startsWith(`${ROOT}:/project`)),
    "init writes the project folder's secrets/",
  );
  // Every secret file a service mounts is one init writes, under the same name.
  const mounted = new Set(Object.keys(rendered.services).flatMap(secretsOf));
  assert.ok(mounted.size >= 9, `mounted: ${[...mounted].join(', ')}`);
  for (const name of mounted) assert.ok(existsSync(join(secretsDir, name)), `init writes secrets/${name}`);
  // `docker inspect` shows a container's environment: no generated secret may be in one.
  const secretValues = [
    'prometheus_password',
    'grafana_admin_password',
    'influxdb_admin_password',
    'influxdb_user_password',
    'influxdb_token',
    'graphite_admin_password',
  ].map((n) => readFileSync(join(secretsDir, n), 'utf8'));
  for (const [name, svc] of Object.entries(rendered.services)) {
    for (const [key, value] of Object.entries(svc.environment ?? {})) {
      for (const secret of secretValues) assert.ok(!String(value).includes(secret), `${name} ${key} holds a secret`);
      if (/PASSWORD|TOKEN|SECRET(?!S_DIR)/.test(key)) assert.match(key, /_FILE$/, `${name}: ${key} must be given as a file`);
    }
  }
});

test('app containers: read-only root, a small tmpfs, no capabilities, no new privileges, a memory limit above the bench figures', () => {
  for (const name of APP_SERVICES) {
    const svc = services[name]!;
    assert.equal(svc.read_only, true, name);
    assert.deepEqual(svc.cap_drop, ['ALL'], name);
    assert.deepEqual(svc.security_opt, ['no-new-privileges:true'], name);
    const tmpfs = Array.isArray(svc.tmpfs) ? svc.tmpfs : [svc.tmpfs];
    assert.ok(
      tmpfs.some((m) => m?.startsWith('/tmp')),
      `${name} tmpfs ${String(svc.tmpfs)}`,
    );
    // docs/BENCHMARKS.md: worker/scraper RSS ~80 MB at ALL (default poll), ~110 MB at a 1 s poll.
    const mb = Number(/^(\d+)m$/.exec(String(svc.mem_limit))?.[1]);
    assert.ok(mb >= 160 && mb <= 512, `${name} mem_limit ${String(svc.mem_limit)}`);
  }
});

test('the web config: our services, Prometheus and node-exporter share secrets/web-config.yml and its certificate', () => {
  for (const name of ['worker-prometheus', 'scraper', 'backend']) {
    assert.equal(services[name]!.environment!.WEB_CONFIG_FILE, '/run/secrets/web-config.yml', name);
    assert.equal(services[name]!.environment!.NODE_EXTRA_CA_CERTS, '/run/secrets/tls.crt', name);
  }
  for (const name of ['worker-prometheus', 'scraper', 'backend', 'prometheus', 'node-exporter', 'alertmanager']) {
    for (const s of ['web-config.yml', 'tls.crt', 'tls.key']) assert.ok(secretsOf(name).includes(s), `${name} mounts ${s}`);
  }
  for (const name of ['prometheus', 'node-exporter', 'alertmanager']) {
    assert.ok((services[name]!.command as string[]).includes('--web.config.file=/run/secrets/web-config.yml'), name);
  }
  // Our services' healthchecks are the image's own (lib/healthcheck.ts), which speaks https
  // when WEB_CONFIG_FILE has a certificate (test/unit/dockerfile.test.ts runs it).
  for (const name of ['worker-prometheus', 'worker-shard', 'scraper', 'backend', 'iss-sim']) {
    assert.deepEqual(services[name]!.healthcheck!.test, ['CMD', 'node', 'dist/lib/healthcheck.js'], name);
  }
  // graphite-web: the image's root/root superuser is replaced by the secret's password.
  assert.ok(secretsOf('graphite').includes('graphite_admin_password'));
  const graphiteMounts = (services.graphite!.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  assert.ok(graphiteMounts.some((m) => m.includes('graphite/django_admin_init.sh:/opt/graphite/bin/django_admin_init.sh')));
});

test('named volumes keep Prometheus, Alertmanager, Grafana, Graphite and InfluxDB data, the scraper’s spool, shard claims and VictoriaMetrics', () => {
  assert.deepEqual(Object.keys(config.volumes).sort(), [
    'alertmanager-data',
    'grafana-data',
    'graphite-data',
    'influxdb-data',
    'prometheus-data',
    'scraper-spool',
    'shard-claims',
    'victoria-metrics-data',
  ]);
  const mounts = (name: string) => (services[name]!.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  assert.ok(mounts('prometheus').some((m) => m.startsWith('prometheus-data:/prometheus')));
  assert.ok(mounts('grafana').some((m) => m.startsWith('grafana-data:/var/lib/grafana')));
  assert.ok(mounts('graphite').some((m) => m.startsWith('graphite-data:/opt/graphite/storage')));
  assert.ok(mounts('influxdb').some((m) => m.startsWith('influxdb-data:/var/lib/influxdb')));
  assert.ok(mounts('scraper').some((m) => m.startsWith('scraper-spool:/var/lib/moex-scraper')));
  assert.equal(services.scraper!.environment?.SCRAPER_SPOOL_DIR, '/var/lib/moex-scraper/spool');
});

test('bind-mounted configs exist in the repository where compose expects them', () => {
  const raw = parse(readFileSync(COMPOSE_FILE, 'utf8')) as Compose;
  const sources = Object.values(raw.services)
    .flatMap((s) => (s.volumes ?? []) as string[])
    .map((v) => v.split(':')[0]!)
    .filter((src) => src.startsWith('./') && src !== './test-results' && !src.startsWith('./secrets/'));
  assert.ok(sources.length >= 6, `bind mounts: ${sources.join(', ')}`);
  for (const src of sources) assert.ok(existsSync(join(ROOT, src)), `${src} exists`);
  const graphiteTargets = (raw.services.graphite!.volumes as string[]).map((v) => v.split(':')[1]);
  assert.ok(graphiteTargets.includes('/opt/statsd/config/udp.js'));
  assert.ok(graphiteTargets.includes('/opt/graphite/conf/storage-schemas.conf'));
  assert.ok(graphiteTargets.includes('/opt/graphite/conf/storage-aggregation.conf'));
  const prometheusCommand = raw.services.prometheus!.command as string[];
  // The lifecycle API (POST /-/quit) only ever behind the web config's authentication.
  assert.ok(prometheusCommand.includes('--web.enable-lifecycle'));
  assert.ok(prometheusCommand.includes('--web.config.file=/run/secrets/web-config.yml'));
});

test('services are wired to each other by service name, InfluxDB with auth and the v2 write API', () => {
  const scraper = services.scraper!.environment!;
  assert.equal(scraper.GRAPHITE_TRANSPORT, 'statsd');
  assert.equal(scraper.STATSD_HOST, 'graphite');
  assert.equal(scraper.STATSD_PORT, '8125');
  assert.equal(scraper.INFLUX_URL, 'http://influxdb:8086');
  assert.equal(scraper.INFLUX_API, 'v2');
  assert.equal(scraper.INFLUX_TOKEN_FILE, '/run/secrets/influxdb_token');
  assert.equal(scraper.INFLUX_BUCKET, 'pyexample/autogen');

  const backend = services.backend!.environment!;
  assert.equal(backend.PROMETHEUS_URL, 'https://prometheus:9090');
  assert.equal(backend.WORKER_URL, 'https://worker-prometheus:8000');
  assert.equal(backend.SCRAPER_URL, 'https://scraper:8001');
  assert.equal(backend.PROMETHEUS_USERNAME, 'prometheus');
  assert.equal(backend.PROMETHEUS_PASSWORD_FILE, '/run/secrets/prometheus_password');
  assert.equal(backend.INFLUX_PASSWORD_FILE, '/run/secrets/influxdb_user_password');
  assert.equal(backend.GRAPHITE_URL, 'http://graphite:80');
  assert.equal(backend.INFLUX_URL, 'http://influxdb:8086');

  const influx = services.influxdb!.environment!;
  assert.equal(influx.INFLUXDB_DB, 'pyexample');
  assert.equal(influx.INFLUXDB_HTTP_AUTH_ENABLED, 'true');
  assert.equal(influx.INFLUXDB_USER, exampleEnv.INFLUXDB_USER);
  assert.equal(influx.INFLUXDB_USER_PASSWORD_FILE, '/run/secrets/influxdb_user_password');
  assert.equal(influx.INFLUXDB_ADMIN_PASSWORD_FILE, '/run/secrets/influxdb_admin_password');

  const e2e = services.e2e!.environment!;
  assert.equal(e2e.SELENIUM_URL, 'http://selenium:4444');
  // The browser checks reach the backend as its users do: https, the stack's user and password.
  assert.equal(e2e.BACKEND_URL, 'https://backend:8998');
  assert.equal(e2e.BACKEND_USER, 'prometheus');
  assert.equal(e2e.BACKEND_PASSWORD_FILE, '/run/secrets/prometheus_password');
  assert.equal(e2e.BACKEND_CA_FILE, '/run/secrets/tls.crt');
  assert.equal(e2e.GRAFANA_URL, 'http://grafana:3000');
});

test('profiles: iss-sim under demo, selenium and e2e under e2e, worker shards and VictoriaMetrics under scale, the rest always on', () => {
  for (const [name, svc] of Object.entries(services)) {
    const expected =
      name === 'iss-sim'
        ? ['demo']
        : ['selenium', 'e2e'].includes(name)
          ? ['e2e']
          : ['worker-shard', 'victoria-metrics'].includes(name)
            ? ['scale']
            : undefined;
    assert.deepEqual(svc.profiles, expected, name);
  }
});

test('MOEX_ISS_URL defaults to the real ISS and points every poller at the simulator when set', () => {
  for (const name of ['worker-prometheus', 'scraper', 'backend']) {
    assert.equal(services[name]!.environment!.MOEX_ISS_URL, 'https://iss.moex.com/iss', name);
  }
  const demo = composeConfig(ENV_EXAMPLE, { MOEX_ISS_URL: 'http://iss-sim:8999/iss' });
  assert.equal(demo.status, 0, demo.stderr);
  const demoServices = (parse(demo.stdout) as Compose).services;
  for (const name of ['worker-prometheus', 'scraper', 'backend']) {
    assert.equal(demoServices[name]!.environment!.MOEX_ISS_URL, 'http://iss-sim:8999/iss', name);
  }
});

test(".env.example's demo block, uncommented, is the demo ./runner.sh containers up --demo runs: the simulator, every market of ops/demo.sh", () => {
  const text = readFileSync(ENV_EXAMPLE, 'utf8');
  const block = text.slice(text.indexOf('# --- The simulator'), text.indexOf('# ---', text.indexOf('# --- The simulator') + 1));
  const uncommented = join(mkdtempSync(join(tmpdir(), 'demo-env-')), 'demo.env');
  writeFileSync(uncommented, block.replace(/^# ([A-Z][A-Z0-9_]*=)/gm, '$1'));
  const demo = composeConfig(uncommented);
  assert.equal(demo.status, 0, demo.stderr);
  const demoServices = (parse(demo.stdout) as Compose).services;
  assert.ok(demoServices['iss-sim'], 'COMPOSE_PROFILES=demo starts the simulator');
  const { DEMO_SOURCES: sources, DEMO_ALGOPACK: algopack } = demoSettings();
  assert.match(sources, /futures\/options\/ROPD=/, 'ops/demo.sh names every market, options included');
  for (const name of ['worker-prometheus', 'scraper']) {
    const env = demoServices[name]!.environment!;
    assert.equal(env.MOEX_ISS_URL, 'http://iss-sim:8999/iss', name);
    assert.equal(env.MOEX_SOURCES, sources, `${name}: MOEX_SOURCES as ops/demo.sh`);
    assert.equal(env.MOEX_ALGOPACK, algopack, `${name}: MOEX_ALGOPACK as ops/demo.sh`);
  }
});

test('alertmanager: pinned image, config rendered at start, healthcheck, networks, port bound to BIND_ADDRESS', () => {
  const am = services.alertmanager!;
  assert.match(am.image ?? '', /^prom\/alertmanager:v0\.(27|28)\.\d+$/);
  const raw = parse(readFileSync(COMPOSE_FILE, 'utf8')) as Compose;
  assert.deepEqual(raw.services.alertmanager!.ports, ['${BIND_ADDRESS:-127.0.0.1}:9093:9093']);
  const everywhere = composeConfig(ENV_EXAMPLE, { BIND_ADDRESS: '0.0.0.0' });
  assert.equal(everywhere.status, 0, everywhere.stderr);
  const resolvedPorts = (parse(everywhere.stdout) as Compose).services.alertmanager!.ports!.map(String);
  assert.deepEqual(resolvedPorts, ['0.0.0.0:9093:9093/tcp']);

  const probe = (am.healthcheck?.test as string[]).join(' ');
  // Behind the web config: up = it answers over TLS and asks for credentials.
  assert.match(probe, /https:\/\/127\.0\.0\.1:9093\/-\/ready.*401/);
  assert.deepEqual(networksOf('alertmanager').sort(), ['frontend', 'prometheus']);

  // render.sh turns the template into the config, checks it with amtool, then execs Alertmanager.
  const entrypoint = (am as { entrypoint?: string[] }).entrypoint ?? [];
  assert.deepEqual(entrypoint, ['/bin/sh', '/etc/alertmanager/render.sh', '/alertmanager/alertmanager.yml', '--']);
  const command = am.command as string[];
  assert.equal(command[0], 'alertmanager');
  assert.ok(command.includes('--config.file=/alertmanager/alertmanager.yml'));
  assert.ok(command.includes('--cluster.listen-address='), 'no cluster gossip port');
  const mounts = (am.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  assert.ok(
    mounts.some((m) => m.endsWith('/alertmanager:/etc/alertmanager:ro')),
    mounts.join('\n'),
  );
  assert.ok(mounts.some((m) => m.startsWith('alertmanager-data:/alertmanager')));
  assert.ok(existsSync(join(ROOT, 'alertmanager', 'render.sh')) && existsSync(join(ROOT, 'alertmanager', 'alertmanager.yml')));

  // With no receiver configured, alerts go to the backend, which asks Alertmanager for its status.
  assert.equal(am.environment?.ALERT_BACKEND_URL, 'https://backend:8998/api/alerts');
  assert.equal(am.environment?.ALERT_WEBHOOK_URL, '');
  assert.equal(services.backend!.environment?.ALERTMANAGER_URL, 'https://alertmanager:9093');
  // Prometheus sends to the service by name.
  assert.match(
    readFileSync(join(ROOT, 'prometheus', 'prometheus.yml'), 'utf8'),
    /^alerting:\n {2}alertmanagers:\n(?: {4}#.*\n)? {4}- api_version: v2\n {6}scheme: https\n(?: {6,}.*\n)*? {6}static_configs:\n {8}- targets:\n {12}- alertmanager:9093$/m,
  );
});

test('alertmanager receivers come from .env; secret files are mounted, never inlined', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const token = join(dir, 'telegram-token');
  writeFileSync(token, '123:abc\n');
  const r = composeConfig(ENV_EXAMPLE, {
    ALERT_WEBHOOK_URL: 'https://hooks.example/alerts',
    ALERT_TELEGRAM_CHAT_ID: '-100',
    ALERT_TELEGRAM_BOT_TOKEN_FILE: token,
  });
  assert.equal(r.status, 0, r.stderr);
  const am = (parse(r.stdout) as Compose).services.alertmanager!;
  assert.equal(am.environment?.ALERT_WEBHOOK_URL, 'https://hooks.example/alerts');
  assert.equal(am.environment?.ALERT_TELEGRAM_CHAT_ID, '-100');
  assert.equal(am.environment?.ALERT_TELEGRAM_BOT_TOKEN_FILE, '/run/secrets/alert-telegram-bot-token');
  const mounts = (am.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  assert.ok(mounts.includes(`${token}:/run/secrets/alert-telegram-bot-token:ro`), mounts.join('\n'));
  assert.doesNotMatch(r.stdout, /123:abc/);
});
