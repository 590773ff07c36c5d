// The stack's web config end to end: ./runner.sh secrets (init/src) writes it (bcrypt user, self-signed
// certificate); the worker serves https with basic auth on all but /healthz; a real Prometheus
// scrapes it with the password from a file; the backend queries that Prometheus and probes the
// worker with the same credentials; a wrong password is a 401 and a log line without it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../support/daemons';
import { request } from '../support/https';
import { runProcess } from '../support/run';
import { eventually, REPO_ROOT, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const USER = 'prometheus';

/** `./runner.sh secrets` as the compose init service runs it (init/src/main.ts), into SECRETS_DIR. */
const writeSecrets = (env: { SECRETS_DIR: string }) =>
  runProcess(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'init/src/main.ts')], env, REPO_ROOT);

describe('web config: https and basic auth across worker, Prometheus and backend', () => {
  let dir: string;
  let secrets: string;
  let webConfig: string;
  let passwordFile: string;
  let password: string;
  let ca: Buffer;
  let sim: IssSim;
  let worker: RunningService;
  let prometheus: Daemon;
  let promUrl: string;
  let backend: RunningService;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-web-config-'));
    secrets = path.join(dir, 'secrets');
    const made = await writeSecrets({ SECRETS_DIR: secrets });
    assert.equal(made.code, 0, made.stderr);
    webConfig = path.join(secrets, 'web-config.yml');
    passwordFile = path.join(secrets, 'prometheus_password');
    password = fs.readFileSync(passwordFile, 'utf8');
    ca = fs.readFileSync(path.join(secrets, 'tls.crt'));

    sim = await startIssSim();
    const web = { WEB_CONFIG_FILE: webConfig, LISTEN_ADDRESS: '127.0.0.1' };
    worker = await startService('worker', { ...web, MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: '* * * * * *' }, { scheme: 'https' });
    prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: '1s',
      env: { WEB_CONFIG_FILE: webConfig, PROMETHEUS_PASSWORD_FILE: passwordFile },
    });
    promUrl = prometheus.url.replace(/^http:/, 'https:');
    backend = await startService(
      'backend',
      {
        ...web,
        PROMETHEUS_URL: promUrl,
        WORKER_URL: worker.url,
        PROMETHEUS_USERNAME: USER,
        PROMETHEUS_PASSWORD_FILE: passwordFile,
        NODE_EXTRA_CA_CERTS: path.join(secrets, 'tls.crt'),
      },
      { scheme: 'https' },
    );
  });
  after(async () => {
    await backend?.stop();
    await prometheus?.close();
    await worker?.stop();
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('./runner.sh secrets wrote a bcrypt web config, a certificate and password files only the owner can list', () => {
    const text = fs.readFileSync(webConfig, 'utf8');
    assert.match(text, /cert_file: tls\.crt/);
    assert.match(text, new RegExp(`${USER}: '\\$2[aby]\\$10\\$`));
    assert.ok(!text.includes(password), 'the web config holds a hash, not the password');
    assert.equal(fs.statSync(secrets).mode & 0o777, 0o700);
    assert.match(password, /^[A-Za-z0-9]{32}$/);
  });

  test('the worker: /metrics is 401 with WWW-Authenticate without credentials, 200 with them; /healthz is open', async () => {
    const anonymous = await request(`${worker.url}/metrics`, { ca });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm=/);
    assert.deepEqual(JSON.parse(anonymous.body), { error: 'unauthorized' });
    assert.equal((await request(`${worker.url}/readyz`, { ca })).status, 401);

    const authorized = await request(`${worker.url}/metrics`, { ca, user: USER, password });
    assert.equal(authorized.status, 200);
    assert.match(authorized.body, /^moex_up /m);
    assert.equal((await request(`${worker.url}/healthz`, { ca })).status, 200);
  });

  test('no plain http on the https port, and the certificate is verified against the CA (SAN 127.0.0.1)', async () => {
    const plain = await fetch(`http://127.0.0.1:${worker.port}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
    await assert.rejects(request(`${worker.url}/healthz`), /self-signed|certificate/);
  });

  test('a wrong password is a 401 and a log line naming the user, never the password', async () => {
    const wrong = 'not-the-password-' + Math.random().toString(36).slice(2);
    const answer = await request(`${worker.url}/metrics`, { ca, user: USER, password: wrong });
    assert.equal(answer.status, 401);
    const line = await eventually(
      async () =>
        worker
          .output()
          .split('\n')
          .find((l) => l.includes('authentication failed')),
      5000,
      'the log line',
    );
    assert.equal(JSON.parse(line).user, USER);
    assert.ok(!worker.output().includes(wrong), 'the wrong password is not logged');
    assert.ok(!worker.output().includes(password), 'the password is not logged');
  });

  test('Prometheus (web config itself) scrapes the worker over https with the password from a file: target up', async () => {
    assert.equal((await request(`${promUrl}/api/v1/query?query=up`, { ca })).status, 401, 'Prometheus asks for credentials too');
    const up = await eventually(
      async () => {
        const r = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent('up{job="worker-prometheus"}')}`, { ca, user: USER, password });
        const value = (JSON.parse(r.body) as { data?: { result?: Array<{ value: [number, string] }> } }).data?.result?.[0]?.value[1];
        return value === '1' ? value : null;
      },
      30_000,
      'the worker target up',
    );
    assert.equal(up, '1');
    const targets = await request(`${promUrl}/api/v1/targets`, { ca, user: USER, password });
    const active = (JSON.parse(targets.body) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string }> } }).data.activeTargets;
    assert.ok(
      active.some((t) => t.scrapeUrl.startsWith('https://') && t.health === 'up'),
      JSON.stringify(active),
    );
  });

  test('the backend: 401 without credentials, and with them it reads Prometheus and probes the worker through their auth', async () => {
    assert.equal((await request(`${backend.url}/api/quotes`, { ca })).status, 401);
    assert.equal((await request(`${backend.url}/healthz`, { ca })).status, 200);
    const status = await eventually(
      async () => {
        const r = await request(`${backend.url}/api/status`, { ca, user: USER, password });
        const body = JSON.parse(r.body) as { components: Array<{ name: string; ok: boolean; detail: string }> };
        const byName = Object.fromEntries(body.components.map((c) => [c.name, c]));
        return byName.prometheus?.ok && byName.worker?.ok && byName.moex?.ok ? byName : null;
      },
      30_000,
      'prometheus, worker and moex ok on /api/status',
    );
    assert.equal(status.worker!.detail, 'ready');
    const quotes = await request(`${backend.url}/api/quotes`, { ca, user: USER, password });
    assert.equal(quotes.status, 200);
    assert.ok((JSON.parse(quotes.body) as { quotes: unknown[] }).quotes.length >= 3);
    assert.ok(!backend.output().includes(password), 'the backend never logs the password');
  });
});

