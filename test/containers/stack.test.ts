// docker-compose.yml run for real: on this machine kind Podman with Debian stand-ins, elsewhere
// Docker with the pinned images (test/containers/environment.ts sets the engine up). First as a
// new user meets it: a fresh clone, no .env, no secrets/, plain `docker-compose up -d`. Then the
// full stack through `./runner.sh containers` (demo profile) under a private project name; the steps
// run in order against it; `after` tears everything down even when a step failed. The published
// ports are fixed in the compose file, so nothing else may hold them (e.g. a native `./runner.sh demo`).
// The stack is probed as its users reach it (docs/security.md): Prometheus, the worker and the
// backend over https with the stack's basic credentials (secrets/prometheus_password, certificate
// secrets/tls.crt), InfluxDB with its user and secrets/influxdb_user_password.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { PASSWORD_FILES } from '../../init/src/secrets';
import { REPO_ROOT } from '../support/daemons';
import { demoSettings } from '../support/demo';
import { eventually } from '../support/services';
import { request } from '../support/https';
import { runProcess, type RunResult } from '../support/run';
import { healthLoop, prepareEngine, type Engine } from './environment';

const STATE_DIR = mkdtempSync(join(tmpdir(), 'moex-containers-'));
const PROJECT = `moexct${process.pid}`;
const POLL_SECONDS = 5;
// Between two looks at the stack: a look may cost compose or exec calls of a second or more.
const PROBE_INTERVAL_MS = 2000;
const OURS = ['worker-prometheus', 'scraper', 'backend', 'iss-sim'];
const PROM = 'https://127.0.0.1:9090';
const GRAPHITE = 'http://127.0.0.1:18000';
const INFLUX = 'http://127.0.0.1:8086';
const BACKEND = 'https://127.0.0.1:8998';
const WORKER = 'https://127.0.0.1:28000';
// compose mounts ./secrets/ of the project folder; its `init` service writes what is missing.
const SECRETS_DIR = join(REPO_ROOT, 'secrets');
const STACK_USER = 'prometheus';
const INFLUX_USER = 'pyexample';

let engine: Engine;
let stopHealthLoop: () => Promise<void> = async () => {};
let ENV: Record<string, string> = {};

before(async () => {
  engine = await prepareEngine(join(STATE_DIR, 'engine'));
  ENV = { ...engine.env, COMPOSE_PROJECT_NAME: PROJECT, POLL_SCHEDULE: `*/${POLL_SECONDS} * * * * *`, MOEX_TICKERS: 'SBERP,SBER,GAZP' };
  // Our image from this tree's sources (an image of an older build would otherwise be reused).
  const started = Date.now();
  const build = await runProcess('docker-compose', ['--profile', 'e2e', 'build', '--quiet', 'worker-prometheus', 'e2e'], ENV, REPO_ROOT);
  assert.equal(build.code, 0, `building our images:\n${build.stderr.slice(-3000)}`);
  console.log(`our images built in ${Math.round((Date.now() - started) / 1000)} s`);
  stopHealthLoop = healthLoop(engine);
});

after(async () => {
  await stopHealthLoop();
  await engine?.stop();
  rmSync(STATE_DIR, { recursive: true, force: true });
});

type ComposeService = { profiles?: string[] };
/** The long-running services of the given profile: all but Grafana when stand-ins run, Selenium, e2e and the one-shot init. */
function expectedServices(composeFile: string, profile: string | null): string[] {
  const compose = parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, ComposeService> };
  return Object.entries(compose.services)
    .filter(([name]) => !['selenium', 'e2e', 'init'].includes(name) && !(name === 'grafana' && engine.standins))
    .filter(([, svc]) => svc.profiles === undefined || (profile !== null && svc.profiles.includes(profile)))
    .map(([name]) => name);
}

const containers = (...args: string[]): Promise<RunResult> => runProcess(join(REPO_ROOT, 'runner.sh'), ['containers', ...args], ENV, REPO_ROOT);
const compose = (...args: string[]): Promise<RunResult> => containers('compose', ...args);
const tail = (r: RunResult): string => `${r.stdout}\n${r.stderr}`.split('\n').slice(-40).join('\n');

function assertOk(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${tail(r)}`);
}

const engineCli = (...args: string[]): Promise<RunResult> => engine.cli(args);

const secret = (name: string, dir = SECRETS_DIR): string => readFileSync(join(dir, name), 'utf8').trim();

/** "service state health exitcode" of every container of `project`. */
async function states(project: string): Promise<Array<{ service: string; state: string; health: string; exit: string }>> {
  const ids = (await engineCli('ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`)).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const r = await engineCli(
    'inspect',
    '--format',
    '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{with .State.Health}}{{or .Status "-"}}{{else}}-{{end}} {{.State.ExitCode}}',
    ...ids,
  );
  assertOk(r, 'inspect');
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [service = '', state = '', health = '', exit = ''] = l.split(' ');
      return { service, state, health, exit };
    });
}

