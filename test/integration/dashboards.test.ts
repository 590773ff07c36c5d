// Every Grafana panel has data: the whole native stack runs, fed by the ISS simulator,
// and each target of each panel of each dashboard is sent to its store exactly as
// Grafana would send it (variables expanded in the datasource's multi-value format,
// $__interval / $__rate_interval / $timeFilter ... resolved), for the ticker selections
// All, one ticker and two tickers. A query that never returns a non-null value before
// the deadline fails its panel's test with the query text. Grafana itself cannot run
// here (no container engine, not in Debian); this is the part of it that matters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type GrafanaDashboard,
  type GrafanaPanel,
  loadDashboards,
  loadDatasources,
  queryPanels,
  targetDatasourceUid,
  variables,
} from '../../grafana/testing/dashboards';
import { type DatasourceKind, parseDurationS, type VariableSelection } from '../../grafana/testing/interpolate';
import { type QueryOutcome, runTarget, selectionsFor, type StoreEndpoints, variableValues } from '../../grafana/testing/store-queries';
import { type NativeStack, startNativeStack } from '../support/native-stack';

const dashboards = loadDashboards();
const datasources = loadDatasources();
const kindOf = new Map(datasources.map((d) => [d.uid, d.type as DatasourceKind]));
// What Grafana derives $__rate_interval from: the datasource's declared scrape interval.
const scrapeIntervalS = parseDurationS(String(datasources.find((d) => d.uid === 'prometheus')?.jsonData?.timeInterval ?? '15s'));

// Long enough for a cold stack: first polls, StatsD's 10 s flush, four Prometheus scrapes
// for rate() over $__rate_interval. Every query is retried until then, not slept for.
const DATA_DEADLINE_MS = 180_000;
const RETRY_EVERY_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    stack = await startNativeStack({ demo: true, env: { POLL_SCHEDULE: '*/2 * * * * *', LOG_LEVEL: 'warn' } });
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
        it('lists ticker values from its own store', async () => {
          const list = await resolveSelections();
          for (const v of variables(dashboard)) {
            const values = list.flatMap((s) => s.variables.get(v.name)?.values ?? []);
            assert.ok(values.length > 0, `$${v.name} has no values`);
            for (const ticker of values) assert.match(ticker, /^[A-Z0-9]{1,12}$/);
          }
        });
      }

      for (const panel of queryPanels(dashboard)) {
        it(`panel "${panel.title}" returns data for every target`, async (t) => {
          const failures: string[] = [];
          let queries = 0;
          let values = 0;
          for (const selection of await resolveSelections()) {
            for (const target of panel.targets ?? []) {
              if (target.hide) continue;
              queries++;
              const outcome = await untilData(panel, target.refId, selection, timeFrom);
              if (typeof outcome === 'string') failures.push(outcome);
              else values += outcome.nonNull;
            }
          }
          t.diagnostic(`${queries} queries (targets x selections), ${values} non-null values`);
          assert.deepEqual(failures, [], `panel "${panel.title}" of ${file} has targets without data`);
        });
      }
    });
  }

  /** Each variable's values from its store (retried until non-empty), then the user's selections. */
  async function selectionsOf(dashboard: GrafanaDashboard, timeFrom: string): Promise<Selection[]> {
    let result: Selection[] = [{ label: 'no variables', variables: new Map() }];
    for (const variable of variables(dashboard)) {
      const uid = (variable.datasource as { uid: string }).uid;
      const kind = kindOf.get(uid);
      assert.ok(kind, `$${variable.name}: unknown datasource ${uid}`);
      let values: string[] = [];
      let lastError: unknown;
      for (;;) {
        const now = Date.now();
        try {
          values = await variableValues(variable, kind, stores, now - relativeMs(timeFrom), now);
        } catch (err) {
          lastError = err;
        }
        if (values.length > 0 || Date.now() > deadline) break;
        await sleep(RETRY_EVERY_MS);
      }
      assert.ok(values.length > 0, `$${variable.name} of ${dashboard.uid} found no values in ${uid}${lastError ? `: ${String(lastError)}` : ''}`);
      // Dashboards here have one variable each; several would multiply the selections.
      result = result.flatMap((base) =>
        selectionsFor(variable, values).map((s) => ({
          label: base.label === 'no variables' ? `${variable.name}=${s.label}` : `${base.label}, ${variable.name}=${s.label}`,
          variables: new Map([...base.variables, [variable.name, s.selection]]),
        })),
      );
    }
    return result;
  }

  /** Runs one target until it returns a non-null value; the failure text, or the outcome. */
  async function untilData(panel: GrafanaPanel, refId: string, selection: Selection, timeFrom: string): Promise<QueryOutcome | string> {
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
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) break;
      await sleep(RETRY_EVERY_MS);
    }
    if (lastError) return `${refId} [${selection.label}]: ${String(lastError)}`;
    return `${refId} [${selection.label}]: ${last?.series ?? 0} series, no non-null value: ${last?.request}`;
  }
});
