// The configs generated from TypeScript: the committed files are exactly what the source makes
// (edit one by hand, or change the source without `./runner.sh configs`, and this fails), compose
// and native Prometheus come from one job table, and promtool accepts what the native stack runs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { nativePrometheusConfig } from '../../ops/daemons';
import { GENERATED_FILES } from '../../ops/generated-files';
import { STACK_JOBS } from '../../ops/prometheus-config';
import { stackSettings } from '../../ops/stack-settings';
import { runProcess } from '../support/run';
import { REPO_ROOT } from '../support/services';

type Job = { job_name: string; scheme?: string; basic_auth?: { password_file: string }; static_configs?: Array<{ targets: string[] }> };
const jobsOf = (text: string) => (YAML.parse(text) as { scrape_configs: Job[] }).scrape_configs;

describe('generated configs', () => {
  for (const { file, content } of GENERATED_FILES) {
    test(`${file} is what ops/ generates (run ./runner.sh configs after changing the source)`, () => {
      assert.equal(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'), content(), `${file} differs from its generator`);
    });
  }

  test('compose and native Prometheus scrape the same jobs of the one table, each on its own host', () => {
    const compose = jobsOf(fs.readFileSync(path.join(REPO_ROOT, 'prometheus', 'prometheus.yml'), 'utf8'));
    const ports = { WORKER_PORT: '41000', SCRAPER_PORT: '41001', BACKEND_PORT: '41002', PROMETHEUS_PORT: '41003', NODE_EXPORTER_PORT: '41004' };
    const native = jobsOf(nativePrometheusConfig(stackSettings(ports)));
    assert.deepEqual(
      compose.map((j) => j.job_name),
      STACK_JOBS.map((j) => j.job),
    );
    assert.deepEqual(
      native.map((j) => j.job_name),
      STACK_JOBS.map((j) => j.job),
    );
    for (const [i, job] of STACK_JOBS.entries()) {
      assert.deepEqual(compose[i]!.static_configs, [{ targets: [`${job.composeHost}:${job.port}`] }]);
      assert.deepEqual(native[i]!.static_configs, [{ targets: [`127.0.0.1:${ports[job.portVariable as keyof typeof ports]}`] }]);
    }
    // Natively without WEB_CONFIG_FILE: plain http, no password (docs/security.md).
    assert.ok(native.every((j) => j.scheme === undefined && j.basic_auth === undefined));
    assert.ok(compose.every((j) => j.scheme === 'https' && j.basic_auth?.password_file === '/run/secrets/prometheus_password'));
  });

  test('promtool accepts the native config, plain and with a web config, targets and remote_write', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-promcfg-'));
    try {
      fs.writeFileSync(path.join(dir, 'tls.crt'), '');
      fs.writeFileSync(path.join(dir, 'prometheus_password'), 'secret\n');
      fs.writeFileSync(path.join(dir, 'web-config.yml'), 'tls_server_config: { cert_file: tls.crt, key_file: tls.key }\nbasic_auth_users: { prometheus: x }\n');
      const variants: Array<Record<string, string>> = [
        { PROMETHEUS_SCRAPE_INTERVAL: '1s' },
        {
          WEB_CONFIG_FILE: path.join(dir, 'web-config.yml'),
          PROMETHEUS_TARGETS: 'worker-prometheus=127.0.0.1:41000,127.0.0.1:41001;node=127.0.0.1:9',
          PROMETHEUS_REMOTE_WRITE_URL: 'http://127.0.0.1:8428/api/v1/write',
        },
      ];
      for (const env of variants) {
        const file = path.join(dir, 'prometheus.yml');
        const text = nativePrometheusConfig(stackSettings(env));
        fs.writeFileSync(file, text);
        const { code, stdout, stderr } = await runProcess('promtool', ['check', 'config', file]);
        assert.equal(code, 0, `${stdout}${stderr}\n${text}`);
        assert.match(stdout, /SUCCESS: [1-9][0-9]* rule files found/);
      }
      const secured = jobsOf(fs.readFileSync(path.join(dir, 'prometheus.yml'), 'utf8'));
      assert.deepEqual(
        secured.map((j) => [j.job_name, j.scheme, j.basic_auth?.password_file]),
        [
          ['worker-prometheus', 'https', path.join(dir, 'prometheus_password')],
          ['node', 'https', path.join(dir, 'prometheus_password')],
        ],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no YAML is edited with sed or awk anywhere in the repository', async () => {
    // The pattern is built, so that this file does not match it.
    const pattern = ['sed', 'awk'].map((tool) => `${tool} .*(yml|yaml)`).join('|');
    const { stdout } = await runProcess('git', ['grep', '-nE', pattern], {}, REPO_ROOT);
    assert.equal(stdout, '');
  });
});
