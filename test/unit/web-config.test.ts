import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { ConfigError, parseConfig } from '../../lib/config';
import { basicAuthHeader, createAuthGuard, createBasicAuthCheck } from '../../lib/http-auth';
import { httpShape } from '../../lib/web-config';

const HASH = bcrypt.hashSync('s3cret', 4);

describe('WEB_CONFIG_FILE', () => {
  let dir: string;
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const load = (file: string) => parseConfig(httpShape, { WEB_CONFIG_FILE: file }).WEB_CONFIG_FILE;
  const refusal = (file: string) => {
    try {
      load(file);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.variable, 'WEB_CONFIG_FILE');
      return err.message;
    }
    assert.fail(`${file} was accepted`);
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-config-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=t', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')],
      { stdio: 'ignore' },
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('unset: no web config (plain http, no authentication); LISTEN_ADDRESS defaults to every interface', () => {
    const c = parseConfig(httpShape, {});
    assert.equal(c.WEB_CONFIG_FILE, null);
    assert.equal(c.LISTEN_ADDRESS, '0.0.0.0');
    assert.equal(parseConfig(httpShape, { LISTEN_ADDRESS: '127.0.0.1' }).LISTEN_ADDRESS, '127.0.0.1');
  });

  test('users and TLS files, the paths relative to the config file (as exporter-toolkit reads them)', () => {
    const web = load(write('ok.yml', `tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\nbasic_auth_users:\n  prometheus: '${HASH}'\n`));
    assert.ok(web);
    assert.deepEqual([...web.users], [['prometheus', HASH]]);
    assert.match(web.tls!.cert.toString(), /BEGIN CERTIFICATE/);
    assert.match(web.tls!.key.toString(), /PRIVATE KEY/);
  });

  test('either part may be absent; an empty file is valid', () => {
    assert.equal(load(write('users.yml', `basic_auth_users:\n  a: '${HASH}'\n`))!.tls, null);
    assert.equal(load(write('tls.yml', `tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n`))!.users.size, 0);
    assert.deepEqual(load(write('empty.yml', '')), { users: new Map(), tls: null });
  });

  test('bad files are refused with WEB_CONFIG_FILE named; a plain-text password is never echoed', () => {
    assert.match(refusal(path.join(dir, 'missing.yml')), /cannot read the web config: ENOENT/);
    assert.match(refusal(write('yaml.yml', 'basic_auth_users: [unclosed')), /not valid YAML/);
    assert.match(refusal(write('typo.yml', 'basic_auth_user:\n  a: b\n')), /unknown key "basic_auth_user"/);
    const plain = refusal(write('plain.yml', 'basic_auth_users:\n  admin: hunter2-plain\n'));
    assert.match(plain, /basic_auth_users\.admin must be a bcrypt hash/);
    assert.ok(!plain.includes('hunter2-plain'));
    assert.match(refusal(write('half.yml', 'tls_server_config:\n  cert_file: c.pem\n')), /needs both cert_file and key_file/);
    assert.match(
      refusal(write('nokey.yml', 'tls_server_config:\n  cert_file: c.pem\n  key_file: absent.pem\n')),
      /key_file: cannot read .*absent\.pem.*ENOENT/,
    );
    assert.match(
      refusal(write('mtls.yml', 'tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  client_auth_type: RequireAndVerifyClientCert\n')),
      /client_auth_type/,
    );
  });

  test('a service exits 2 with one line naming WEB_CONFIG_FILE', () => {
    const file = write('bad.yml', 'basic_auth_users:\n  admin: plain\n');
    const r = spawnSync('node', ['--import', 'tsx', '-e', `require('./lib/config').loadConfig(require('./lib/web-config').httpShape)`], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, WEB_CONFIG_FILE: file },
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), /^config error: WEB_CONFIG_FILE: basic_auth_users\.admin must be a bcrypt hash/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});

describe('basic auth check', () => {
  const users = new Map([['prometheus', HASH]]);

  test('the right user and password pass; a wrong password, an unknown user or a malformed header do not', async () => {
    const check = createBasicAuthCheck(users);
    assert.deepEqual(await check(basicAuthHeader('prometheus', 's3cret').Authorization), { ok: true, user: 'prometheus' });
    assert.deepEqual(await check(basicAuthHeader('prometheus', 'wrong').Authorization), { ok: false, user: 'prometheus' });
    assert.deepEqual(await check(basicAuthHeader('nobody', 's3cret').Authorization), { ok: false, user: 'nobody' });
    assert.deepEqual(await check(undefined), { ok: false, user: null });
    assert.deepEqual(await check('Bearer abc'), { ok: false, user: null });
    assert.deepEqual(await check(`Basic ${Buffer.from('no-colon').toString('base64')}`), { ok: false, user: null });
    // A password may contain colons: only the first one separates the user.
    const colon = createBasicAuthCheck(new Map([['u', bcrypt.hashSync('a:b', 4)]]));
    assert.equal((await colon(basicAuthHeader('u', 'a:b').Authorization)).ok, true);
  });

  test('a success is cached (no second bcrypt), but the cache never lets a wrong password through', async () => {
    const slow = bcrypt.hashSync('s3cret', 12); // ~250 ms per check
    const check = createBasicAuthCheck(new Map([['p', slow]]));
    const header = basicAuthHeader('p', 's3cret').Authorization;
    assert.equal((await check(header)).ok, true);
    const started = performance.now();
    for (let i = 0; i < 20; i++) assert.equal((await check(header)).ok, true);
    assert.ok(performance.now() - started < 100, `20 cached checks took ${performance.now() - started} ms`);
    assert.equal((await check(basicAuthHeader('p', 's3creT').Authorization)).ok, false);
  });

  test('the guard: /healthz open, 401 + WWW-Authenticate + JSON otherwise, next() with credentials', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const guard = createAuthGuard(users, log);
    const server = http.createServer((req, res) => guard(req, res, () => res.end('through')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    try {
      const open = await fetch(`${url}/healthz`);
      assert.equal(await open.text(), 'through');
      const refused = await fetch(`${url}/metrics`);
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic realm="moex-monitoring"/);
      assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(lines.length, 0, 'no credentials at all: nothing to log');
      const wrong = await fetch(`${url}/metrics`, { headers: basicAuthHeader('prometheus', 'guess-123') });
      assert.equal(wrong.status, 401);
      assert.equal(lines.length, 1);
      assert.equal(JSON.parse(lines[0]!).user, 'prometheus');
      assert.ok(!lines[0]!.includes('guess-123'));
      const ok = await fetch(`${url}/metrics?x=1`, { headers: basicAuthHeader('prometheus', 's3cret') });
      assert.equal(await ok.text(), 'through');
    } finally {
      server.close();
    }
  });
});
