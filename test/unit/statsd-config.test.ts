// graphite/statsd/config.js as statsd itself reads it: statsd evaluates the file as `config = <file>`,
// and takes some settings only from the top level (prefixStats), others only under `graphite:`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const STATSD = join(ROOT, 'node_modules', 'statsd');

function loadConfig(): Record<string, unknown> & { graphite: Record<string, unknown> } {
  // What statsd (lib/config.js) does with the file: evaluate it as one JavaScript expression.
  const config: unknown = eval(`(${readFileSync(join(ROOT, 'graphite/statsd/config.js'), 'utf8')})`);
  return config as Record<string, unknown> & { graphite: Record<string, unknown> };
}

test('prefixStats is set where statsd reads it: at the top level, not under graphite', () => {
  const config = loadConfig();
  // The installed daemon and its graphite backend both take config.prefixStats.
  for (const file of ['stats.js', 'backends/graphite.js']) {
    const source = readFileSync(join(STATSD, file), 'utf8');
    assert.match(source, /config\.prefixStats/, file);
    assert.doesNotMatch(source, /config\.graphite\.prefixStats/, file);
  }
  assert.equal(config.prefixStats, 'statsd');
  assert.equal('prefixStats' in config.graphite, false, 'graphite.prefixStats is ignored by statsd');
});

test('the graphite backend settings statsd reads under graphite: put gauges at exactly stocks.<TICKER>.<field>', () => {
  const { graphite } = loadConfig();
  assert.equal(graphite.legacyNamespace, false);
  for (const key of ['globalPrefix', 'prefixGauge', 'prefixCounter', 'prefixTimer', 'prefixSet']) assert.equal(graphite[key], '', key);
  const backend = readFileSync(join(STATSD, 'backends/graphite.js'), 'utf8');
  for (const key of ['legacyNamespace', 'globalPrefix', 'prefixGauge']) assert.match(backend, new RegExp(`config\\.graphite\\.${key}`), key);
});