/** Every file of a folder → its sha256: to see that a second `up` changed none. */
function fingerprints(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex'),
      ]),
  );
}

type GetOptions = { auth?: 'stack' | 'influx' | 'none'; method?: string; body?: string; headers?: Record<string, string> };
/**
 * GET (or POST) with the credentials a user of the stack has: `stack` is the web config's user
 * (https ports), `influx` InfluxDB's user, `none` nothing. https is checked against secrets/tls.crt.
 */
async function getJson<T>(url: string, options: GetOptions = {}): Promise<{ status: number; body: T }> {
  const auth = options.auth ?? (url.startsWith('https:') ? 'stack' : 'none');
  const credentials =
    auth === 'stack'
      ? { user: STACK_USER, password: secret('prometheus_password') }
      : auth === 'influx'
        ? { user: INFLUX_USER, password: secret('influxdb_user_password') }
        : {};
  const res = await request(url, {
    ...credentials,
    ca: url.startsWith('https:') ? readFileSync(join(SECRETS_DIR, 'tls.crt')) : undefined,
    method: options.method,
    body: options.body,
    headers: options.headers,
  });
  let body: unknown = res.body;
  try {
    body = JSON.parse(res.body);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: body as T };
}

type PromVector = { data: { result: Array<{ value: [number, string] }> } };
async function promValue(query: string, at?: number): Promise<number | undefined> {
  const params = new URLSearchParams({ query });
  if (at !== undefined) params.set('time', String(at));
  const { body } = await getJson<PromVector>(`${PROM}/api/v1/query?${params}`);
  const v = body.data?.result?.[0]?.value?.[1];
  return v === undefined ? undefined : Number(v);
}

/** What the running Prometheus loaded, from its own API: scrape jobs, remote-write URLs, rule groups. */
async function runningPrometheus(): Promise<{ jobs: string[]; remoteWrite: string[]; ruleGroups: string[] }> {
  const config = await getJson<{ data: { yaml: string } }>(`${PROM}/api/v1/status/config`);
  assert.equal(config.status, 200, 'GET /api/v1/status/config');
  const yaml = parse(config.body.data.yaml) as { scrape_configs?: Array<{ job_name: string }>; remote_write?: Array<{ url: string }> };
  const rules = await getJson<{ data: { groups: Array<{ name: string }> } }>(`${PROM}/api/v1/rules`);
  assert.equal(rules.status, 200, 'GET /api/v1/rules');
  return {
    jobs: (yaml.scrape_configs ?? []).map((j) => j.job_name).sort(),
    remoteWrite: (yaml.remote_write ?? []).map((r) => r.url),
    ruleGroups: rules.body.data.groups.map((g) => g.name).sort(),
  };
}

/** The scrape jobs of a config generated into prometheus/ (./runner.sh configs), and the rule groups of prometheus/rules/. */
function generatedPrometheus(file: string): { jobs: string[]; ruleGroups: string[] } {
  const dir = join(REPO_ROOT, 'prometheus');
  const config = parse(readFileSync(join(dir, file), 'utf8')) as { scrape_configs: Array<{ job_name: string }> };
  const ruleGroups = readdirSync(join(dir, 'rules'))
    .filter((f) => f.endsWith('.yml'))
    .flatMap((f) => (parse(readFileSync(join(dir, 'rules', f), 'utf8')) as { groups: Array<{ name: string }> }).groups.map((g) => g.name));
  return { jobs: config.scrape_configs.map((j) => j.job_name).sort(), ruleGroups: ruleGroups.sort() };
}

type InfluxResult = { results: Array<{ series?: Array<{ values: Array<[string, number]> }>; error?: string }> };
function influxQuery(q: string, auth: boolean): Promise<{ status: number; body: InfluxResult }> {
  return getJson<InfluxResult>(`${INFLUX}/query?db=pyexample&epoch=s`, {
    auth: auth ? 'influx' : 'none',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q }).toString(),
  });
}
async function influxSberTimes(fromS: number, toS: number): Promise<number[]> {
  const { status, body } = await influxQuery(`SELECT "last" FROM stocks WHERE ticker='SBER' AND time >= ${fromS}s AND time <= ${toS}s`, true);
  assert.equal(status, 200, JSON.stringify(body));
  return (body.results[0]?.series?.[0]?.values ?? []).map(([t]) => Number(t));
}

