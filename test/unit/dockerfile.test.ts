// The Dockerfile's shape (no engine here to build it): multi-stage, a pinned Node LTS base, build once,
// production deps only at runtime, non-root, runner.sh as ENTRYPOINT, a HEALTHCHECK that works for
// every service. The HEALTHCHECK's own command is run for real against local servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';

const ROOT = resolve(__dirname, '../..');

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comments dropped. */
function readInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue; // comments, also those inside a continued instruction
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ');
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { keyword: m[1]!.toUpperCase(), args: m[2]!.trim() };
  });
}

const instructions = readInstructions(readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8'));
const globalArgs = Object.fromEntries(
  instructions
    .slice(
      0,
      instructions.findIndex((i) => i.keyword === 'FROM'),
    )
    .filter((i) => i.keyword === 'ARG')
    .map((i) => i.args.split('=') as [string, string]),
);
const stages: Stage[] = [];
for (const ins of instructions) {
  if (ins.keyword === 'FROM') {
    const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
    stages.push({ from: m[1]!.replace(/^\$\{(\w+)\}$/, (_, v: string) => globalArgs[v] ?? _), name: m[2] ?? '', instructions: [] });
  } else if (stages.length > 0) {
    stages.at(-1)!.instructions.push(ins);
  }
}
const stage = (name: string) => stages.find((s) => s.name === name);
const runtime = stages.at(-1)!;
const argsOf = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

test('multi-stage: deps, build, dev and runtime, with runtime the default (last) target', () => {
  assert.ok(stages.length >= 3, `stages: ${stages.map((s) => s.name).join(', ')}`);
  for (const name of ['build', 'dev', 'runtime']) assert.ok(stage(name), `stage ${name}`);
  assert.equal(runtime.name, 'runtime');
});

test('the base image is a maintained Node LTS, slim, pinned to a full version', () => {
  const bases = new Set(stages.map((s) => s.from).filter((f) => !stage(f)));
  assert.equal(bases.size, 1, `one base image, got ${[...bases].join(', ')}`);
  const base = [...bases][0]!;
  const m = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim$/.exec(base);
  assert.ok(m, `${base} is node:X.Y.Z-<debian>-slim`);
  const major = Number(m[1]);
  assert.ok(major >= 20 && major % 2 === 0, `Node ${major} is an LTS line`);
});

test('TypeScript is built once, in the build stage, and the build is stamped for runner.sh', () => {
  const run = argsOf(stage('build')!, 'RUN').join('\n');
  assert.match(run, /tsc -p tsconfig\.json/);
  assert.match(run, /touch dist\/\.build-stamp/);
  const deps = stages.flatMap((s) => argsOf(s, 'RUN')).find((r) => /npm ci(?!.*--omit)/.test(r));
  assert.ok(deps, 'a stage installs every dependency with npm ci');
  assert.equal(
    argsOf(runtime, 'RUN').some((r) => /tsc/.test(r)),
    false,
    'the runtime stage does not compile',
  );
});

test('the runtime stage has production deps only, the built files, and no sources', () => {
  const run = argsOf(runtime, 'RUN').join('\n');
  assert.match(run, /npm ci --omit=dev/);
  const copies = argsOf(runtime, 'COPY');
  assert.ok(
    copies.some((c) => /--from=build\b/.test(c)),
    'copies the build output from the build stage',
  );
  const firstSources = copies.map((c) => c.split(/\s+/).filter((w) => !w.startsWith('--'))[0]);
  assert.equal(firstSources.includes('.'), false, 'does not copy the whole context');
});

test('non-root USER in the runtime and dev stages', () => {
  for (const s of [runtime, stage('dev')!]) {
    const users = argsOf(s, 'USER');
    assert.ok(users.length > 0, `${s.name} sets USER`);
    assert.ok(!['root', '0', '0:0'].includes(users.at(-1)!), `${s.name} runs as ${users.at(-1)}`);
  }
});

test('ENTRYPOINT is runner.sh in exec form, so `docker run IMAGE worker` runs the worker', () => {
  const entry = argsOf(runtime, 'ENTRYPOINT').at(-1);
  assert.ok(entry, 'ENTRYPOINT is set');
  assert.deepEqual(JSON.parse(entry), ['./runner.sh']);
  // runner.sh execs node for the service commands: the signal from `docker stop` reaches node.
  const runner = readFileSync(resolve(ROOT, 'runner.sh'), 'utf8');
  assert.match(runner, /exec node /);
});

test('the compose build targets exist as stages', () => {
  const compose = parse(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { build?: { target?: string } }> };
  const targets = new Set(
    Object.values(compose.services)
      .map((s) => s.build?.target)
      .filter(Boolean),
  );
  assert.ok(targets.size > 0);
  for (const target of targets) assert.ok(stage(target!), `stage ${target}`);
});

test('.dockerignore keeps secrets, host builds and git out of the context but keeps the tests', () => {
  const ignored = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const entry of ['.env', 'node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), entry);
  assert.ok(ignored.includes('!.env.example'));
  for (const needed of ['test', 'lib', 'ops', 'runner.sh', 'package.json', 'package-lock.json', 'wait-for-grid.sh'])
    assert.ok(!ignored.includes(needed), needed);
});

// ---- the HEALTHCHECK command, run for real ----------------------------------------------------

const healthcheck = argsOf(runtime, 'HEALTHCHECK').at(-1) ?? '';
const healthArgv = JSON.parse(/CMD\s+(\[.*\])\s*$/.exec(healthcheck)?.[1] ?? '[]') as string[];

function runHealthcheck(env: Record<string, string>): Promise<number | null> {
  return new Promise((resolvePromise, reject) => {
    const [cmd, ...args] = healthArgv;
    // The image's WORKDIR is the repository's root, where `dist/` is built.
    const child = spawn(cmd === 'node' ? process.execPath : cmd!, args, { cwd: ROOT, env: { ...process.env, WEB_CONFIG_FILE: '', ...env }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolvePromise(code));
  });
}

async function serve(status: number): Promise<{ server: Server; port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.statusCode = status;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, paths };
}

test('HEALTHCHECK is exec-form node (the slim image has no curl) with sane timings', () => {
  assert.match(healthcheck, /--interval=\d+s/);
  assert.match(healthcheck, /--timeout=\d+s/);
  assert.match(healthcheck, /--start-period=\d+s/);
  assert.deepEqual(healthArgv, ['node', 'dist/lib/healthcheck.js']);
});

test('HEALTHCHECK passes when the service on PORT answers /healthz 200', async (t) => {
  const { server, port, paths } = await serve(200);
  t.after(() => server.close());
  assert.equal(await runHealthcheck({ PORT: String(port) }), 0);
  assert.deepEqual(paths, ['/healthz']);
});

test('HEALTHCHECK fails when /healthz answers an error', async (t) => {
  const { server, port } = await serve(503);
  t.after(() => server.close());
  assert.equal(await runHealthcheck({ PORT: String(port) }), 1);
});

test('HEALTHCHECK fails when nothing listens on PORT', async () => {
  const { server, port } = await serve(200);
  await new Promise((r) => server.close(r));
  assert.equal(await runHealthcheck({ PORT: String(port) }), 1);
});

test('HEALTHCHECK speaks https when WEB_CONFIG_FILE gives the service a certificate, and fails on plain http then', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'moex-healthcheck-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A certificate for another name only: the probe of the service's own loopback port accepts it.
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=stocks.example.org',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, made.stderr);
  const webConfig = join(dir, 'web-config.yml');
  writeFileSync(webConfig, 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n');
  const paths: string[] = [];
  const server = createHttpsServer({ cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) }, (req, res) => {
    paths.push(req.url ?? '');
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = String((server.address() as AddressInfo).port);
  assert.equal(await runHealthcheck({ PORT: port, WEB_CONFIG_FILE: webConfig }), 0);
  assert.deepEqual(paths, ['/healthz']);

  const plain = await serve(200);
  t.after(() => plain.server.close());
  assert.equal(await runHealthcheck({ PORT: String(plain.port), WEB_CONFIG_FILE: webConfig }), 1, 'an http answer where https is configured is not healthy');
});