test('./runner.sh secrets replaces a certificate that lacks a service name (worker-shard), and only the certificate', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-secrets-'));
  try {
    const env = { SECRETS_DIR: path.join(dir, 'secrets') };
    assert.equal((await writeSecrets(env)).code, 0);
    const crt = path.join(env.SECRETS_DIR, 'tls.crt');
    const san = async () => (await runProcess('openssl', ['x509', '-in', crt, '-noout', '-ext', 'subjectAltName'])).stdout;
    assert.match(await san(), /DNS:worker-shard\b/);
    const password = fs.readFileSync(path.join(env.SECRETS_DIR, 'prometheus_password'), 'utf8');
    // A certificate as an older version wrote it: the service names without worker-shard.
    const old = await runProcess('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=moex-monitoring',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:prometheus,DNS:worker-prometheus,DNS:backend',
      '-keyout',
      path.join(env.SECRETS_DIR, 'tls.key'),
      '-out',
      crt,
    ]);
    assert.equal(old.code, 0, old.stderr);
    assert.doesNotMatch(await san(), /worker-shard/);

    const again = await writeSecrets(env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /replacing .*tls\.crt .*lacks .*worker-shard/);
    assert.match(await san(), /DNS:worker-shard\b/);
    assert.equal(fs.readFileSync(path.join(env.SECRETS_DIR, 'prometheus_password'), 'utf8'), password, 'passwords are kept');
    const third = await writeSecrets(env);
    assert.match(third.stderr, /kept .*tls\.crt/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
