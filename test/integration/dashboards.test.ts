// Every Grafana panel has data: the whole native stack runs, fed by the ISS simulator with
// every market `./runner.sh demo` polls (its MOEX_SOURCES), and each target of each panel of
// each dashboard is sent to its store exactly as Grafana would send it (variables expanded
// in the datasource's multi-value format, $__interval / $__rate_interval / $timeFilter ...
// resolved), for each variable's selections All, one value (the default, if any) and two
// values, chained variables listed under the earlier ones' selection; a panel repeated over a
// variable (the candlesticks) once per value, as Grafana draws its copies. A query that never
// returns a non-null value before the deadline fails its panel's test with the query text.
// One exception, checked rather than assumed: a Prometheus target may be empty for a
// selection whose tickers all have quotes but no series of the gauge it reads (a futures
// contract has no trading status), provided it has data in another selection.
// Grafana itself cannot run here (no container engine, not in Debian); this is the part of
// it that matters.
//
// The stack runs as `local up` does: the scraper with its spool (SCRAPER_SPOOL_DIR) and candles on,
// so the spool and candle panels are proven with their own series (0 bytes spooled is a value).
//
// The "Firing alerts" panel needs a firing alert: the test adds a scrape target nobody
// listens on to the stack's Prometheus, so TargetDown (`up == 0` for 2m) fires, for real,
// through prometheus/rules/alerts.yml.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import {
  type GrafanaDashboard,
  type GrafanaPanel,
  type GrafanaTarget,
  loadDashboards,
  loadDatasources,
  queryPanels,
  targetDatasourceUid,
  variables,
} from '../../grafana/testing/dashboards';
import { type DatasourceKind, parseDurationS, type VariableSelection } from '../../grafana/testing/interpolate';
import { type QueryOutcome, repeatCopies, runTarget, selectionsFor, type StoreEndpoints, variableValues } from '../../grafana/testing/store-queries';
import { TICKER_PATTERN } from '../../lib/moex/quote';
import { getFreePort } from '../support/daemons';
import { nativeDemoEnv } from '../support/demo';
import { type NativeStack, startNativeStack } from '../support/native-stack';

const dashboards = loadDashboards();
const datasources = loadDatasources();
const kindOf = new Map(datasources.map((d) => [d.uid, d.type as DatasourceKind]));
// What Grafana derives $__rate_interval from: the datasource's declared scrape interval.
const scrapeIntervalS = parseDurationS(String(datasources.find((d) => d.uid === 'prometheus')?.jsonData?.timeInterval ?? '15s'));

// Long enough for a cold stack: first polls, StatsD's 10 s flush, four Prometheus scrapes
// for rate() over $__rate_interval, TargetDown's 2 minutes. Every query is retried until
// then, not slept for.
const DATA_DEADLINE_MS = 180_000;
const RETRY_EVERY_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What `./runner.sh demo` sets: the boards it polls (every market of the simulator, ops/demo.sh),
 * the ALGOPACK datasets and the token both sides share.
 */
function demoEnv(): Record<string, string> {
  const env = nativeDemoEnv();
  assert.ok(
    env.MOEX_SOURCES?.includes('=') && env.MOEX_ALGOPACK?.includes('/'),
    `runner.sh demo no longer sets a default MOEX_SOURCES and MOEX_ALGOPACK: ${JSON.stringify(env)}`,
  );
  return env;
}

/** A scrape job whose target does not answer: `up` 0, so TargetDown fires after its 2m `for`. */
async function addUnreachableTarget(stack: NativeStack): Promise<void> {
  const job = 'dashboards-test-unreachable';
  const config = path.join(stack.stateDir, 'prometheus', 'prometheus.yml');
  const closedPort = await getFreePort();
  const doc = parse(readFileSync(config, 'utf8')) as { scrape_configs: unknown[] };
  doc.scrape_configs.push({ job_name: job, static_configs: [{ targets: [`127.0.0.1:${closedPort}`] }] });
  writeFileSync(config, stringify(doc));
  // SIGHUP reloads the config (/-/reload is enabled only behind the web config's authentication).
  // run/prometheus.pid is "PID STARTTIME" (ops/supervisor.ts).
  process.kill(
    Number(
      readFileSync(path.join(stack.stateDir, 'run', 'prometheus.pid'), 'utf8')
        .trim()
        .split(/\s+/)[0],
    ),
    'SIGHUP',
  );
  for (let tries = 0; ; tries++) {
    const body = (await (await fetch(`${stack.urls.prometheus}/api/v1/targets`, { signal: AbortSignal.timeout(5_000) })).json()) as {
      data: { activeTargets: Array<{ labels: { job?: string } }> };
    };
    if (body.data.activeTargets.some((t) => t.labels.job === job)) return;
    assert.ok(tries < 30, `Prometheus did not load the ${job} scrape job after SIGHUP`);
    await sleep(1_000);
  }
}

