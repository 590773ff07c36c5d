// Shared by the e2e tests: where the stack is, a WebDriver session, screenshots, waiting.
import { Builder, type WebDriver } from 'selenium-webdriver';
import * as chrome from 'selenium-webdriver/chrome';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseConfig, secret } from '../../lib/config';

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

// The passwords as every service of ours reads a secret: the variable or the file its _FILE names
// (lib/config.ts; compose gives the files, docs/security.md).
const passwords = parseConfig({ BACKEND_PASSWORD: secret(), GRAFANA_PASSWORD: secret() }, process.env);

export const e2eConfig = {
  seleniumUrl: process.env.SELENIUM_URL ?? '',
  backendUrl: trimSlash(process.env.BACKEND_URL ?? 'http://127.0.0.1:8998'),
  grafanaUrl: trimSlash(process.env.GRAFANA_URL ?? 'http://127.0.0.1:3000'),
  // The compose backend asks for the stack's basic credentials (docs/security.md); a native demo
  // backend asks for none.
  backendUser: process.env.BACKEND_USER ?? '',
  backendPassword: passwords.BACKEND_PASSWORD,
  // The certificate the backend's https is checked against (compose: secrets/tls.crt).
  backendCa: process.env.BACKEND_CA_FILE ? readFileSync(process.env.BACKEND_CA_FILE) : undefined,
  grafanaUser: process.env.GRAFANA_USER ?? 'admin',
  grafanaPassword: passwords.GRAFANA_PASSWORD || (process.env.GF_SECURITY_ADMIN_PASSWORD ?? ''),
  resultsDir: process.env.E2E_RESULTS_DIR ?? resolve(__dirname, '../../test-results/e2e'),
  // Set by ops/e2e.sh when it drives a local chromedriver; a Grid knows its own browser.
  chromeBinary: process.env.E2E_CHROME_BINARY ?? '',
  // A fresh stack needs a poll cycle, a scrape and a page refresh before quotes show.
  timeoutMs: Number(process.env.E2E_TIMEOUT_MS ?? 120_000),
  tickers: (process.env.MOEX_TICKERS ?? 'SBERP,SBER,GAZP')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  // The stack polls an options board (MOEX_SOURCES futures/options/...): the page's options section shows a chain.
  optionsPolled: /(^|;)\s*futures\/options\//.test(process.env.MOEX_SOURCES ?? ''),
};

/** A headless Chromium session with a fresh profile, at SELENIUM_URL. Call `quit` when done. */
export async function startBrowser(): Promise<{ driver: WebDriver; quit: () => Promise<void> }> {
  if (!e2eConfig.seleniumUrl) {
    throw new Error('SELENIUM_URL is not set: run the browser checks through ./runner.sh e2e');
  }
  // A local browser gets a profile dir we can delete; a remote one gets a new path in its own /tmp.
  const localProfile = e2eConfig.chromeBinary ? mkdtempSync(join(tmpdir(), 'moex-e2e-chrome-')) : '';
  const profile = localProfile || `/tmp/moex-e2e-chrome-${randomUUID()}`;
  const options = new chrome.Options();
  options.addArguments(
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    '--window-size=1400,1000',
    `--user-data-dir=${profile}`,
  );
  if (e2eConfig.chromeBinary) options.setChromeBinaryPath(e2eConfig.chromeBinary);
  // The compose stack serves https with its own self-signed certificate (secrets/tls.crt), which
  // the Selenium container's browser has no way to trust; what is checked here is the page.
  options.setAcceptInsecureCerts(true);

  const driver = await new Builder().usingServer(e2eConfig.seleniumUrl).forBrowser('chrome').setChromeOptions(options).build();
  return {
    driver,
    quit: async () => {
      try {
        await driver.quit();
      } finally {
        if (localProfile) rmSync(localProfile, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The backend page's address as the browser opens it: with BACKEND_USER set, the credentials ride
 * in the URL, which Chromium answers the basic-auth challenge with and keeps for the page's own
 * /api requests (same origin, same realm).
 */
export function backendPageUrl(path = '/'): string {
  const url = new URL(`${e2eConfig.backendUrl}${path}`);
  if (e2eConfig.backendUser) {
    url.username = e2eConfig.backendUser;
    url.password = e2eConfig.backendPassword;
  }
  return url.toString();
}

/** URL with its user and password removed: what a failure message may print. */
export function withoutCredentials(address: string): string {
  try {
    const url = new URL(address);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return address;
  }
}

/** Saves test-results/e2e/NAME.png and returns its path. */
export async function saveScreenshot(driver: WebDriver, name: string): Promise<string> {
  mkdirSync(e2eConfig.resultsDir, { recursive: true });
  const file = join(e2eConfig.resultsDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  writeFileSync(file, await driver.takeScreenshot(), 'base64');
  return file;
}

/**
 * Polls `probe` until it returns a value other than undefined; on timeout throws with the
 * last description `describe` gave, so a failure says what the page looked like.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  describe: () => Promise<string>,
  timeoutMs = e2eConfig.timeoutMs,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      const seen = await describe().catch((err: unknown) => `(could not describe the page: ${String(err)})`);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; seen: ${seen}${lastError ? `; last error: ${lastError}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** "1 234,56" / "1,234.56" / "312.45 ₽" -> number; undefined when the text holds no number. */
export function parsePriceText(text: string): number | undefined {
  let s = text.replace(/[\s\u00a0\u202f]/g, '').replace(/[^0-9.,-]/g, '');
  if (s.includes(',') && s.includes('.')) s = s.replace(/,/g, '');
  else s = s.replace(',', '.');
  if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  return Number(s);
}
