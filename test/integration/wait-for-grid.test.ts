// wait-for-grid.sh against a real chromedriver (ready) and a fake endpoint that never gets ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AddressInfo } from 'node:net';
import { runProcess } from '../support/run';
import { getFreePort as freePort } from '../support/daemons';

const SCRIPT = resolve(__dirname, '../../wait-for-grid.sh');
const CHROMEDRIVER = process.env.CHROMEDRIVER ?? '/usr/bin/chromedriver';

// Through /bin/sh, so the test also proves the script is plain POSIX sh.
const runScript = (args: string[], env: Record<string, string> = {}) => runProcess('/bin/sh', [SCRIPT, ...args], env);

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

test('chromedriver ready: the command runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wait-for-grid-'));
  const port = await freePort();
  const driver = spawn(CHROMEDRIVER, [`--port=${port}`], { stdio: 'ignore' });
  t.after(async () => {
    await stopProcess(driver);
    rmSync(dir, { recursive: true, force: true });
  });

  const marker = join(dir, 'ran');
  const result = await runScript([`http://127.0.0.1:${port}`, '--', 'touch', marker], { WAIT_TIMEOUT: '30' });

  assert.equal(result.code, 0, result.stderr);
  assert.ok(existsSync(marker), 'the command after -- was run');
  assert.match(result.stderr, /is ready/);
});

test('Grid-style pretty-printed answer with a trailing slash on the URL counts as ready', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wait-for-grid-'));
  let polls = 0;
  const paths = new Set<string>();
  // Not ready on the first poll, ready on the second: the script must keep polling.
  const server = createServer((req, res) => {
    polls += 1;
    const ready = polls >= 2;
    res.setHeader('content-type', 'application/json');
    res.end(`{\n  "value": {\n    "ready" :  ${ready},\n    "message": "Selenium Grid ${ready ? '' : 'not '}ready."\n  }\n}\n`);
    paths.add(req.url ?? '');
  });
  const port = await listen(server);
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const marker = join(dir, 'ran');
  const result = await runScript([`http://127.0.0.1:${port}/`, '--', 'touch', marker], { WAIT_TIMEOUT: '20' });

  assert.equal(result.code, 0, result.stderr);
  assert.ok(existsSync(marker));
  assert.ok(polls >= 2, `polled ${polls} times`);
  assert.deepEqual([...paths], ['/status']);
});

test('never ready: times out with a clear message, non-zero, command not run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wait-for-grid-'));
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"value":{"ready":false,"message":"No nodes yet"}}');
  });
  const port = await listen(server);
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const marker = join(dir, 'ran');
  const result = await runScript([`http://127.0.0.1:${port}`, '--', 'touch', marker], { WAIT_TIMEOUT: '3' });

  assert.notEqual(result.code, 0);
  assert.equal(existsSync(marker), false, 'the command must not run when the grid never got ready');
  assert.match(result.stderr, /timed out after 3s/);
  assert.match(result.stderr, /not ready/);
});

test('nothing listening: times out naming the endpoint as unreachable', async () => {
  const port = await freePort();
  const result = await runScript([`http://127.0.0.1:${port}`], { WAIT_TIMEOUT: '1' });

  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port}/status`));
  assert.match(result.stderr, /unreachable/);
});

test('a malformed WAIT_TIMEOUT is rejected up front', async () => {
  const result = await runScript(['http://127.0.0.1:1'], { WAIT_TIMEOUT: 'soon' });

  assert.equal(result.code, 2);
  assert.match(result.stderr, /WAIT_TIMEOUT must be whole seconds/);
});
