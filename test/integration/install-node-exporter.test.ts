// install-node-exporter.sh for real, into temporary roots: the plan, an install from Debian's
// node_exporter binary, idempotence, uninstall, the release tarball path with its checksum check
// (served from loopback), and the errors without root or without systemd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runProcess, type RunResult } from '../support/run';

const SCRIPT = resolve(__dirname, '../../install-node-exporter.sh');
const DEBIAN_BINARY = '/usr/bin/prometheus-node-exporter';

// Async on purpose: the release test's HTTP server lives in this process.
function run(args: string[], env: Record<string, string> = {}, command: string[] = [SCRIPT]): Promise<RunResult> {
  const [cmd, ...rest] = command;
  return runProcess(cmd!, [...rest, ...args], env);
}

function tempDir(t: { after: (fn: () => void) => void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The plan's "key: value" lines. */
function planOf(stdout: string): Record<string, string> {
  const plan: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^\s{2}([a-z-]+):\s+(.*)$/.exec(line);
    if (m) plan[m[1]!] = m[2]!;
  }
  return plan;
}

/** Every path under dir with its type, mode and content hash (or link target). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const st = lstatSync(p);
    const key = relative(dir, p) || '.';
    if (st.isSymbolicLink()) out[key] = `link -> ${readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[key] = `dir ${(st.mode & 0o7777).toString(8)}`;
      for (const name of readdirSync(p)) walk(join(p, name));
    } else {
      out[key] = `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('--help prints the usage and exits 0', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const option of ['--version', '--uninstall', '--dry-run', '--root', '--binary']) assert.ok(r.stdout.includes(option), option);
});

test('--dry-run on this host plans the distribution package (apt) or the tarball, and changes nothing', async () => {
  const r = await run(['--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  const plan = planOf(r.stdout);
  if (existsSync('/usr/bin/apt-get')) {
    assert.equal(plan.method, 'distribution package prometheus-node-exporter (apt-get)');
    assert.match(plan['drop-in'] ?? '', /^\/etc\/systemd\/system\/prometheus-node-exporter\.service\.d\/10-hardening\.conf/);
  } else {
    assert.match(plan.method ?? '', /^release tarball v/);
  }
  assert.equal(existsSync('/var/lib/install-node-exporter/manifest'), false, 'a dry run records nothing');
});

test('--dry-run --version V --root DIR plans the checked release tarball and writes nothing', async (t) => {
  const root = join(tempDir(t, 'ne-plan-'), 'root');
  const r = await run(['--dry-run', '--version', '1.10.2', '--root', root]);
  assert.equal(r.code, 0, r.stderr);
  const plan = planOf(r.stdout);
  assert.match(plan.method ?? '', /^release tarball v1\.10\.2 \(linux-[a-z0-9]+\)$/);
  assert.match(
    plan.source ?? '',
    /^https:\/\/github\.com\/prometheus\/node_exporter\/releases\/download\/v1\.10\.2\/node_exporter-1\.10\.2\.linux-[a-z0-9]+\.tar\.gz$/,
  );
  assert.match(plan.checksum ?? '', /sha256sums\.txt$/);
  assert.equal(plan.binary, `${root}/usr/local/bin/node_exporter`);
  assert.equal(plan.unit, `${root}/etc/systemd/system/node_exporter.service`);
  assert.match(plan.user ?? '', /^node_exporter /);
  assert.equal(existsSync(root), false, 'the dry run created nothing');
});

test('install from the Debian binary into a temp root: files where the plan said, idempotent, uninstall removes them', async (t) => {
  const root = join(tempDir(t, 'ne-install-'), 'root');
  const args = ['--root', root, '--binary', DEBIAN_BINARY];

  const dry = await run(['--dry-run', ...args]);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = planOf(dry.stdout);
  assert.equal(plan.method, 'local binary');

  const first = await run(args);
  assert.equal(first.code, 0, first.stderr);

  // The binary and the unit are where the plan said.
  const binary = plan.binary!;
  const unitFile = plan.unit!;
  assert.equal(sha256(binary), sha256(DEBIAN_BINARY));
  assert.equal(lstatSync(binary).mode & 0o777, 0o755);
  assert.match(execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), /node_exporter, version/);

  const unit = readFileSync(unitFile, 'utf8');
  assert.match(
    unit,
    /^ExecStart=\/usr\/local\/bin\/node_exporter --web\.listen-address=:9100/m,
    'ExecStart names the path inside the root, not the staging dir',
  );
  for (const directive of [
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'CapabilityBoundingSet=$',
    'SystemCallFilter=@system-service',
  ]) {
    assert.match(unit, new RegExp(`^${directive}`, 'm'), directive);
  }
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  assert.equal(readlinkSync(plan.enable!.split(' ')[0]!), '/etc/systemd/system/node_exporter.service');

  // No user is created: systemd allocates one at each start (DynamicUser), so the root's passwd stays untouched.
  assert.match(unit, /^DynamicUser=yes$/m);
  assert.doesNotMatch(unit, /^User=/m);
  assert.equal(existsSync(join(root, 'etc/passwd')), false, 'the install wrote an /etc/passwd');

  // systemd itself accepts the unit when it is available here (every directive known).
  if (existsSync('/usr/bin/systemd-analyze')) {
    const check = join(root, 'verify', 'node_exporter.service');
    mkdirSync(join(root, 'verify'));
    writeFileSync(check, unit.replace('ExecStart=/usr/local/bin/node_exporter', `ExecStart=${binary}`));
    const verify = await run([check], {}, ['/usr/bin/systemd-analyze', 'verify']);
    const aboutOurs = (verify.stdout + verify.stderr).split('\n').filter((l) => l.includes('node_exporter.service'));
    assert.deepEqual(aboutOurs, [], 'systemd-analyze verify found problems in the unit');
    rmSync(join(root, 'verify'), { recursive: true });
  } else {
    t.diagnostic('systemd-analyze not installed: the unit was checked by its content only');
  }

  // A second run changes nothing.
  const before = snapshot(root);
  const second = await run(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /nothing changed/);
  assert.deepEqual(snapshot(root), before);

  // Uninstall removes binary, unit, enablement and manifest; a second uninstall is harmless.
  const removed = await run(['--uninstall', '--root', root]);
  assert.equal(removed.code, 0, removed.stderr);
  for (const gone of [binary, unitFile, plan.enable!.split(' ')[0]!, plan.manifest!]) assert.equal(existsSync(gone), false, gone);
  const again = await run(['--uninstall', '--root', root]);
  assert.equal(again.code, 0, again.stderr);
});

test('an existing passwd and group in the root are left byte for byte, through install and uninstall', async (t) => {
  const root = join(tempDir(t, 'ne-user-'), 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nnode_exporter:x:420:420::/:/usr/sbin/nologin\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode_exporter:x:420:\n');
  const before = { passwd: sha256(join(root, 'etc/passwd')), group: sha256(join(root, 'etc/group')) };

  assert.equal((await run(['--root', root, '--binary', DEBIAN_BINARY])).code, 0);
  const removed = await run(['--uninstall', '--root', root]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual({ passwd: sha256(join(root, 'etc/passwd')), group: sha256(join(root, 'etc/group')) }, before);
});

test('release tarball: installed when its SHA-256 matches sha256sums.txt, refused when not', async (t) => {
  const dir = tempDir(t, 'ne-release-');
  const version = '9.9.9';
  // The script names the tarball for this host's architecture; serve exactly that file.
  const plan = planOf((await run(['--dry-run', '--version', version, '--root', join(dir, 'x')])).stdout);
  const tarball = /\/(node_exporter-[^/]+\.tar\.gz)$/.exec(plan.source ?? '')?.[1];
  assert.ok(tarball, `no tarball in the plan: ${plan.source}`);
  const stem = tarball.replace(/\.tar\.gz$/, '');
  mkdirSync(join(dir, 'stage', stem), { recursive: true });
  copyFileSync(DEBIAN_BINARY, join(dir, 'stage', stem, 'node_exporter'));
  chmodSync(join(dir, 'stage', stem, 'node_exporter'), 0o755);
  execFileSync('tar', ['-czf', join(dir, tarball), '-C', join(dir, 'stage'), stem]);
  const goodSums = `${sha256(join(dir, tarball))}  ${tarball}\n${'0'.repeat(64)}  node_exporter-${version}.linux-other.tar.gz\n`;
  let sums = goodSums;
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/v${version}/${tarball}`) return res.end(readFileSync(join(dir, tarball)));
    if (req.url === `/v${version}/sha256sums.txt`) return res.end(sums);
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const good = join(dir, 'good');
  const ok = await run(['--root', good, '--version', version, '--mirror', mirror]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr + ok.stdout, /checksum ok/);
  assert.equal(sha256(join(good, 'usr/local/bin/node_exporter')), sha256(DEBIAN_BINARY));
  assert.match(readFileSync(join(good, 'var/lib/install-node-exporter/manifest'), 'utf8'), /^method=release$/m);
  assert.ok(requests.includes(`/v${version}/sha256sums.txt`));

  sums = `${'f'.repeat(64)}  ${tarball}\n`;
  const bad = join(dir, 'bad');
  const refused = await run(['--root', bad, '--version', version, '--mirror', mirror]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /checksum mismatch/);
  assert.equal(existsSync(join(bad, 'usr/local/bin/node_exporter')), false);

  sums = `${'0'.repeat(64)}  some-other-file.tar.gz\n`;
  const missing = await run(['--root', join(dir, 'missing'), '--version', version, '--mirror', mirror]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /sha256sums\.txt has no line for/);
});

test('clear errors: not root, no systemd, bad options', async (t) => {
  // A copy anyone can read: the checkout itself may sit in a directory only root can enter.
  const dir = tempDir(t, 'ne-errors-');
  chmodSync(dir, 0o755);
  const copy = join(dir, 'install-node-exporter.sh');
  copyFileSync(SCRIPT, copy);
  chmodSync(copy, 0o755);

  const notRoot = await run(['--binary', DEBIAN_BINARY], {}, ['runuser', '-u', 'nobody', '--', copy]);
  assert.equal(notRoot.code, 1);
  assert.match(notRoot.stderr, /must run as root/);

  const noSystemd = await run(['--binary', DEBIAN_BINARY], { NODE_EXPORTER_SYSTEMD_PROBE: join(dir, 'no-such-dir') });
  assert.equal(noSystemd.code, 1);
  assert.match(noSystemd.stderr, /systemd is not running/);

  const badVersion = await run(['--version', 'latest', '--dry-run']);
  assert.equal(badVersion.code, 1);
  assert.match(badVersion.stderr, /--version must look like/);

  const unknown = await run(['--frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--frobnicate'/);
});
