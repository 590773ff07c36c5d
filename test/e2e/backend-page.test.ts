// The backend's web page in a real browser: quotes for the configured tickers, a healthy pipeline.
// Relies on the page's hooks: body[data-state], table#quotes tr[data-ticker] td.last|change|...,
// ul#status li[data-component][data-ok].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { By, type WebDriver } from 'selenium-webdriver';
import { request } from '../support/https';
import { backendPageUrl, withoutCredentials, e2eConfig, parsePriceText, saveScreenshot, startBrowser, waitFor } from './browser';

// Every component of /api/status (docs/api.md); E2E_REQUIRED_COMPONENTS narrows it,
// e.g. to leave out `moex` where the real ISS is not reachable.
const REQUIRED_COMPONENTS = (process.env.E2E_REQUIRED_COMPONENTS ?? 'prometheus,worker,scraper,moex,graphite,influxdb,alertmanager')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const QUOTE_CELLS = ['last', 'change', 'bid', 'offer', 'volume', 'time', 'age'];
// Set when the stack is fed by the ISS simulator with its walk stopped (the test command does):
// the page must then show exactly the simulator's prices.
const SIM_CONTROL_URL = process.env.E2E_SIM_CONTROL_URL ?? '';

async function simulatorPrices(): Promise<Map<string, number>> {
  const res = await fetch(`${SIM_CONTROL_URL}/sim/securities?secids=${e2eConfig.tickers.join(',')}`);
  const body = (await res.json()) as { securities: Array<{ secid: string; last: number }> };
  return new Map(body.securities.map((s) => [s.secid, s.last]));
}

async function describePage(driver: WebDriver): Promise<string> {
  const state = await driver.findElement(By.css('body')).getAttribute('data-state');
  const rows = await driver.findElements(By.css('table#quotes tr[data-ticker]'));
  const tickers = await Promise.all(rows.map((r) => r.getAttribute('data-ticker')));
  const status = await driver.findElements(By.css('ul#status li[data-component]'));
  const components = await Promise.all(status.map(async (li) => `${await li.getAttribute('data-component')}=${await li.getAttribute('data-ok')}`));
  return `data-state=${state} rows=[${tickers.join(',')}] status=[${components.join(',')}] url=${withoutCredentials(await driver.getCurrentUrl())}`;
}

test('backend page shows quotes for the configured tickers and a healthy status', async (t) => {
  const { driver, quit } = await startBrowser();
  t.after(quit);
  const describe = () => describePage(driver);

  try {
    await driver.get(backendPageUrl());

    await waitFor(
      'body[data-state="ok"]',
      async () => {
        const state = await driver.findElement(By.css('body')).getAttribute('data-state');
        return state === 'ok' ? state : undefined;
      },
      describe,
    );

    const wanted = e2eConfig.tickers.some((tk) => tk.toUpperCase() === 'ALL') ? [] : e2eConfig.tickers;
    if (wanted.length === 0) {
      // MOEX_TICKERS=ALL: every security on the board; at least one row with a price.
      const rows = await driver.findElements(By.css('table#quotes tr[data-ticker]'));
      assert.ok(rows.length > 0, 'MOEX_TICKERS=ALL but the quotes table has no rows');
    }
    for (const ticker of wanted) {
      const price = await waitFor(
        `a price for ${ticker}`,
        async () => {
          const rows = await driver.findElements(By.css(`table#quotes tr[data-ticker="${ticker}"]`));
          if (rows.length !== 1) return undefined;
          const last = parsePriceText(await rows[0]!.findElement(By.css('td.last')).getText());
          return last !== undefined && last > 0 ? last : undefined;
        },
        describe,
      );
      const row = await driver.findElement(By.css(`table#quotes tr[data-ticker="${ticker}"]`));
      for (const cell of QUOTE_CELLS) {
        const cells = await row.findElements(By.css(`td.${cell}`));
        assert.equal(cells.length, 1, `row ${ticker} has exactly one td.${cell}`);
      }
      if (SIM_CONTROL_URL) assert.equal(price, (await simulatorPrices()).get(ticker), `${ticker} shows the simulator's price`);
      t.diagnostic(`${ticker}: last ${price}`);
    }

    for (const component of REQUIRED_COMPONENTS) {
      await waitFor(
        `status ${component} ok`,
        async () => {
          const items = await driver.findElements(By.css(`ul#status li[data-component="${component}"]`));
          if (items.length !== 1) return undefined;
          return (await items[0]!.getAttribute('data-ok')) === 'true' ? true : undefined;
        },
        describe,
      );
    }
    t.diagnostic(`status: ${await describe()}`);
  } finally {
    const shot = await saveScreenshot(driver, 'backend').catch((err: unknown) => `not saved: ${String(err)}`);
    t.diagnostic(`screenshot: ${shot}`);
  }
});

interface ChainSide {
  ticker: string;
  impliedVolatility: number | null;
}
interface Chain {
  underlying: string;
  expiry: string;
  rows: Array<{ strike: string; atTheMoney: boolean; call: ChainSide | null; put: ChainSide | null }>;
}