/** What a variable's values look like, where they are not tickers. */
const VARIABLE_VALUE_PATTERNS: Record<string, RegExp> = { market: /^[a-z]+$/, expiry: /^\d{4}-\d{2}-\d{2}$/ };

/** "now-1h" → milliseconds before now. */
function relativeMs(from: string): number {
  const m = /^now-(\d+)([smhd])$/.exec(from);
  if (!m) throw new Error(`dashboard time.from ${from} is not now-<n><unit>`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

interface Selection {
  label: string;
  variables: Map<string, VariableSelection>;
}

describe('Grafana dashboards against the live native stack', { timeout: 15 * 60_000 }, () => {
  let stack: NativeStack | undefined;
  let stores: StoreEndpoints;
  let deadline = 0;
  let traffic: NodeJS.Timeout | undefined;

  before(async () => {
    stack = await startNativeStack({ demo: true, env: { ...demoEnv(), POLL_SCHEDULE: '*/2 * * * * *', LOG_LEVEL: 'warn' } });
    await addUnreachableTarget(stack);
    stores = {
      prometheus: stack.urls.prometheus,
      graphite: stack.urls.graphiteWeb,
      influxdb: stack.urls.influxdb,
      influxDatabase: 'pyexample',
      backend: stack.urls.backend,
    };
    deadline = Date.now() + DATA_DEADLINE_MS;
    // In Grafana the backend-api panels call the backend on every refresh; users open
    // the page and the latency demo. Do the same so the backend HTTP panels have traffic.
    let n = 0;
    traffic = setInterval(() => {
      n++;
      for (const path of ['/api/quotes', '/api/status', `/api/demo/${n}`]) {
        fetch(`${stores.backend}${path}`, { signal: AbortSignal.timeout(5_000) })
          .then((r) => r.arrayBuffer())
          .catch(() => undefined); // the panels report a backend that does not answer
      }
    }, 1_000);
  });

  after(async () => {
    if (traffic) clearInterval(traffic);
    await stack?.stop();
  });

  for (const [file, dashboard] of dashboards) {
    describe(`${file} (${dashboard.title})`, () => {
      const timeFrom = dashboard.time?.from ?? 'now-1h';
      let selections: Promise<Selection[]> | undefined;
      // Resolved once per dashboard, when its first test runs; later tests reuse it.
      const resolveSelections = () => (selections ??= selectionsOf(dashboard, timeFrom));

      if (variables(dashboard).length > 0) {
        it("lists its variables' values from its own store", async () => {
          const list = await resolveSelections();
          for (const v of variables(dashboard)) {
            const values = list.flatMap((s) => s.variables.get(v.name)?.values ?? []);
            assert.ok(values.length > 0, `$${v.name} has no values`);
            // Tickers are SECIDs (USD000UTSTOM, EUR_RUB__TOM, SiZ6), underlyings ISS's asset codes (Si, RTS);
            // markets ISS's names (shares, selt, forts); option expiries ISO dates.
            for (const value of values) assert.match(value, VARIABLE_VALUE_PATTERNS[v.name] ?? TICKER_PATTERN, `$${v.name}`);
          }
        });
      }

      for (const panel of queryPanels(dashboard)) {
        it(`panel "${panel.title}" returns data for every target`, async (t) => {
          const failures: string[] = [];
          const absent: string[] = [];
          const proven = new Set<string>();
          let queries = 0;
          let values = 0;
          // A repeated panel (one candlestick per ticker) is proven for each copy Grafana draws.
          const copies = (await resolveSelections()).flatMap((s) =>
            repeatCopies(panel, s.variables).map((c) => ({
              label: c.value === undefined ? s.label : `${s.label}, copy ${panel.repeat}=${c.value}`,
              variables: c.variables,
            })),
          );
          for (const selection of copies) {
            for (const target of panel.targets ?? []) {
              if (target.hide) continue;
              queries++;
              const outcome = await untilData(panel, target.refId, selection, timeFrom);
              if (typeof outcome === 'string') failures.push(outcome);
              else if ('absentFields' in outcome) absent.push(`${target.refId} [${selection.label}]: no ${outcome.absentFields.join(', ')}`);
              else {
                values += outcome.nonNull;
                proven.add(target.refId);
              }
            }
          }
          // A target may be empty only where its market lacks the field, and must have data elsewhere.
          for (const target of panel.targets ?? []) {
            if (!target.hide && !proven.has(target.refId)) failures.push(`${target.refId}: no data in any selection`);
          }
          t.diagnostic(`${queries} queries (targets x selections), ${values} non-null values`);
          if (absent.length > 0) t.diagnostic(`fields the selected tickers' markets do not have: ${absent.join('; ')}`);
          assert.deepEqual(failures, [], `panel "${panel.title}" of ${file} has targets without data`);
        });
      }
    });
  }

  /**
   * Each variable's values from its store (retried until non-empty), then the user's selections.
   * A later variable is listed under each selection of the earlier ones (its query may use them).
   */
  async function selectionsOf(dashboard: GrafanaDashboard, timeFrom: string): Promise<Selection[]> {
    let result: Selection[] = [{ label: 'no variables', variables: new Map() }];
    for (const variable of variables(dashboard)) {
      const uid = (variable.datasource as { uid: string }).uid;
      const kind = kindOf.get(uid);
      assert.ok(kind, `$${variable.name}: unknown datasource ${uid}`);
      const next: Selection[] = [];
      for (const base of result) {
        let values: string[] = [];
        let lastError: unknown;
        for (;;) {
          const now = Date.now();
          try {
            values = await variableValues(variable, kind, stores, now - relativeMs(timeFrom), now, base.variables);
          } catch (err) {
            lastError = err;
          }
          if (values.length > 0 || Date.now() > deadline) break;
          await sleep(RETRY_EVERY_MS);
        }
        assert.ok(
          values.length > 0,
          `$${variable.name} of ${dashboard.uid} [${base.label}] found no values in ${uid}${lastError ? `: ${String(lastError)}` : ''}`,
        );
        for (const s of selectionsFor(variable, values)) {
          next.push({
            label: base.label === 'no variables' ? `${variable.name}=${s.label}` : `${base.label}, ${variable.name}=${s.label}`,
            variables: new Map([...base.variables, [variable.name, s.selection]]),
          });
        }
      }
      result = next;
    }
    return result;
  }

  /** Runs one target until it returns a non-null value; the failure text, the outcome, or the fields the tickers lack. */
  async function untilData(
    panel: GrafanaPanel,
    refId: string,
    selection: Selection,
    timeFrom: string,
  ): Promise<QueryOutcome | { absentFields: string[] } | string> {
    const target = (panel.targets ?? []).find((t) => t.refId === refId);
    const uid = target ? targetDatasourceUid(panel, target) : undefined;
    const kind = uid ? kindOf.get(uid) : undefined;
    if (!target || !kind) return `${refId}: datasource ${uid} is not provisioned`;
    let last: QueryOutcome | undefined;
    let lastError: unknown;
    for (;;) {
      const now = Date.now();
      try {
        last = await runTarget(
          { kind, panel, target, fromMs: now - relativeMs(timeFrom), toMs: now, rangeFrom: timeFrom, scrapeIntervalS, variables: selection.variables },
          stores,
        );
        lastError = undefined;
        if (last.nonNull > 0) return last;
        if (kind === 'prometheus') {
          const absentFields = await fieldsTheTickersLack(panel, target, selection);
          if (absentFields.length > 0) return { absentFields };
        }
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) break;
      await sleep(RETRY_EVERY_MS);
    }
    if (lastError) return `${refId} [${selection.label}]: ${String(lastError)}`;
    return `${refId} [${selection.label}]: ${last?.series ?? 0} series, no non-null value: ${last?.request}`;
  }

  /**
   * The quote gauges a Prometheus target reads that have no series at all for the selected
   * tickers while every one of those tickers has a quote: fields their market does not have
   * (futures have no trading status or WAPRICE; docs/iss.md: no series for such a field).
   * Empty when that is not the reason (a cold stack, a wrong label, a misspelt name).
   */
  async function fieldsTheTickersLack(panel: GrafanaPanel, target: GrafanaTarget, selection: Selection): Promise<string[]> {
    const tickers = selection.variables.get('ticker');
    if (!tickers) return [];
    const now = Date.now();
    const instant = (expr: string) =>
      runTarget(
        {
          kind: 'prometheus',
          panel,
          target: { refId: 'probe', expr, instant: true },
          fromMs: now,
          toMs: now,
          rangeFrom: 'now-1m',
          scrapeIntervalS,
          variables: selection.variables,
        },
        stores,
      );
    const quoted = await instant('count by (ticker) (moex_quote_timestamp_seconds{ticker=~"$ticker"})');
    if (quoted.series < tickers.values.length) return [];
    const lacking: string[] = [];
    for (const metric of new Set(String(target.expr).match(/\bmoex_[a-z_]+/g) ?? [])) {
      const series = metric.replace(/_(bucket|count|sum)$/, '_count');
      if ((await instant(`${series}{ticker=~"$ticker"}`)).series === 0) lacking.push(metric);
    }
    return lacking;
  }
});
