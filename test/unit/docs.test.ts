// The repository's own reference: the generated blocks of docs/*.md agree with the code (config
// shapes and their doc lines, compose variables, metric registries, markets, routes, commands),
// and every relative link of README.md and docs/*.md leads somewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { doc, positiveInt } from '../../lib/config';
import { composeVariables, driftProblems, undocumentedVariables } from '../../docs/generate';
import { workerShape } from '../../worker-prometheus/src/config';

const ROOT = path.resolve(__dirname, '../..');

test('docs/*.md say what the code says (npx tsx docs/generate.ts rewrites them)', () => {
  assert.deepEqual(driftProblems(), []);
});

test('a variable added to a config shape without a doc line is a drift error naming it', (t) => {
  const shape = workerShape as Record<string, unknown>;
  t.after(() => {
    delete shape.WORKER_NEW_SETTING;
    delete shape.WORKER_DOCUMENTED_SETTING;
  });
  shape.WORKER_NEW_SETTING = positiveInt(5);
  assert.deepEqual(undocumentedVariables(), [
    "WORKER_NEW_SETTING (worker-prometheus (`./runner.sh worker`)) has no doc line: declare it as WORKER_NEW_SETTING: doc('what it means', ...)",
  ]);
  assert.ok(driftProblems().some((p) => p.startsWith('WORKER_NEW_SETTING ')));
  // Documented, it is still drift until the page is generated again: the table lacks its row.
  delete shape.WORKER_NEW_SETTING;
  shape.WORKER_DOCUMENTED_SETTING = doc('a setting the page does not list yet', positiveInt(5));
  assert.deepEqual(undocumentedVariables(), []);
  assert.deepEqual(driftProblems(), ['docs/configuration.md differs from what the code says: run npx tsx docs/generate.ts']);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => anchorOf(m[1]!.replace(/`/g, ''))));
}

test('every relative link of README.md and docs/*.md resolves (file, and heading when it names one)', () => {
  const pages = [
    'README.md',
    ...fs
      .readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  let checked = 0;
  const broken: string[] = [];
  for (const page of pages) {
    const text = fs.readFileSync(path.join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // http(s):, mailto:
      const [file = '', anchor] = target!.split('#');
      const resolved = file === '' ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), file);
      checked += 1;
      if (!fs.existsSync(resolved)) broken.push(`${page}: ${target} (no ${path.relative(ROOT, resolved)})`);
      else if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor})`);
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 20, `${checked} links checked`);
});

test('README.md is a landing page: at most about 150 lines, with its screenshot', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.split('\n').length <= 160, `${readme.split('\n').length} lines`);
  assert.match(readme, /!\[[^\]]+\]\(docs\/images\/backend-page\.png\)/);
});

test('a copy of .env.example changes nothing: every line is commented, and shows the default compose has', () => {
  const text = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  assert.deepEqual(parseEnv(text), {}, '.env.example sets a variable');
  const defaults = composeVariables();
  // The simulator's block is a choice, not the defaults; so are the receivers' examples.
  const demo = text.slice(text.indexOf('# --- The simulator'), text.indexOf('# ---', text.indexOf('# --- The simulator') + 1));
  assert.match(demo, /^# COMPOSE_PROFILES=demo$/m);
  assert.match(demo, /^# MOEX_ISS_URL=http:\/\/iss-sim:8999\/iss$/m);
  const shown = [...text.replace(demo, '').matchAll(/^# ([A-Z][A-Z0-9_]*)=(.*)$/gm)].filter(([, name]) => !name!.startsWith('ALERT_'));
  assert.ok(shown.length >= 10, `${shown.length} defaults shown`);
  for (const [line, name, value] of shown) {
    assert.ok(defaults.has(name!), `${line}: docker-compose.yml does not read ${name}`);
    assert.equal(value, defaults.get(name!), `${line}: compose's default is '${defaults.get(name!)}'`);
  }
});
