import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { runProcess } from '../support/run';
import { REPO_ROOT } from '../support/services';

/** Runs prometheus/start.sh as the compose entrypoint would, with `true` in place of Prometheus. */
async function render(env: Record<string, string>): Promise<{ code: number | null; config: Record<string, unknown> | null; stderr: string }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prom-start-')), 'prometheus.yml');
  const run = await runProcess('sh', [path.join(REPO_ROOT, 'prometheus', 'start.sh')], {
    PROMETHEUS_CONFIG_DIR: path.join(REPO_ROOT, 'prometheus'), PROMETHEUS_RUNNING_CONFIG: out, PROMETHEUS_BIN: 'true', ...env,
  });
  return { code: run.code, stderr: run.stderr, config: fs.existsSync(out) ? (parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>) : null };
}

describe('prometheus/start.sh (compose entrypoint)', () => {
  test('by default: prometheus.yml as it is, rule paths absolute, no remote_write, no shard job', async () => {
    const { code, config } = await render({});
    assert.equal(code, 0);
    assert.deepEqual(config!.rule_files, [path.join(REPO_ROOT, 'prometheus', 'rules/*.yml')]);
    assert.equal(config!.remote_write, undefined);
    assert.ok(!(config!.scrape_configs as Array<{ job_name: string }>).some((j) => j.job_name === 'worker-shards'));
  });

  test('PROMETHEUS_REMOTE_WRITE_URL and WORKER_SHARDS: a remote_write target and a DNS-discovered shard job', async () => {
    const { code, config } = await render({ PROMETHEUS_REMOTE_WRITE_URL: 'http://victoria-metrics:8428/api/v1/write', WORKER_SHARDS: '3' });
    assert.equal(code, 0);
    const remote = config!.remote_write as Array<{ url: string; queue_config: Record<string, unknown> }>;
    assert.equal(remote[0]!.url, 'http://victoria-metrics:8428/api/v1/write');
    assert.equal(remote[0]!.queue_config.max_shards, 8);
    const job = (config!.scrape_configs as Array<{ job_name: string; dns_sd_configs?: unknown }>).find((j) => j.job_name === 'worker-shards');
    assert.deepEqual(job!.dns_sd_configs, [{ names: ['worker-shard'], type: 'A', port: 8000, refresh_interval: '30s' }]);
    assert.ok((config!.scrape_configs as unknown[]).length >= 6, 'the other jobs are kept');
  });

  test('a bad URL or shard count stops with exit 2 and one line', async () => {
    for (const env of [{ PROMETHEUS_REMOTE_WRITE_URL: 'victoria:8428' }, { WORKER_SHARDS: 'two' }]) {
      const { code, stderr } = await render(env);
      assert.equal(code, 2, JSON.stringify(env));
      assert.equal(stderr.trim().split('\n').length, 1);
    }
  });
});
