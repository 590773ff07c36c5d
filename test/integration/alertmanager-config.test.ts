// alertmanager/render.sh: every receiver combination renders a configuration `amtool check-config`
// accepts, under busybox sh as in the prom/alertmanager image; the routing and inhibition are those
// the issue asks for; a bad setting stops with exit 2 and one line naming the variable, never the secret.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import YAML from 'yaml';
import { REPO_ROOT } from '../support/daemons';

const RENDER = path.join(REPO_ROOT, 'alertmanager', 'render.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-amcfg-'));
const TOKEN = '123456789:AAF-secret_token';
const tokenFile = path.join(dir, 'telegram-token');
fs.writeFileSync(tokenFile, `${TOKEN}\n`);
const passwordFile = path.join(dir, 'smtp-password');
fs.writeFileSync(passwordFile, 'mail-secret\n');

/** Runs render.sh with only `env` of the ALERT_* variables (none inherited from the caller). */
function render(env: Record<string, string>, shell: 'sh' | 'busybox' = 'sh') {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}.yml`);
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ALERT_')) clean[k] = v;
  const [cmd, ...args] = shell === 'busybox' ? ['busybox', 'sh'] : ['sh'];
  const r = spawnSync(cmd!, [...args, RENDER, out], { env: { ...clean, ...env }, encoding: 'utf8' });
  const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  return { code: r.status, stderr: r.stderr, text, file: out, config: text ? (YAML.parse(text) as AmConfig) : undefined };
}

interface AmConfig {
  route: {
    receiver: string;
    group_by: string[];
    group_wait: string;
    group_interval: string;
    repeat_interval: string;
    routes: Array<{ matchers: string[]; repeat_interval: string }>;
  };
  inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
  receivers: Array<{
    name: string;
    webhook_configs?: Array<Record<string, unknown>>;
    telegram_configs?: Array<Record<string, unknown>>;
    email_configs?: Array<Record<string, unknown>>;
  }>;
}

const amtoolCheck = (file: string) => spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });

const ALL_RECEIVERS = {
  ALERT_WEBHOOK_URL: 'https://hooks.example.org/moex?token=abc',
  ALERT_TELEGRAM_BOT_TOKEN_FILE: tokenFile,
  ALERT_TELEGRAM_CHAT_ID: '-1001234567890',
  ALERT_SMTP_TO: 'oncall@example.org,desk@example.org',
  ALERT_SMTP_FROM: 'alertmanager@example.org',
  ALERT_SMTP_SMARTHOST: 'smtp.example.org:587',
  ALERT_SMTP_AUTH_USERNAME: 'alertmanager',
  ALERT_SMTP_AUTH_PASSWORD_FILE: passwordFile,
};

describe('alertmanager/render.sh', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('with nothing set: alerts go to the backend only, and amtool check-config accepts it', () => {
    const r = render({});
    assert.equal(r.code, 0, r.stderr);
    const check = amtoolCheck(r.file);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS/);
    assert.deepEqual(r.config!.receivers, [
      { name: 'notify', webhook_configs: [{ url: 'http://127.0.0.1:8998/api/alerts', send_resolved: true, max_alerts: 100 }] },
    ]);
  });

  test('routing: grouped by alertname, ticker, board; critical repeats sooner than warning; send_resolved everywhere', () => {
    const { config } = render(ALL_RECEIVERS);
    assert.equal(config!.route.receiver, 'notify');
    assert.deepEqual(config!.route.group_by, ['alertname', 'ticker', 'board']);
    assert.deepEqual([config!.route.group_wait, config!.route.group_interval, config!.route.repeat_interval], ['30s', '5m', '4h']);
    assert.deepEqual(config!.route.routes, [{ matchers: ['severity="critical"'], repeat_interval: '1h' }]);
    const receiver = config!.receivers[0]!;
    for (const c of [...receiver.webhook_configs!, ...receiver.telegram_configs!, ...receiver.email_configs!]) assert.equal(c.send_resolved, true);
  });

  test('inhibition: TargetDown mutes its own job/instance quote alerts; MoexPollsFailing mutes per-ticker staleness', () => {
    const { config } = render({});
    assert.deepEqual(config!.inhibit_rules, [
      { source_matchers: ['alertname="TargetDown"'], target_matchers: ['alertname=~"Moex.+|Scraper.+|Backend.+"'], equal: ['job', 'instance'] },
      { source_matchers: ['alertname="MoexPollsFailing"'], target_matchers: ['alertname=~"MoexQuotesStale|MoexFeedDelayHigh"'], equal: ['job', 'instance'] },
    ]);
    // The alert names are those of the shipped rules.
    const rules = fs.readFileSync(path.join(REPO_ROOT, 'prometheus', 'rules', 'alerts.yml'), 'utf8');
    for (const name of ['TargetDown', 'MoexPollsFailing', 'MoexQuotesStale', 'MoexFeedDelayHigh']) assert.match(rules, new RegExp(`- alert: ${name}$`, 'm'));
  });

  test('every receiver at once, under busybox sh (the prom/alertmanager image shell): valid, file readable by its owner only', () => {
    const r = render(ALL_RECEIVERS, 'busybox');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(amtoolCheck(r.file).status, 0, amtoolCheck(r.file).stdout);
    assert.equal(fs.statSync(r.file).mode & 0o777, 0o600);
    const receiver = r.config!.receivers[0]!;
    assert.deepEqual(
      receiver.webhook_configs!.map((w) => w.url),
      ['http://127.0.0.1:8998/api/alerts', ALL_RECEIVERS.ALERT_WEBHOOK_URL],
    );
    // Alertmanager 0.25 (Debian 12) has no bot_token_file: the token is written into the private file.
    assert.deepEqual(receiver.telegram_configs, [{ bot_token: TOKEN, chat_id: -1001234567890, send_resolved: true }]);
    assert.deepEqual(receiver.email_configs, [
      {
        to: ALL_RECEIVERS.ALERT_SMTP_TO,
        from: ALL_RECEIVERS.ALERT_SMTP_FROM,
        smarthost: ALL_RECEIVERS.ALERT_SMTP_SMARTHOST,
        require_tls: true,
        send_resolved: true,
        auth_username: 'alertmanager',
        auth_password_file: passwordFile,
      },
    ]);
    assert.doesNotMatch(r.text, /mail-secret/, 'the SMTP password stays in its file');
  });

  test('timing variables and ALERT_BACKEND_URL=off (with another receiver) are honoured', () => {
    const r = render({
      ALERT_GROUP_WAIT: '1s',
      ALERT_GROUP_INTERVAL: '2s',
      ALERT_REPEAT_INTERVAL: '12h',
      ALERT_REPEAT_INTERVAL_CRITICAL: '30m',
      ALERT_BACKEND_URL: 'off',
      ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [r.config!.route.group_wait, r.config!.route.group_interval, r.config!.route.repeat_interval, r.config!.route.routes[0]!.repeat_interval],
      ['1s', '2s', '12h', '30m'],
    );
    assert.deepEqual(
      r.config!.receivers[0]!.webhook_configs!.map((w) => w.url),
      ['http://127.0.0.1:9/hook'],
    );
  });

  test('the compose service environment (secrets unset: /dev/null mounted) renders under busybox', () => {
    const r = render(
      {
        ALERT_BACKEND_URL: 'http://backend:8998/api/alerts',
        ALERT_WEBHOOK_URL: '',
        ALERT_TELEGRAM_CHAT_ID: '',
        ALERT_TELEGRAM_BOT_TOKEN_FILE: '/dev/null',
        ALERT_SMTP_TO: '',
        ALERT_SMTP_FROM: '',
        ALERT_SMTP_SMARTHOST: '',
        ALERT_SMTP_AUTH_USERNAME: '',
        ALERT_SMTP_AUTH_PASSWORD_FILE: '/dev/null',
        ALERT_SMTP_REQUIRE_TLS: 'true',
      },
      'busybox',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.config!.receivers, [
      { name: 'notify', webhook_configs: [{ url: 'http://backend:8998/api/alerts', send_resolved: true, max_alerts: 100 }] },
    ]);
  });

  const BAD: Array<[string, Record<string, string>, RegExp]> = [
    ['webhook URL', { ALERT_WEBHOOK_URL: 'hooks.example.org/alerts' }, /^alertmanager config: ALERT_WEBHOOK_URL must be an http:\/\/ or https:\/\/ URL/],
    ['webhook URL file missing', { ALERT_WEBHOOK_URL_FILE: '/nonexistent/url' }, /^alertmanager config: ALERT_WEBHOOK_URL_FILE: cannot read/],
    ['chat id without token', { ALERT_TELEGRAM_CHAT_ID: '42' }, /^alertmanager config: ALERT_TELEGRAM_BOT_TOKEN_FILE must name a file/],
    ['token without chat id', { ALERT_TELEGRAM_BOT_TOKEN_FILE: tokenFile }, /^alertmanager config: ALERT_TELEGRAM_CHAT_ID must be set/],
    [
      'chat id not a number',
      { ALERT_TELEGRAM_BOT_TOKEN_FILE: tokenFile, ALERT_TELEGRAM_CHAT_ID: '@desk' },
      /^alertmanager config: ALERT_TELEGRAM_CHAT_ID must be an integer/,
    ],
    [
      'token file holds garbage',
      { ALERT_TELEGRAM_BOT_TOKEN_FILE: passwordFile, ALERT_TELEGRAM_CHAT_ID: '42' },
      /^alertmanager config: ALERT_TELEGRAM_BOT_TOKEN_FILE does not hold a bot token/,
    ],
    [
      'smtp without smarthost',
      { ALERT_SMTP_TO: 'a@example.org', ALERT_SMTP_FROM: 'b@example.org' },
      /^alertmanager config: ALERT_SMTP_SMARTHOST must be host:port/,
    ],
    ['smtp require_tls', { ...ALL_RECEIVERS, ALERT_SMTP_REQUIRE_TLS: 'yes' }, /^alertmanager config: ALERT_SMTP_REQUIRE_TLS must be true or false/],
    ['duration', { ALERT_GROUP_WAIT: 'soon' }, /^alertmanager config: ALERT_GROUP_WAIT must be a duration/],
    [
      'a value amtool refuses',
      { ALERT_REPEAT_INTERVAL: '0s' },
      /^alertmanager config: amtool check-config rejected the rendered configuration: .*repeat_interval cannot be zero/,
    ],
  ];
  for (const [what, env, message] of BAD) {
    test(`bad setting (${what}): exit 2, one line naming it, nothing written, no secret echoed`, () => {
      const r = render(env, 'busybox');
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.text, '');
      assert.doesNotMatch(r.stderr, /AAF-secret|mail-secret/);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('.tmp.')),
        [],
        'no temp file left',
      );
    });
  }

  test('./runner.sh daemon config alertmanager prints the rendered file; a bad setting exits 2 with the one line', () => {
    const env = { ...process.env, ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook', BACKEND_PORT: '41998' };
    const cli = [process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'ops', 'main.ts'), 'daemon', 'config', 'alertmanager'] as const;
    const ok = spawnSync(cli[0], cli.slice(1), { env, encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(ok.status, 0, ok.stderr);
    const config = YAML.parse(ok.stdout) as AmConfig;
    assert.deepEqual(
      config.receivers[0]!.webhook_configs!.map((w) => w.url),
      ['http://127.0.0.1:41998/api/alerts', 'http://127.0.0.1:9/hook'],
    );
    const bad = spawnSync(cli[0], cli.slice(1), { env: { ...env, ALERT_TELEGRAM_CHAT_ID: 'x' }, encoding: 'utf8', cwd: REPO_ROOT });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });
});
