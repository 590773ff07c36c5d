/**
 * `./runner.sh worker` on a fresh clone (no node_modules, no dist): it installs the locked
 * dependencies and starts, or, without npm, stops with one line saying what to run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess } from '../support/run';
import { eventually, freePort, REPO_ROOT, startIssSim, type IssSim } from '../support/services';

describe('a fresh clone', () => {
  let dir: string;
  let sim: IssSim;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fresh-clone-'));
    const clone = await runProcess('git', ['clone', '-q', REPO_ROOT, path.join(dir, 'repo')], {});
    assert.equal(clone.code, 0, clone.stderr);
    sim = await startIssSim();
  });
  after(async () => {
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('without npm: one clear line and a non-zero exit, no npm error about "tsc"', async () => {
    // A PATH with node and the shell tools runner.sh uses, but no npm/npx.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    for (const tool of ['bash', 'node', 'dirname', 'find', 'touch', 'env', 'cat']) {
      const target = (await runProcess('bash', ['-c', `command -v ${tool}`], {})).stdout.trim();
      fs.symlinkSync(target, path.join(bin, tool));
    }
    const { code, stdout, stderr } = await runProcess(path.join(bin, 'bash'), ['./runner.sh', 'worker'], { PATH: bin }, path.join(dir, 'repo'));
    assert.notEqual(code, 0);
    const lines = `${stdout}${stderr}`.trim().split('\n');
    assert.equal(lines.length, 1, `${stdout}${stderr}`);
    assert.match(lines[0]!, /node_modules missing and npm not found: .*npm ci/);
  });

  test("with a Node older than package.json's engines: one line naming the Node found and the one needed", async () => {
    // eslint 10 needs 20.19 (or 22.13); a 20.18 would start, then fail in lint or a test.
    const bin = path.join(dir, 'old-node-bin');
    fs.mkdirSync(bin);
    fs.symlinkSync((await runProcess('bash', ['-c', 'command -v bash'], {})).stdout.trim(), path.join(bin, 'bash'));
    fs.symlinkSync((await runProcess('bash', ['-c', 'command -v dirname'], {})).stdout.trim(), path.join(bin, 'dirname'));
    fs.writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho v20.18.1\n', { mode: 0o755 });
    const engines = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).engines.node as string;
    for (const command of ['worker', 'build', 'lint']) {
      const { code, stdout, stderr } = await runProcess(path.join(bin, 'bash'), ['./runner.sh', command], { PATH: bin }, path.join(dir, 'repo'));
      assert.equal(code, 1, command);
      assert.deepEqual(`${stdout}${stderr}`.trim().split('\n'), [
        `runner: found Node 20.18.1 at ${path.join(bin, 'node')}; needs Node ${engines} (package.json engines)`,
      ]);
    }
  });

  test('with npm: installs the dependencies, builds and serves /healthz', async () => {
    const port = await freePort();
    const child = spawn('./runner.sh', ['worker'], {
      cwd: path.join(dir, 'repo'),
      env: { ...process.env, PORT: String(port), MOEX_ISS_URL: sim.issUrl, LOG_LEVEL: 'warn', npm_config_prefer_offline: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 300_000, 'the worker of a fresh clone');
      assert.match(output, /runner: installing dependencies \(npm ci; node_modules missing\)/);
      assert.doesNotMatch(output, /could not determine executable to run/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
