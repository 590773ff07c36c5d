import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { runProcess } from '../support/run';
import { REPO_ROOT } from '../support/services';

/**
 * Runs prometheus/start.sh as the compose entrypoint would, with `echo` in place of Prometheus: the
 * config it chose (and, with remote_write, wrote), checked by promtool as Prometheus would load it.
 */
async function start(
  env: Record<string, string>,
): Promise<{ code: number | null; file?: string; config?: Record<string, unknown>; check?: string; stderr: string }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prom-start-')), 'config', 'prometheus.yml');
  const run = await runProcess('sh', [path.join(REPO_ROOT, 'prometheus', 'start.sh'), '--storage.tsdb.path=/prometheus'], {
    PROMETHEUS_CONFIG_DIR: path.join(REPO_ROOT, 'prometheus'),
    PROMETHEUS_RUNNING_CONFIG: out,
    PROMETHEUS_BIN: 'echo',
    ...env,
  });
  const file = /--config\.file=(\S+) --storage\.tsdb\.path=\/prometheus$/.exec(run.stdout.trim())?.[1];
  if (run.code !== 0 || !file) return { code: run.code, stderr: run.stderr };
  const check = await runProcess('promtool', ['check', 'config', file]);
  assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
  return { code: run.code, stderr: run.stderr, file, config: parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>, check: check.stdout };
}

const jobNames = (config: Record<string, unknown>) => (config.scrape_configs as Array<{ job_name: string }>).map((j) => j.job_name);
const ruleFiles = fs.readdirSync(path.join(REPO_ROOT, 'prometheus', 'rules')).filter((f) => f.endsWith('.yml')).length;

describe('prometheus/start.sh (compose entrypoint)', () => {
  test('by default: the committed prometheus.yml as it is, its rules found, no remote_write, no shard job', async () => {
    const { code, file, config, check } = await start({});
    assert.equal(code, 0);
    assert.equal(file, path.join(REPO_ROOT, 'prometheus', 'prometheus.yml'));
    assert.match(check!, new RegExp(`SUCCESS: ${ruleFiles} rule files found`));
    assert.equal(config!.remote_write, undefined);
    assert.deepEqual(jobNames(config!), ['prometheus', 'node-exporter', 'worker-prometheus', 'scraper', 'backend']);
  });

  test('PROMETHEUS_REMOTE_WRITE_URL and WORKER_SHARDS: a remote_write target and a DNS-discovered shard job, rules still found', async () => {
    const { code, config, check } = await start({ PROMETHEUS_REMOTE_WRITE_URL: 'http://victoria-metrics:8428/api/v1/write', WORKER_SHARDS: '3' });
    assert.equal(code, 0);
    assert.match(check!, new RegExp(`SUCCESS: ${ruleFiles} rule files found`));
    const remote = config!.remote_write as Array<{ url: string; queue_config: Record<string, unknown> }>;
    assert.equal(remote[0]!.url, 'http://victoria-metrics:8428/api/v1/write');
    assert.equal(remote[0]!.queue_config.max_shards, 8);
    const job = (config!.scrape_configs as Array<{ job_name: string; dns_sd_configs?: unknown }>).find((j) => j.job_name === 'worker-shards');
    assert.deepEqual(job!.dns_sd_configs, [{ names: ['worker-shard'], type: 'A', port: 8000, refresh_interval: '30s' }]);
    assert.deepEqual(jobNames(config!), ['prometheus', 'node-exporter', 'worker-prometheus', 'scraper', 'backend', 'worker-shards']);
  });

  test('remote_write alone: the default config plus the block', async () => {
    const { code, config } = await start({ PROMETHEUS_REMOTE_WRITE_URL: 'https://vm.example:8428/api/v1/write' });
    assert.equal(code, 0);
    assert.equal((config!.remote_write as Array<{ url: string }>)[0]!.url, 'https://vm.example:8428/api/v1/write');
    assert.ok(!jobNames(config!).includes('worker-shards'));
  });

  test('a bad URL or shard count stops with exit 2 and one line', async () => {
    const bad: Array<Record<string, string>> = [
      { PROMETHEUS_REMOTE_WRITE_URL: 'victoria:8428' },
      { PROMETHEUS_REMOTE_WRITE_URL: 'http://vm/"x' },
      { WORKER_SHARDS: 'two' },
    ];
    for (const env of bad) {
      const { code, stderr } = await start(env);
      assert.equal(code, 2, JSON.stringify(env));
      assert.equal(stderr.trim().split('\n').length, 1);
    }
  });
});
