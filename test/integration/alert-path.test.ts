// The whole alert path on free loopback ports, every part real: ISS simulator -> worker -> Prometheus
// (the stack's rules) -> Alertmanager (alertmanager/alertmanager.yml rendered by render.sh) -> a
// webhook test server (ALERT_WEBHOOK_URL) and the backend (/api/alerts and its page).
//
// To keep the run short, Prometheus scrapes and evaluates every second and loads a copy of
// prometheus/rules/ whose `for:` durations are 3 s instead of minutes (the expressions, labels and
// annotations are the shipped ones; prometheus/tests/*.test.yml prove the real durations), and
// Alertmanager's group_wait/group_interval are 1 s/2 s. The repeat intervals stay long, so any second
// notification for a group would be a real duplicate.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatMoscowTime } from '../../lib/moex/moscow-time';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, freePort, REPO_ROOT, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const RULE_FOR = 3; // seconds, in the test copy of the rules
const GROUP_WAIT = 1;
const GROUP_INTERVAL = 2;

interface Notification {
  receivedAt: number;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

/** A webhook receiver that keeps every notification Alertmanager sends. */
async function startWebhook(): Promise<{ url: string; notifications: Notification[]; close(): Promise<void> }> {
  const notifications: Notification[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      notifications.push({ ...(JSON.parse(body) as Omit<Notification, 'receivedAt'>), receivedAt: Date.now() });
      res.writeHead(200).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/hook`, notifications, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** prometheus/rules/ with every `for:` shortened to RULE_FOR seconds. */
function shortenedRules(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-rules-'));
  const src = path.join(REPO_ROOT, 'prometheus', 'rules');
  for (const file of fs.readdirSync(src)) {
    const text = fs.readFileSync(path.join(src, file), 'utf8');
    fs.writeFileSync(path.join(dir, file), text.replace(/^(\s+for:) \d+[smh]$/gm, `$1 ${RULE_FOR}s`));
  }
  return dir;
}

const ofGroup = (alertname: string, status: 'firing' | 'resolved') => (n: Notification) => n.groupLabels.alertname === alertname && n.status === status;

/** The page as a browser renders it (its script fills the alerts panel from /api/alerts). */
function renderedPage(url: string): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'moex-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--virtual-time-budget=5000',
    '--dump-dom',
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile('chromium', args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      fs.rmSync(profile, { recursive: true, force: true });
      if (error) reject(new Error(`chromium: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('alert path: simulator fault -> Prometheus -> Alertmanager -> webhook and backend', { timeout: 180_000 }, () => {
  let sim: IssSim;
  let worker: RunningService;
  let backend: RunningService;
  let alertmanager: Daemon;
  let prometheus: Daemon;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let rulesDir: string;

  before(async () => {
    webhook = await startWebhook();
    rulesDir = shortenedRules();
    sim = await startIssSim();
    await sim.control.walk(false);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: '* * * * * *', MOEX_TIMEOUT_MS: '1000' }, { waitFor: 'readyz' });
    const backendPort = await freePort();
    alertmanager = await startDaemon('alertmanager', {
      env: {
        ALERT_BACKEND_URL: `http://127.0.0.1:${backendPort}/api/alerts`,
        ALERT_WEBHOOK_URL: webhook.url,
        ALERT_GROUP_WAIT: `${GROUP_WAIT}s`,
        ALERT_GROUP_INTERVAL: `${GROUP_INTERVAL}s`,
      },
    });
    prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: '1s',
      rulesDir,
      alertmanager,
    });
    backend = await startService('backend', {
      PORT: String(backendPort),
      PROMETHEUS_URL: prometheus.url,
      ALERTMANAGER_URL: alertmanager.url,
      WORKER_URL: worker.url,
      PROBE_TIMEOUT_MS: '1000',
    });
    await eventually(
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=moex_up`);
        const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
        return body.data.result[0]?.value[1] === '1';
      },
      30_000,
      'Prometheus scraping moex_up 1',
    );
  });

  after(async () => {
    await backend?.stop();
    await prometheus?.close();
    await alertmanager?.close();
    await worker?.stop();
    await sim?.stop();
    await webhook?.close();
    if (rulesDir) fs.rmSync(rulesDir, { recursive: true, force: true });
  });

  test('ISS failing: one MoexPollsFailing notification at the webhook, shown by the backend; resolved once the fault clears', async (t) => {
    assert.deepEqual(webhook.notifications, [], 'nothing fires while polls succeed');
    const faultAt = Date.now();
    await sim.control.setFault('http500');

    const firing = await eventually(async () => webhook.notifications.find(ofGroup('MoexPollsFailing', 'firing')), 30_000, 'MoexPollsFailing at the webhook');
    // Failure seen within a poll + scrape + evaluation (about 3 s), then `for`, then group_wait.
    const latency = (firing.receivedAt - faultAt) / 1000;
    t.diagnostic(`MoexPollsFailing notified ${latency.toFixed(1)} s after the fault (for: ${RULE_FOR}s, group_wait: ${GROUP_WAIT}s)`);
    assert.ok(latency < 3 + RULE_FOR + GROUP_WAIT + GROUP_INTERVAL + 3, `notified ${latency} s after the fault`);
    assert.deepEqual(
      firing.alerts.map((a) => [a.labels.alertname, a.labels.severity, a.labels.job, a.status]),
      [['MoexPollsFailing', 'critical', 'worker-prometheus', 'firing']],
    );

    // Alertmanager has it, the backend lists it, and the page shows it at the top.
    const inAlertmanager = (await (await fetch(`${alertmanager.url}/api/v2/alerts?filter=alertname%3D%22MoexPollsFailing%22`)).json()) as unknown[];
    assert.equal(inAlertmanager.length, 1);
    const listed = await eventually(
      async () => {
        const body = (await (await fetch(`${backend.url}/api/alerts`)).json()) as { alerts: Array<{ alertname: string; status: string }> };
        return body.alerts.find((a) => a.alertname === 'MoexPollsFailing' && a.status === 'firing');
      },
      10_000,
      'MoexPollsFailing in /api/alerts',
    );
    assert.ok(listed);
    const page = await renderedPage(`${backend.url}/`);
    assert.match(page, /<li data-alertname="MoexPollsFailing" data-status="firing" data-severity="critical">/);
    assert.match(page, /Alerts: 1 firing/);
    const status = (await (await fetch(`${backend.url}/api/status`)).json()) as { components: Array<{ name: string; ok: boolean; detail: string }> };
    assert.deepEqual(
      status.components.find((c) => c.name === 'alertmanager'),
      { ...status.components.find((c) => c.name === 'alertmanager'), ok: true, detail: 'ready, 1 alert firing' },
    );

    // Several group intervals later: still exactly one notification for the group.
    await sleep(3 * GROUP_INTERVAL * 1000);
    assert.equal(webhook.notifications.filter(ofGroup('MoexPollsFailing', 'firing')).length, 1);

    await sim.control.clearFault();
    const resolved = await eventually(async () => webhook.notifications.find(ofGroup('MoexPollsFailing', 'resolved')), 30_000, 'resolved notification');
    assert.deepEqual(
      resolved.alerts.map((a) => [a.labels.alertname, a.status]),
      [['MoexPollsFailing', 'resolved']],
    );
    await eventually(
      async () => {
        const body = (await (await fetch(`${backend.url}/api/alerts`)).json()) as { alerts: Array<{ alertname: string; status: string }> };
        return body.alerts.some((a) => a.alertname === 'MoexPollsFailing' && a.status === 'resolved');
      },
      10_000,
      'MoexPollsFailing resolved in /api/alerts',
    );
    assert.equal(webhook.notifications.filter(ofGroup('MoexPollsFailing', 'firing')).length, 1, 'no second firing notification');
  });

  test('inhibition: a TargetDown or failing ISS mutes the staleness alerts it causes, and only those', async () => {
    // Alerts as Prometheus would send them, straight to Alertmanager's API: the worker of job
    // "w-down" is unreachable, the poller "p-fail" cannot reach ISS, and "other" is simply stale.
    const endsAt = new Date(Date.now() + 5 * 60_000).toISOString();
    const alert = (alertname: string, labels: Record<string, string>) => ({ labels: { alertname, ...labels }, annotations: { summary: alertname }, endsAt });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert('TargetDown', { severity: 'critical', job: 'w-down', instance: 'w-down:8000' }),
        alert('MoexQuotesStale', { severity: 'warning', job: 'w-down', instance: 'w-down:8000', ticker: 'GAZP', board: 'TQBR' }),
        alert('MoexPollsFailing', { severity: 'critical', job: 'p-fail', instance: 'p-fail:8000' }),
        alert('MoexQuotesStale', { severity: 'warning', job: 'p-fail', instance: 'p-fail:8000', ticker: 'SBER', board: 'TQBR' }),
        alert('MoexQuotesStale', { severity: 'warning', job: 'other', instance: 'other:8000', ticker: 'GAZP', board: 'TQBR' }),
      ]),
    });
    assert.equal(posted.status, 200);

    await eventually(
      async () => webhook.notifications.some((n) => n.alerts.some((a) => a.labels.job === 'w-down' && a.labels.alertname === 'TargetDown')),
      15_000,
      'TargetDown w-down',
    );
    await eventually(
      async () => webhook.notifications.some((n) => n.alerts.some((a) => a.labels.job === 'p-fail' && a.labels.alertname === 'MoexPollsFailing')),
      15_000,
      'MoexPollsFailing p-fail',
    );
    await eventually(async () => webhook.notifications.some((n) => n.alerts.some((a) => a.labels.job === 'other')), 15_000, 'the uninhibited stale quote');
    await sleep(2 * GROUP_INTERVAL * 1000);
    const staleJobs = webhook.notifications
      .flatMap((n) => n.alerts)
      .filter((a) => a.labels.alertname === 'MoexQuotesStale')
      .map((a) => a.labels.job);
    assert.deepEqual([...new Set(staleJobs)], ['other']);
    const inhibited = (await (
      await fetch(`${alertmanager.url}/api/v2/alerts?inhibited=true&active=false&silenced=false&filter=alertname%3D%22MoexQuotesStale%22`)
    ).json()) as Array<{ labels: Record<string, string> }>;
    assert.deepEqual(inhibited.map((a) => a.labels.job).sort(), ['p-fail', 'w-down']);
  });

  test('worker stopped: the webhook gets TargetDown and not the quote alerts it causes', async () => {
    const stoppedAt = Date.now();
    await worker.stop();
    const down = await eventually(
      async () =>
        webhook.notifications.find(
          (n) => n.receivedAt > stoppedAt && ofGroup('TargetDown', 'firing')(n) && n.alerts.some((a) => a.labels.job === 'worker-prometheus'),
        ),
      30_000,
      'TargetDown at the webhook',
    );
    assert.deepEqual(
      down.alerts.filter((a) => a.labels.job === 'worker-prometheus').map((a) => [a.labels.alertname, a.labels.severity]),
      [['TargetDown', 'critical']],
    );
    await sleep(RULE_FOR * 1000 + 2 * GROUP_INTERVAL * 1000);
    const sinceStop = webhook.notifications
      .filter((n) => n.receivedAt > stoppedAt)
      .flatMap((n) => n.alerts)
      .filter((a) => a.labels.job === 'worker-prometheus' && a.status === 'firing');
    assert.deepEqual([...new Set(sinceStop.map((a) => a.labels.alertname))], ['TargetDown']);
  });
});

const DAY_MS = 86_400_000;
const moscowDate = (ms: number) => formatMoscowTime(new Date(ms)).slice(0, 10);

// The same real path with the trading calendar and every market. The workers judge sessions on the
// host's clock, so each simulator's calendar is set around the host's Moscow date:
//   weekend  every weekday closed, yesterday's session to 23:50: a Saturday, SYSTIME frozen at the close;
//   holiday  open every day, but today (and tomorrow) closed in dailytable, yesterday's session to 18:00;
//   open     open around the clock, the simulator's clock 40 minutes behind with a real-time feed: every
//            quote 40 minutes old, for a share (SBER), a future (SiZ6) and an index (IMOEX).
// SBER is set to trade (T) on all three, as a board's status can lag the calendar: only the calendar
// tells them apart. Futures and indices have no TRADINGSTATUS, so only the rules' treating a missing
// moex_trading as unknown lets the open market's future and index alert.
describe('alert path with the trading calendar and every market: stale quotes alert only while the market is open', { timeout: 180_000 }, () => {
  const now = Date.now();
  const [yesterday, today, tomorrow] = [now - DAY_MS, now, now + DAY_MS].map(moscowDate);
  const SCENES = {
    weekend: { ISS_SIM_SCHEDULE: '1-7=closed', ISS_SIM_DAILYTABLE: `${yesterday}=06:50-23:50` },
    holiday: { ISS_SIM_SCHEDULE: '1-7=00:00-23:59:59', ISS_SIM_DAILYTABLE: `${yesterday}=06:50-18:00;${today}=closed;${tomorrow}=closed` },
    open: { ISS_SIM_DELAY_SECONDS: '0', SIM_CLOCK_OFFSET_SECONDS: String(-40 * 60) },
  } as const;
  const OPEN_SOURCES = 'stock/shares/TQBR=SBER;futures/forts/RFUD=SiZ6;stock/index/SNDX=IMOEX';
  type Scene = keyof typeof SCENES;
  const sims = new Map<Scene, IssSim>();
  const workers = new Map<Scene, RunningService>();
  let alertmanager: Daemon;
  let prometheus: Daemon;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let rulesDir: string;
  const instanceOf = (scene: Scene) => `127.0.0.1:${workers.get(scene)!.port}`;
  const query = async (q: string) => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    return body.data.result;
  };

  before(async () => {
    webhook = await startWebhook();
    rulesDir = shortenedRules();
    await Promise.all(
      (Object.keys(SCENES) as Scene[]).map(async (scene) => {
        const sim = await startIssSim(SCENES[scene]);
        sims.set(scene, sim);
        await sim.control.walk(false);
        await sim.control.setSecurity('SBER', { session: 'trading' });
        const polled: Record<string, string> = scene === 'open' ? { MOEX_SOURCES: OPEN_SOURCES } : { MOEX_TICKERS: 'SBER' };
        workers.set(scene, await startService('worker', { MOEX_ISS_URL: sim.issUrl, ...polled, POLL_SCHEDULE: '* * * * * *' }, { waitFor: 'readyz' }));
      }),
    );
    alertmanager = await startDaemon('alertmanager', {
      env: { ALERT_WEBHOOK_URL: webhook.url, ALERT_GROUP_WAIT: `${GROUP_WAIT}s`, ALERT_GROUP_INTERVAL: `${GROUP_INTERVAL}s` },
    });
    prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [...workers.values()].map((w) => `127.0.0.1:${w.port}`) }],
      scrapeInterval: '1s',
      rulesDir,
      alertmanager,
    });
  });

  after(async () => {
    await prometheus?.close();
    await alertmanager?.close();
    for (const worker of workers.values()) await worker.stop();
    for (const sim of sims.values()) await sim.stop();
    await webhook?.close();
    if (rulesDir) fs.rmSync(rulesDir, { recursive: true, force: true });
  });

  test('weekend and holiday: moex_market_open 0 and no freshness alert; quotes 40 minutes old on an open market: a share, a future and an index fire', async (t) => {
    const staleOfOpen = (n: Notification) => ofGroup('MoexQuotesStale', 'firing')(n) && n.alerts.some((a) => a.labels.instance === instanceOf('open'));
    const firing = await eventually(async () => webhook.notifications.find(staleOfOpen), 60_000, 'MoexQuotesStale of the open market at the webhook');
    t.diagnostic(`control fired: ${JSON.stringify(firing.alerts.map((a) => `${a.labels.instance} ${a.labels.ticker}`))}`);
    // Rule evaluations enough for `for:` to pass twice over, and group intervals for any notification.
    await sleep((2 * RULE_FOR + 2 * GROUP_INTERVAL) * 1000);

    const open = new Map((await query('moex_market_open{engine="stock"}')).map((r) => [r.metric.instance, r.value[1]]));
    assert.equal(open.get(instanceOf('weekend')), '0');
    assert.equal(open.get(instanceOf('holiday')), '0');
    assert.equal(open.get(instanceOf('open')), '1');
    const openFutures = await query(`moex_market_open{engine="futures",instance="${instanceOf('open')}"}`);
    assert.equal(openFutures[0]?.value[1], '1');
    const trading = new Map((await query('moex_trading{ticker="SBER"}')).map((r) => [r.metric.instance, r.value[1]]));
    assert.deepEqual([...trading.values()], ['1', '1', '1'], 'every board says T: the calendar alone makes the difference');

    const freshness = /^(MoexQuotesStale|MoexFeedDelayHigh)$/;
    const alerting = (await query('ALERTS{alertname=~"MoexQuotesStale|MoexFeedDelayHigh"}')).map(
      (r) => `${r.metric.alertname} ${r.metric.instance} ${r.metric.ticker} ${r.metric.alertstate}`,
    );
    const ages = (await query(`time() - moex_quote_timestamp_seconds{instance="${instanceOf('open')}"}`)).map((r) => Number(r.value[1]));
    assert.equal(ages.length, 3);
    for (const age of ages) assert.ok(age > 39 * 60 && age < 42 * 60, `a quote of the open market is ${age} s old`);
    assert.deepEqual(
      (await query(`moex_trading{instance="${instanceOf('open')}"}`)).map((r) => r.metric.ticker),
      ['SBER'],
      'the future and the index have no trading state',
    );
    // Firing, or pending while `for:` runs: both mean the rule matched.
    assert.deepEqual(
      alerting.map((a) => a.replace(/ (firing|pending)$/, '')).sort(),
      ['IMOEX', 'SBER', 'SiZ6'].map((ticker) => `MoexQuotesStale ${instanceOf('open')} ${ticker}`),
      'only the open market alerts, for a share, a future and an index',
    );
    const notified = new Set(
      webhook.notifications
        .flatMap((n) => n.alerts)
        .filter((a) => freshness.test(a.labels.alertname ?? ''))
        .map((a) => a.labels.instance),
    );
    assert.deepEqual([...notified], [instanceOf('open')]);
  });
});