type GraphiteSeries = Array<{ datapoints: Array<[number | null, number]> }>;
async function graphiteSber(from: string, until = 'now'): Promise<number[]> {
  const { body } = await getJson<GraphiteSeries>(`${GRAPHITE}/render?target=stocks.SBER.last&format=json&from=${from}&until=${until}`);
  return (body[0]?.datapoints ?? []).flatMap(([v]) => (v === null ? [] : [v]));
}

/** Container id by compose service: one compose call and one inspect (each compose call costs seconds). */
async function containerIds(): Promise<Map<string, string>> {
  const ps = await compose('ps', '-q');
  assertOk(ps, 'compose ps -q');
  const ids = ps.stdout.split('\n').filter(Boolean);
  const r = await engineCli('inspect', '--format', '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}}', ...ids);
  assertOk(r, 'inspect');
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}
async function execIn(service: string, ...args: string[]): Promise<RunResult> {
  const id = (await containerIds()).get(service);
  assert.ok(id, `${service} has a container`);
  return engineCli('exec', id, ...args);
}

/**
 * The scraper's own metrics (its port is not published): fetched inside its container over its
 * https, with the stack's credentials handed over on stdin (never on a command line).
 */
async function scraperMetric(pattern: RegExp): Promise<number> {
  const id = (await containerIds()).get('scraper');
  assert.ok(id, 'scraper has a container');
  const r = await engine.cli(
    [
      'exec',
      '-i',
      id,
      'node',
      '-e',
      `let a='';process.stdin.on('data',d=>a+=d).on('end',()=>
    fetch('https://127.0.0.1:8001/metrics',{headers:{authorization:'Basic '+Buffer.from(a).toString('base64')}})
    .then(r=>r.text()).then(t=>process.stdout.write(t)))`,
    ],
    `${STACK_USER}:${secret('prometheus_password')}`,
  );
  assertOk(r, 'reading the scraper metrics');
  // Summed over the series that match (moex_polls_total has a board label per polled board).
  return r.stdout
    .split('\n')
    .filter((l) => pattern.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

const nowS = (): number => Math.floor(Date.now() / 1000);

describe('first contact: a fresh clone, no .env, no secrets/, plain docker-compose up -d', { timeout: 30 * 60_000 }, () => {
  const clone = join(STATE_DIR, 'clone');
  const project = `${PROJECT}fresh`;
  // The compose file as shipped, plus only the stand-in override where the images cannot be pulled.
  const env = (): Record<string, string> => ({
    ...engine.env,
    COMPOSE_PROJECT_NAME: project,
    ...(engine.standins ? { COMPOSE_FILE: `${join(clone, 'docker-compose.yml')}:${join(REPO_ROOT, 'test/containers/standins/compose.yml')}` } : {}),
  });
  const inClone = (command: string, args: string[]): Promise<RunResult> => runProcess(command, args, env(), clone);
  let firstSecrets: Record<string, string> = {};

  after(async () => {
    const r = await inClone('docker-compose', ['down', '-v', '--remove-orphans']);
    if (r.code !== 0) console.error(`fresh clone: down -v: ${tail(r)}`);
  });

  async function allHealthy(): Promise<void> {
    const expected = expectedServices(join(clone, 'docker-compose.yml'), null);
    await eventually(
      async () => {
        const now = await states(project);
        const init = now.find((s) => s.service === 'init');
        if (init?.state === 'exited' && init.exit !== '0') throw new Error(`init exited ${init.exit}`);
        const pending = expected.filter((name) => !now.some((s) => s.service === name && s.state === 'running' && s.health === 'healthy'));
        return init?.state === 'exited' && pending.length === 0 ? now : undefined;
      },
      10 * 60_000,
      `every service of the fresh clone healthy (${expected.join(', ')})`,
      3000,
    );
  }

  test('git clone of this HEAD, then docker-compose up -d: init writes the secrets, every service turns healthy', { timeout: 15 * 60_000 }, async () => {
    const branch = (await runProcess('git', ['rev-parse', 'HEAD'], {}, REPO_ROOT)).stdout.trim();
    assertOk(await runProcess('git', ['clone', '--quiet', '--no-checkout', REPO_ROOT, clone]), 'git clone');
    assertOk(await runProcess('git', ['checkout', '--quiet', branch], {}, clone), 'git checkout');
    assert.ok(!existsSync(join(clone, '.env')) && !existsSync(join(clone, 'secrets')), 'a fresh clone has neither .env nor secrets/');
    const started = Date.now();
    assertOk(await inClone('docker-compose', ['up', '-d']), 'docker-compose up -d');
    await allHealthy();
    console.log(`fresh clone: every service healthy ${Math.round((Date.now() - started) / 1000)} s after up -d`);
    firstSecrets = fingerprints(join(clone, 'secrets'));
    for (const name of [...PASSWORD_FILES, 'influxdb_token', 'web-config.yml', 'tls.crt', 'tls.key'])
      assert.ok(firstSecrets[name], `init wrote secrets/${name}`);
    assert.equal(statSync(join(clone, 'secrets')).mode & 0o077, 0, 'secrets/ is private to its owner');
  });

  test('a second docker-compose up -d changes no secret and keeps every service healthy', { timeout: 10 * 60_000 }, async () => {
    assert.ok(Object.keys(firstSecrets).length > 0, 'the first up ran');
    assertOk(await inClone('docker-compose', ['up', '-d']), 'docker-compose up -d (again)');
    await allHealthy();
    assert.deepEqual(fingerprints(join(clone, 'secrets')), firstSecrets);
  });

  test(
    './runner.sh urls prints a working URL for each running service, its user and password file, and the certificate',
    { timeout: 10 * 60_000 },
    async () => {
      // What `npm ci` would install from the same lockfile, shared instead of installed again.
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'));
      const urls = await inClone(join(clone, 'runner.sh'), ['urls']);
      assertOk(urls, './runner.sh urls');
      const running = new Set((await states(project)).filter((s) => s.state === 'running').map((s) => s.service));
      const lines: Record<string, RegExp> = {
        grafana: /^ {2}Grafana .*http:\/\/127\.0\.0\.1:3000\/ .*user admin, password in secrets\/grafana_admin_password; answers 200$/m,
        prometheus: /^ {2}Prometheus .*https:\/\/127\.0\.0\.1:9090\/ .*user prometheus, password in secrets\/prometheus_password; answers 200$/m,
        alertmanager: /^ {2}Alertmanager .*https:\/\/127\.0\.0\.1:9093\/ .*user prometheus, .*; answers 200$/m,
        backend: /^ {2}backend .*https:\/\/127\.0\.0\.1:8998\/ .*user prometheus, .*; answers 200$/m,
        'worker-prometheus': /^ {2}worker \/metrics .*https:\/\/127\.0\.0\.1:28000\/metrics .*; answers 200$/m,
        graphite: /^ {2}graphite-web .*http:\/\/127\.0\.0\.1:18000\/ .*secrets\/graphite_admin_password.*; answers 200$/m,
        influxdb: /^ {2}InfluxDB .*http:\/\/127\.0\.0\.1:8086\/ .*user pyexample, password in secrets\/influxdb_user_password .*; answers 204$/m,
      };
      for (const [service, line] of Object.entries(lines)) if (running.has(service)) assert.match(urls.stdout, line, `${service} in:\n${urls.stdout}`);
      assert.ok(running.has('prometheus') && running.has('backend'), `running: ${[...running].join(', ')}`);
      assert.match(urls.stdout, /^Certificate: secrets\/tls\.crt is (self-signed and not trusted|trusted) by this system/m);
    },
  );

  test('curl as the README shows it gets 200 from Prometheus on :9090', async () => {
    const readme = readFileSync(join(clone, 'README.md'), 'utf8');
    const line = readme.split('\n').find((l) => /^curl .*:9090/.test(l));
    assert.ok(line, 'the README shows one curl line for Prometheus');
    const r = await runProcess('bash', ['-c', `${line} -sS -o /dev/null -w '%{http_code}'`], {}, clone);
    assertOk(r, line);
    assert.equal(r.stdout, '200', line);
  });
});

describe('the compose stack in containers (./runner.sh containers up --demo)', { timeout: 40 * 60_000 }, () => {
  let tornDown = false;

  after(async () => {
    if (!tornDown) {
      const r = await containers('down', '-v');
      if (r.code !== 0) console.error(`containers down -v: ${tail(r)}`);
    }
  });

  test('up --demo: init writes the secrets, every service turns healthy', { timeout: 25 * 60_000 }, async () => {
    const started = Date.now();
    const up = await containers('up', '--demo');
    assertOk(up, './runner.sh containers up --demo');
    console.log(`containers up --demo: ${Math.round((Date.now() - started) / 1000)} s`);
    // It ends with `init urls` run in our image: where everything is, with no Node on the host.
    assert.match(up.stdout, /^ {2}backend .*https:\/\/127\.0\.0\.1:8998\/ +user prometheus, password in secrets\/prometheus_password$/m, up.stdout);
    assert.match(up.stdout, /^ {2}Grafana .*http:\/\/127\.0\.0\.1:3000\/ +user admin, password in secrets\/grafana_admin_password$/m, up.stdout);
    assert.equal(statSync(SECRETS_DIR).mode & 0o077, 0, 'secrets/ is private to its owner');
    const passwords = PASSWORD_FILES.map((f) => secret(f));
    assert.equal(new Set(passwords).size, passwords.length, 'a different password in each file');
    for (const p of passwords) assert.match(p, /^[A-Za-z0-9]{32}$/);
    // Passwords reach the containers as files: none is in a container's environment.
    const ids = (await compose('ps', '-q')).stdout.split('\n').filter(Boolean);
    const environments = await engineCli('inspect', '--format', '{{json .Config.Env}}', ...ids);
    for (const p of passwords) assert.ok(!environments.stdout.includes(p), 'a password in a container environment');

    const status = await containers('status');
    assertOk(status, './runner.sh containers status');
    for (const name of expectedServices(join(REPO_ROOT, 'docker-compose.yml'), 'demo')) {
      assert.match(status.stdout, new RegExp(`^${name}\\s+running\\s+healthy$`, 'm'), `${name} healthy in:\n${status.stdout}`);
    }
    assert.match(status.stdout, /^init\s+exited\s+exit 0$/m);
    if (engine.standins) assert.doesNotMatch(status.stdout, /^grafana/m, 'Grafana (no image here) stays out');
  });

  test('Prometheus runs the generated prometheus/prometheus.yml and rules/, without remote-write', async () => {
    const running = await runningPrometheus();
    const generated = generatedPrometheus('prometheus.yml');
    assert.deepEqual(running.jobs, generated.jobs);
    assert.deepEqual(running.ruleGroups, generated.ruleGroups);
    assert.ok(generated.ruleGroups.length > 0 && generated.jobs.includes('worker-prometheus'), JSON.stringify(generated));
    assert.deepEqual(running.remoteWrite, []);
  });

  test('Prometheus, the worker and the backend refuse a request without the credentials; InfluxDB too', async () => {
    for (const url of [`${PROM}/api/v1/query?query=up`, `${WORKER}/metrics`, `${BACKEND}/api/quotes`]) {
      const { status } = await getJson(url, { auth: 'none' });
      assert.equal(status, 401, `${url} without credentials`);
    }
    const unauthenticated = await influxQuery('SHOW MEASUREMENTS', false);
    assert.equal(unauthenticated.status, 401, 'InfluxDB answers without credentials: auth is off');
  });

  test("SBER's simulated price is readable from Prometheus, Graphite, InfluxDB (auth on), the backend and the worker", { timeout: 5 * 60_000 }, async () => {
    const prom = await eventually(
      () => promValue('moex_last_price{ticker="SBER"}'),
      120_000,
      'moex_last_price{ticker="SBER"} in Prometheus',
      PROBE_INTERVAL_MS,
    );
    const graphite = await eventually(async () => (await graphiteSber('-5min')).pop(), 120_000, 'stocks.SBER.last in Graphite', PROBE_INTERVAL_MS);
    const influx = await eventually(
      async () => {
        const { body } = await influxQuery(`SELECT last("last") FROM stocks WHERE ticker='SBER'`, true);
        return body.results[0]?.series?.[0]?.values?.[0]?.[1];
      },
      120_000,
      'SBER in InfluxDB',
      PROBE_INTERVAL_MS,
    );
    const backend = await eventually(
      async () => {
        const { status, body } = await getJson<{ last: number | null }>(`${BACKEND}/api/quotes/SBER`);
        return status === 200 && typeof body.last === 'number' ? body.last : undefined;
      },
      60_000,
      'SBER from the backend',
      PROBE_INTERVAL_MS,
    );
    const worker = await eventually(
      async () => {
        const { body: text } = await getJson<string>(`${WORKER}/metrics`);
        const line = text.split('\n').find((l) => l.startsWith('moex_last_price{ticker="SBER"'));
        return line ? Number(line.split(' ').pop()) : undefined;
      },
      60_000,
      'SBER on the worker (host port 28000)',
      PROBE_INTERVAL_MS,
    );
    // One simulated series, read back five ways: the same price, give or take a minute's moves.
    const prices = { prom, graphite, influx, backend, worker };
    for (const [where, price] of Object.entries(prices)) {
      assert.ok(price > 0 && Math.abs(price - prom) / prom < 0.1, `${where}: ${price} vs Prometheus ${prom}`);
    }
  });

  test('up --demo polls every market of ops/demo.sh (what the native demo polls): each board answered on the worker', { timeout: 3 * 60_000 }, async () => {
    const sources = demoSettings().DEMO_SOURCES;
    const boards = sources.split(';').map((s) => s.split('=')[0]!.split('/')[2]!);
    assert.ok(boards.includes('ROPD') && boards.length >= 7, sources);
    const answered = await eventually(
      async () => {
        const { body: text } = await getJson<string>(`${WORKER}/metrics`);
        const ok = new Set([...text.matchAll(/^moex_polls_total\{(?=[^}]*result="ok")[^}]*board="([A-Z0-9]+)"/gm)].map((m) => m[1]));
        return boards.every((b) => ok.has(b)) ? ok : undefined;
      },
      120_000,
      `a successful poll of each of ${boards.join(', ')}`,
      PROBE_INTERVAL_MS,
    );
    assert.deepEqual([...answered].sort(), [...boards].sort());
  });

  test(
    "the demo's ALGOPACK datasets: the simulator's subscriber token from secrets/demo_iss_token reaches the worker and InfluxDB",
    { timeout: 3 * 60_000 },
    async () => {
      // Both pollers read the newest bars once at start; the simulator answers them only with its token.
      const line = await eventually(
        async () => {
          const { body: text } = await getJson<string>(`${WORKER}/metrics`);
          return text.split('\n').find((l) => l.startsWith('moex_algopack_tradestats_disb{ticker="SBER",market="eq"}'));
        },
        120_000,
        'moex_algopack_tradestats_disb of SBER on the worker',
        PROBE_INTERVAL_MS,
      );
      assert.ok(Number.isFinite(Number(line.split(' ').pop())), line);
      const { body: text } = await getJson<string>(`${WORKER}/metrics`);
      assert.match(text, /^moex_algopack_errors_total\{market="eq",dataset="tradestats",reason="auth"\} 0$/m);
      const bar = await eventually(
        async () => (await influxQuery(`SELECT last("disb") FROM tradestats WHERE ticker='SBER'`, true)).body.results[0]?.series?.[0]?.values?.[0],
        120_000,
        'SBER tradestats in InfluxDB',
        PROBE_INTERVAL_MS,
      );
      assert.equal(typeof bar[1], 'number');
    },
  );

  test('/api/status: every component healthy', { timeout: 3 * 60_000 }, async () => {
    type Status = { ok: boolean; components: Array<{ name: string; ok: boolean; detail: string }> };
    const status = await eventually(
      async () => {
        const { body } = await getJson<Status>(`${BACKEND}/api/status`);
        return body.ok ? body : undefined;
      },
      120_000,
      '/api/status all green',
      PROBE_INTERVAL_MS,
    );
    assert.deepEqual(
      status.components.filter((c) => !c.ok),
      [],
    );
    const names = status.components.map((c) => c.name);
    for (const name of ['alertmanager', 'graphite', 'influxdb', 'moex', 'prometheus', 'scraper', 'worker'])
      assert.ok(names.includes(name), `${name} in ${names}`);
  });

  test('our containers run as a non-root user', { timeout: 2 * 60_000 }, async () => {
    for (const name of OURS) {
      const r = await execIn(name, 'id', '-u');
      assertOk(r, `id -u in ${name}`);
      assert.notEqual(r.stdout.trim(), '0', `${name} runs as root`);
      assert.equal(r.stdout.trim(), '1000', `${name}: the image's node user`);
    }
  });

  test("the e2e profile's backend checks pass through the Selenium container", { timeout: 10 * 60_000 }, async () => {
    const r = await containers('e2e');
    assertOk(r, './runner.sh containers e2e');
    assert.match(r.stdout, /✔ backend page shows quotes for the configured tickers and a healthy status/);
    assert.match(r.stdout, /ℹ fail 0/);
  });

  test('InfluxDB stopped for 30 s: every quote polled meanwhile reaches it afterwards', { timeout: 5 * 60_000 }, async () => {
    // SBER's board only: the env file's MOEX_SOURCES polls four more, each with its own counter.
    const pollsOk = /^moex_polls_total\{(?=[^}]*result="ok")(?=[^}]*board="TQBR")/;
    const influxErrors = /^scraper_write_errors_total\{[^}]*sink="influxdb"/;
    // A point's time is the quote's (ISS UPDATETIME), the feed delay behind the poll: the window of
    // stored times is the poll window shifted by the delay the worker measures.
    // In a list: a real-time feed's delay is 0, which `eventually` would take for "not yet".
    const [delayS] = await eventually(
      async () => {
        const delay = await promValue('moex_data_delay_seconds{ticker="SBER"}');
        return delay === undefined ? undefined : [delay];
      },
      60_000,
      'moex_data_delay_seconds{ticker="SBER"}',
      PROBE_INTERVAL_MS,
    );
    const fromS = nowS() - 3 - delayS;
    const pollsBefore = await scraperMetric(pollsOk);
    const errorsBefore = await scraperMetric(influxErrors);
    assertOk(await compose('stop', 'influxdb'), 'compose stop influxdb');
    await sleep(30_000);
    assertOk(await compose('start', 'influxdb'), 'compose start influxdb');
    const pollsAfter = await scraperMetric(pollsOk);
    const toS = nowS() + 1 - delayS;
    const polled = pollsAfter - pollsBefore;
    assert.ok(polled >= 30 / POLL_SECONDS - 1, `${polled} polls in the outage window`);
    // The scraper's retry buffer drains once InfluxDB answers again.
    try {
      await eventually(
        async () => {
          const stored = await influxSberTimes(fromS, toS);
          if (stored.length >= polled) return stored;
          throw new Error(
            `${stored.length} SBER points stored (${stored.join(',')}); scraper buffer ${await scraperMetric(/^scraper_buffered_points\{[^}]*sink="influxdb"/)}`,
          );
        },
        180_000,
        `the ${polled} polls made during the outage in InfluxDB`,
        PROBE_INTERVAL_MS,
      );
    } catch (err) {
      const logs = await compose('logs', '--no-color', '--tail', '15', 'scraper', 'influxdb');
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs.stdout}`, { cause: err });
    }
    assert.ok((await scraperMetric(influxErrors)) > errorsBefore, 'the scraper saw InfluxDB down (write errors rose)');
  });

  // What the stores hold up to a moment, taken while the stack runs; the down/up step compares.
  // InfluxDB points carry the quote's time, the feed delay behind: up to `influxToS`, every point
  // is stored by `atS` and no later poll adds one.
  const mark = { atS: 0, influxToS: 0, influxPoints: -1 };
  test('the stores hold data to compare after down and up', async () => {
    mark.atS = nowS() - 20;
    mark.influxToS = mark.atS - ((await promValue('max(moex_data_delay_seconds{ticker="SBER"})')) ?? 0);
    mark.influxPoints = (await influxSberTimes(0, mark.influxToS)).length;
    assert.ok(mark.influxPoints > 0);
    assert.ok(((await promValue('moex_last_price{ticker="SBER"}', mark.atS)) ?? 0) > 0);
    assert.ok((await graphiteSber(String(mark.atS - 600), String(mark.atS))).length > 0);
  });

  test('docker-compose stop ends each of our services with exit 0 within the grace period', { timeout: 3 * 60_000 }, async () => {
    const started = Date.now();
    assertOk(await compose('stop'), 'compose stop');
    const seconds = (Date.now() - started) / 1000;
    console.log(`compose stop: ${seconds.toFixed(1)} s`);
    const ids = await containerIds();
    for (const name of OURS) {
      const id = ids.get(name);
      assert.ok(id, `${name} has a container`);
      const r = await engineCli('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id);
      assertOk(r, `inspect ${name}`);
      // Killed after the 10 s grace period it would show 137; a crash on SIGTERM, another code.
      if (r.stdout.trim() !== 'exited 0') {
        const logs = await compose('logs', '--no-color', '--tail', '40', name);
        const state = await engineCli('inspect', '--format', '{{json .State}} restarts {{.RestartCount}}', id);
        assert.fail(
          `${name}: ${r.stdout.trim()} after compose stop (${seconds.toFixed(1)} s); state ${state.stdout.trim()}; its last lines:\n${logs.stdout}${logs.stderr}`,
        );
      }
    }
  });

  test('down, then up: the named volumes keep Prometheus, Graphite and InfluxDB data and the InfluxDB users', { timeout: 15 * 60_000 }, async () => {
    assert.ok(mark.influxPoints > 0, 'the previous step marked the data');
    const down = await containers('down');
    assertOk(down, './runner.sh containers down');
    const volumes = await engineCli('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`);
    assert.ok(volumes.stdout.trim().split('\n').length >= 3, `volumes kept: ${volumes.stdout}`);
    assertOk(await containers('up', '--demo'), './runner.sh containers up --demo (again)');
    const prom = await eventually(
      () => promValue('moex_last_price{ticker="SBER"}', mark.atS),
      60_000,
      'Prometheus samples from before down',
      PROBE_INTERVAL_MS,
    );
    assert.ok(prom > 0);
    assert.ok((await graphiteSber(String(mark.atS - 600), String(mark.atS))).length > 0, 'Graphite points from before down');
    const influxAfter = await influxSberTimes(0, mark.influxToS);
    assert.equal(influxAfter.length, mark.influxPoints, 'InfluxDB points from before down, read with its user');
  });

  async function downLeavesNothing(): Promise<void> {
    const down = await containers('down', '-v');
    assertOk(down, './runner.sh containers down -v');
    tornDown = true;
    const label = `label=com.docker.compose.project=${PROJECT}`;
    for (const args of [
      ['ps', '-a', '-q', '--filter', label],
      ['network', 'ls', '-q', '--filter', label],
      ['volume', 'ls', '-q', '--filter', label],
    ]) {
      const r = await engineCli(...args);
      assertOk(r, args.join(' '));
      assert.equal(r.stdout.trim(), '', `${args[0]} left behind: ${r.stdout}`);
    }
  }

  test('down -v leaves no container, network or volume behind', { timeout: 3 * 60_000 }, downLeavesNothing);

  // Profile `scale` (docs/scale.md), on the same env file: WORKER_SHARDS replicas of the worker
  // split the polled securities between them, Prometheus finds them by DNS and scrapes them over
  // https, and remote-writes everything to VictoriaMetrics.
  const SHARDS = 2;
  test(`up --demo --scale: ${SHARDS} worker-shard replicas and VictoriaMetrics turn healthy`, { timeout: 10 * 60_000 }, async () => {
    tornDown = false;
    const up = await runProcess(
      join(REPO_ROOT, 'runner.sh'),
      ['containers', 'up', '--demo', '--scale'],
      {
        ...ENV,
        WORKER_SHARDS: String(SHARDS),
        // The three default shares all hash to shard 1 of 2 (lib/moex/shard.ts); GMKN and NVTK go to shard 0, so each shard has a part.
        MOEX_TICKERS: 'SBERP,SBER,GAZP,GMKN,NVTK',
      },
      REPO_ROOT,
    );
    assertOk(up, './runner.sh containers up --demo --scale');
    const status = await containers('status');
    assertOk(status, './runner.sh containers status');
    assert.equal(status.stdout.match(/^worker-shard\s+running\s+healthy\s/gm)?.length, SHARDS, status.stdout);
    assert.match(status.stdout, /^victoria-metrics\s+running\s+healthy\s/m);
  });

  test('Prometheus runs the generated prometheus/prometheus-shards.yml and remote-writes to VictoriaMetrics (prometheus/start.sh)', async () => {
    const running = await runningPrometheus();
    const generated = generatedPrometheus('prometheus-shards.yml');
    assert.ok(generated.jobs.includes('worker-shards'), JSON.stringify(generated.jobs));
    assert.deepEqual(running.jobs, generated.jobs);
    assert.deepEqual(running.ruleGroups, generated.ruleGroups);
    assert.deepEqual(running.remoteWrite, ['http://victoria-metrics:8428/api/v1/write']);
  });

  test('the shards: both scraped over https, together every security of the worker exactly once', { timeout: 3 * 60_000 }, async () => {
    type Series = { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    const query = async (q: string) => (await getJson<Series>(`${PROM}/api/v1/query?${new URLSearchParams({ query: q })}`)).body.data.result;
    await eventually(
      async () => ((await query('up{job="worker-shards"} == 1')).length === SHARDS ? true : undefined),
      120_000,
      `${SHARDS} worker-shards targets up`,
      PROBE_INTERVAL_MS,
    );
    // Option series have a last price only once they trade, and the shards poll at other moments
    // than the worker: their count moves between scrapes, so the split is compared without them.
    const whole = await eventually(
      () => promValue('count(moex_last_price{job="worker-prometheus",market!="options"})'),
      60_000,
      'the worker polling every source',
      PROBE_INTERVAL_MS,
    );
    const perShard = await eventually(
      async () => {
        const counts = await query('count by (instance) (moex_last_price{job="worker-shards",market!="options"})');
        const sum = counts.reduce((n, r) => n + Number(r.value[1]), 0);
        return counts.length === SHARDS && sum === whole ? counts.map((r) => Number(r.value[1])) : undefined;
      },
      60_000,
      'every shard exporting its part',
      PROBE_INTERVAL_MS,
    );
    for (const n of perShard) assert.ok(n > 0 && n < whole, `a shard holds part of the ${whole} securities: ${perShard}`);
    assert.deepEqual(await query('count by (ticker, board) (moex_last_price{job="worker-shards"}) > 1'), [], 'no security polled by two shards');
  });

  test('VictoriaMetrics holds what Prometheus remote-writes, the shards included', { timeout: 3 * 60_000 }, async () => {
    const vmCount = async (job: string) => {
      const { body } = await getJson<PromVector>(
        `http://127.0.0.1:8428/api/v1/query?${new URLSearchParams({ query: `count(moex_last_price{job="${job}"})` })}`,
      );
      const v = body.data?.result?.[0]?.value?.[1];
      return v === undefined ? undefined : Number(v);
    };
    // VictoriaMetrics answers instant queries 30 s behind (-search.latencyOffset).
    for (const job of ['worker-prometheus', 'worker-shards']) {
      const expected = await promValue(`count(moex_last_price{job="${job}"})`);
      await eventually(
        async () => ((await vmCount(job)) === expected ? true : undefined),
        150_000,
        `${expected} ${job} series in VictoriaMetrics`,
        PROBE_INTERVAL_MS,
      );
    }
  });

  test('down, then down -v (after the scale profile): the second still finds the volumes and leaves nothing', { timeout: 3 * 60_000 }, async () => {
    assertOk(await containers('down'), './runner.sh containers down');
    await downLeavesNothing();
  });
});
