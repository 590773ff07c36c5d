// Every shell script in git (and .ci/run) passes shellcheck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

function trackedScripts(): string[] {
  const listed = execFileSync('git', ['ls-files', '*.sh'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  return [...listed, '.ci/run'].filter((f) => existsSync(resolve(ROOT, f)));
}

test('git tracks the project scripts this test is meant to cover', () => {
  const scripts = trackedScripts();
  for (const expected of ['runner.sh', 'wait-for-grid.sh', 'install-node-exporter.sh', 'ops/e2e.sh', '.ci/run']) {
    assert.ok(scripts.includes(expected), `${expected} is tracked`);
  }
});

for (const script of trackedScripts()) {
  test(`shellcheck ${script}`, () => {
    // -x follows `source`d files; the directory of each script is where relative sources resolve.
    const r = spawnSync('shellcheck', ['-x', '--format=gcc', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.error, undefined, `could not run shellcheck (Debian package shellcheck): ${String(r.error)}`);
    assert.equal(r.status, 0, `${script}:\n${r.stdout}${r.stderr}`);
  });
}
