// Grafana's dashboards in a real browser. Grafana runs in the compose stack only; where it is not
// reachable (the native stack has no Grafana; the container suite leaves it out where no image can
// be had) the check is skipped, with the probe's reason: it cannot run, so it does not pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { By, type WebDriver } from 'selenium-webdriver';
import { e2eConfig, saveScreenshot, startBrowser, waitFor } from './browser';

interface Probe {
  reachable: boolean;
  reason: string;
  version?: string;
}
interface DashboardHit {
  uid: string;
  title: string;
  url: string;
}

const PANEL_SELECTORS = ['[data-viz-panel-key]', '[data-testid="data-testid panel content"]', '.panel-container', '.react-grid-item'];
const PANEL_ERROR_SELECTORS = ['[data-testid="data-testid Panel status error"]', '.panel-info-corner--error'];

/** Is Grafana answering at GRAFANA_URL? Something else on that port counts as unreachable. */
async function probeGrafana(baseUrl: string): Promise<Probe> {
  try {
    const res = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let body: { database?: string; version?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      /* not Grafana */
    }
    if (body.database === undefined) {
      return { reachable: false, reason: `${baseUrl}/api/health answered ${res.status} but not as Grafana does` };
    }
    return { reachable: true, reason: `Grafana ${body.version ?? '?'} database=${body.database}`, version: body.version };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { reachable: false, reason: `${baseUrl}/api/health: ${cause ?? (err instanceof Error ? err.message : String(err))}` };
  }
}

/** Logs in through Grafana's /login API; returns the session cookies as name/value pairs. */
async function login(baseUrl: string, user: string, password: string): Promise<Array<{ name: string; value: string }>> {
  const res = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, `Grafana login as ${user} answered ${res.status}: set GRAFANA_USER/GRAFANA_PASSWORD`);
  const cookies = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .filter((c) => c.includes('='));
  assert.ok(cookies.length > 0, 'Grafana login set no session cookie');
  return cookies.map((c) => ({ name: c.slice(0, c.indexOf('=')), value: c.slice(c.indexOf('=') + 1) }));
}

/** GET a Grafana API path with the session; the status and the parsed body. */
async function getApi(baseUrl: string, cookies: Array<{ name: string; value: string }>, apiPath: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${apiPath}`, {
    headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep the text for the message */
  }
  return { status: res.status, body };
}

async function searchDashboards(baseUrl: string, cookies: Array<{ name: string; value: string }>): Promise<DashboardHit[]> {
  const { status, body } = await getApi(baseUrl, cookies, '/api/search?type=dash-db&limit=500');
  assert.equal(status, 200, `Grafana /api/search answered ${status}`);
  return body as DashboardHit[];
}

/** The uids of the dashboards this repository provisions (grafana/dashboards/*.json), when present. */
function provisionedUids(): string[] {
  const dir = resolve(__dirname, '../../grafana/dashboards');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { uid?: string }).uid ?? '')
    .filter(Boolean);
}

async function countAll(driver: WebDriver, selectors: string[]): Promise<number> {
  let n = 0;
  for (const s of selectors) n += (await driver.findElements(By.css(s))).length;
  return n;
}

test('Grafana dashboards load', async (t) => {
  const probe = await probeGrafana(e2eConfig.grafanaUrl);
  if (!probe.reachable) {
    t.skip(`Grafana is not reachable at ${e2eConfig.grafanaUrl} (${probe.reason})`);
    return;
  }
  t.diagnostic(probe.reason);
  assert.ok(e2eConfig.grafanaPassword, 'Grafana is reachable: set GRAFANA_PASSWORD (and GRAFANA_USER) so the check can log in');

  const cookies = await login(e2eConfig.grafanaUrl, e2eConfig.grafanaUser, e2eConfig.grafanaPassword);
  const dashboards = await searchDashboards(e2eConfig.grafanaUrl, cookies);
  assert.ok(dashboards.length > 0, 'Grafana lists no dashboards: is grafana/provisioning mounted?');
  const listed = new Set(dashboards.map((d) => d.uid));
  for (const uid of provisionedUids()) assert.ok(listed.has(uid), `provisioned dashboard ${uid} is not in Grafana`);

  // The plugins came from GF_PLUGINS_PREINSTALL_SYNC before provisioning, and every provisioned
  // datasource (Infinity's backend-api among them) passes Grafana's own health check.
  for (const id of ['grafana-clock-panel', 'yesoreyeram-infinity-datasource']) {
    const { status, body } = await getApi(e2eConfig.grafanaUrl, cookies, `/api/plugins/${id}/settings`);
    assert.equal(status, 200, `plugin ${id} is not installed: ${JSON.stringify(body)}`);
    t.diagnostic(`${id} ${(body as { info?: { version?: string } }).info?.version ?? '?'}`);
  }
  for (const uid of ['prometheus', 'graphite', 'influxdb', 'backend-api']) {
    const { status, body } = await getApi(e2eConfig.grafanaUrl, cookies, `/api/datasources/uid/${uid}/health`);
    assert.equal(status, 200, `datasource ${uid} health: ${status} ${JSON.stringify(body)}`);
  }

  const { driver, quit } = await startBrowser();
  t.after(quit);
  // Cookies can only be set for the page's own origin: open Grafana first.
  await driver.get(`${e2eConfig.grafanaUrl}/login`);
  for (const c of cookies) await driver.manage().addCookie({ name: c.name, value: c.value, path: '/' });

  for (const dashboard of dashboards) {
    await t.test(`dashboard "${dashboard.title}" (${dashboard.uid})`, async () => {
      try {
        await driver.get(`${e2eConfig.grafanaUrl}${dashboard.url}?orgId=1&from=now-1h&to=now`);
        const describe = async () => `title="${await driver.getTitle()}" url=${await driver.getCurrentUrl()}`;
        await waitFor(
          `the title of "${dashboard.title}"`,
          async () => {
            const url = await driver.getCurrentUrl();
            assert.ok(!new URL(url).pathname.startsWith('/login'), 'Grafana sent the browser to /login: the session was not accepted');
            return (await driver.getTitle()).includes(dashboard.title) ? true : undefined;
          },
          describe,
          60_000,
        );
        const panels = await waitFor(
          'panels',
          async () => {
            const n = await countAll(driver, PANEL_SELECTORS);
            return n > 0 ? n : undefined;
          },
          describe,
          60_000,
        );
        // Let queries finish before the screenshot and the error count.
        await driver.sleep(3000);
        const errors = await countAll(driver, PANEL_ERROR_SELECTORS);
        assert.equal(errors, 0, `${errors} panel(s) of "${dashboard.title}" show an error (see the screenshot)`);
        t.diagnostic(`${dashboard.uid}: ${panels} panel elements, no panel errors`);
      } finally {
        await saveScreenshot(driver, `grafana-${dashboard.uid}`).catch(() => undefined);
      }
    });
  }
});