async function backendJson<T>(path: string): Promise<T> {
  const res = await request(`${e2eConfig.backendUrl}${path}`, {
    ca: e2eConfig.backendCa,
    ...(e2eConfig.backendUser ? { user: e2eConfig.backendUser, password: e2eConfig.backendPassword } : {}),
  });
  assert.equal(res.status, 200, `${path}: ${res.body}`);
  return JSON.parse(res.body) as T;
}

/** The chain table as the page shows it, read in one script call (hundreds of rows). */
function pageChain(driver: WebDriver) {
  return driver.executeScript<{
    state: string;
    underlying: string;
    expiry: string;
    rows: Array<{ strike: string; atm: string; call: string; put: string; callIv: string; putIv: string }>;
  }>(`
    const cell = (tr, name) => tr.querySelector('td.' + name);
    return {
      state: document.querySelector('#options-panel').dataset.state,
      underlying: document.querySelector('#option-underlying').value,
      expiry: document.querySelector('#option-expiry').value,
      rows: [...document.querySelectorAll('#option-chain tbody tr[data-strike]')].map((tr) => ({
        strike: tr.dataset.strike,
        atm: tr.dataset.atm,
        call: cell(tr, 'call-last').title,
        put: cell(tr, 'put-last').title,
        callIv: cell(tr, 'call-iv').textContent,
        putIv: cell(tr, 'put-iv').textContent,
      })),
    };`);
}

/** The page's chain against the API's: strikes in order, tickers each side, the ATM row, IV where known. */
function chainDifference(page: Awaited<ReturnType<typeof pageChain>>, api: Chain): string | null {
  const ivText = (side: ChainSide | null) =>
    side
      ? side.impliedVolatility === null
        ? '—'
        : `${side.impliedVolatility.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} %`
      : '';
  const want = api.rows.map((r) => ({
    strike: r.strike,
    atm: String(r.atTheMoney),
    call: r.call?.ticker ?? '',
    put: r.put?.ticker ?? '',
    callIv: ivText(r.call),
    putIv: ivText(r.put),
  }));
  return isDeepStrictEqual(page.rows, want) ? null : `page ${JSON.stringify(page.rows.slice(0, 3))}… vs API ${JSON.stringify(want.slice(0, 3))}…`;
}

test('the options section shows the chosen chain, calls and puts by strike as the API answers it', async (t) => {
  const { driver, quit } = await startBrowser();
  t.after(quit);
  let seen = '';
  const describe = async () => seen || describePage(driver);
  try {
    await driver.get(backendPageUrl());
    if (!e2eConfig.optionsPolled) {
      // No options board configured: the section says so rather than showing an empty table.
      await waitFor('the options section saying none are polled', async () => ((await pageChain(driver)).state === 'none' ? true : undefined), describe);
      return;
    }
    const index = await waitFor(
      'option series in /api/options',
      async () => {
        const body = await backendJson<{ underlyings: Array<{ underlying: string; expiries: Array<{ expiry: string }> }> }>('/api/options');
        return body.underlyings.length > 0 ? body : undefined;
      },
      describe,
    );
    const first = index.underlyings[0]!;
    // The first underlying's nearest expiry at first; then the user picks the last pair the index lists.
    const last = index.underlyings.at(-1)!;
    const pairs = [
      [first.underlying, first.expiries[0]!.expiry],
      [last.underlying, last.expiries.at(-1)!.expiry],
    ] as const;
    for (const [i, [underlying, expiry]] of pairs.entries()) {
      if (i > 0) {
        await driver.findElement(By.css(`#option-underlying option[value="${underlying}"]`)).click();
        await driver.findElement(By.css(`#option-expiry option[value="${expiry}"]`)).click();
      }
      const rows = await waitFor(
        `the chain of ${underlying} ${expiry} as /api/options/${underlying}/${expiry} answers it`,
        async () => {
          const page = await pageChain(driver);
          const api = await backendJson<Chain>(`/api/options/${underlying}/${expiry}`);
          const difference =
            page.state !== 'ok'
              ? `state ${page.state}`
              : page.underlying !== underlying || page.expiry !== expiry
                ? `chosen ${page.underlying} ${page.expiry}`
                : chainDifference(page, api);
          seen = `${underlying} ${expiry}: ${difference ?? 'same'}`;
          return difference === null && api.rows.length > 0 ? api.rows : undefined;
        },
        describe,
      );
      assert.ok(rows.some((r) => r.call) && rows.some((r) => r.put), 'calls and puts both shown');
      t.diagnostic(`${underlying} ${expiry}: ${rows.length} strikes, at the money ${rows.find((r) => r.atTheMoney)?.strike ?? 'none'}`);
    }
  } finally {
    const shot = await saveScreenshot(driver, 'backend-options').catch((err: unknown) => `not saved: ${String(err)}`);
    t.diagnostic(`screenshot: ${shot}`);
  }
});

test('backend API under the page answers an unknown ticker with a JSON 404', async () => {
  const res = await request(`${e2eConfig.backendUrl}/api/quotes/NOSUCH0`, {
    ca: e2eConfig.backendCa,
    ...(e2eConfig.backendUser ? { user: e2eConfig.backendUser, password: e2eConfig.backendPassword } : {}),
  });
  assert.equal(res.status, 404);
  const body = JSON.parse(res.body) as { error?: unknown };
  assert.equal(typeof body.error, 'string');
});
