// Grafana provisioning and dashboards, checked without Grafana or network (a loopback
// server at most): the files parse, reference only provisioned datasources by uid, use only
// contract metric names, match Grafana's dashboard schema and are exactly the generator's
// output. The helpers the integration test relies on (test/integration/dashboards.test.ts)
// are pinned here to Grafana's and the datasources' formats.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderDashboards } from '../../grafana/generator/main';
import {
  allPanels,
  DASHBOARD_DIR,
  DASHBOARD_PROVIDERS_FILE,
  type DatasourceRef,
  GRAFANA_BUILTIN_UID,
  type GrafanaDashboard,
  type GrafanaPanel,
  type GrafanaVariable,
  loadDashboards,
  loadDatasources,
  queryPanels,
  QUERYLESS_PANEL_TYPES,
  readYaml,
  targetDatasourceUid,
  variables,
} from '../../grafana/testing/dashboards';
import { ANY_VALUE_FIXES, dashboardValidator, panelValidator, readDashboardSchema, withAnyValueFixes } from '../../grafana/testing/schema';
import {
  calculateIntervalMs,
  interpolate,
  parseDurationS,
  type QueryContext,
  rateIntervalS,
  referencedNames,
  type VariableSelection,
} from '../../grafana/testing/interpolate';
import { infinityRows, repeatCopies, runTarget, selectionsFor, selectPath, variableValues } from '../../grafana/testing/store-queries';
import { fieldsOfMarket, MARKETS, type MarketKind, marketKindOf, SUPPORTED_MARKETS } from '../../lib/moex/markets';
import { NUMERIC_FIELDS } from '../../lib/moex/quote';
import { algopackMetricName, DATASETS } from '../../lib/moex/algopack/datasets';
import { GREEK_FIELDS } from '../../lib/moex/option-greeks';

const ROOT = path.resolve(__dirname, '..', '..');
const datasources = loadDatasources();
const dashboards = loadDashboards();
const dsByUid = new Map(datasources.map((d) => [d.uid, d]));

// docs/metrics.md, plus the exporters' standard families. Quote gauges: lib/moex/quote.ts.
const HISTOGRAMS = ['moex_price_relative_to_prev_close', 'moex_poll_duration_seconds', 'http_request_duration_seconds'];
const DOCUMENTED_METRICS = new Set([
  ...NUMERIC_FIELDS.map((f) => f.metric),
  'moex_trading',
  'moex_quote_timestamp_seconds',
  'moex_data_delay_seconds',
  'moex_up',
  'moex_board_up',
  'moex_simulated_feed',
  'moex_polls_total',
  'moex_poll_errors_total',
  'moex_last_success_timestamp_seconds',
  'scraper_points_written_total',
  'scraper_write_errors_total',
  'scraper_buffered_points',
  'scraper_last_write_timestamp_seconds',
  ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_count`, `${h}_sum`]),
  // docs/algopack.md: the exported columns of lib/moex/algopack/datasets.ts.
  ...Object.values(DATASETS).flatMap((d) => d.exported.map((c) => algopackMetricName(d.dataset, c.column))),
  'moex_algopack_bar_timestamp_seconds',
  'moex_algopack_bar_lag_seconds',
  // The Options Calculator's gauges: lib/moex/option-greeks.ts.
  ...GREEK_FIELDS.map((f) => f.metric),
]);
// Beyond the contract: what lib/poll-metrics.ts, scraper/src/sink.ts, spool.ts, candles-sync.ts, worker-prometheus/src/market-calendar.ts and quote-metrics.ts also export.
const SERVICE_EXTRAS = new Set([
  'moex_missing_tickers',
  'moex_invalid_values_total',
  'scraper_dropped_points_total',
  'scraper_spool_bytes',
  'scraper_spool_replayed_points_total',
  'scraper_spool_corrupt_records_total',
  'scraper_candle_requests_total',
  'scraper_candles_total',
  'moex_market_open',
  // worker-prometheus/src/quote-metrics.ts: read from the quote's strike and CENTRALSTRIKE, not a field of its own.
  'moex_option_at_the_money',
]);
const STANDARD_METRICS = new Set([
  'up',
  'ALERTS',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_p99_seconds',
  'node_cpu_seconds_total',
  'node_load1',
  'node_load5',
  'node_load15',
  'node_memory_MemAvailable_bytes',
  'node_memory_MemTotal_bytes',
  'node_filesystem_avail_bytes',
  'node_filesystem_size_bytes',
]);
// docs/metrics.md (Graphite nodes, InfluxDB measurements and fields): each market's own fields.
const SERIES_NAME = new Map(NUMERIC_FIELDS.map((f) => [f.field, f.seriesName]));
const fieldNamesOf = (kind: MarketKind) => new Set(fieldsOfMarket(kind).map((f) => SERIES_NAME.get(f) as string));
// ISS market name (Graphite's market node) → kind: `selt` → currency, `forts` → futures.
const KIND_OF_MARKET = new Map(
  SUPPORTED_MARKETS.map((em) => {
    const [engine, market] = em.split('/') as [string, string];
    return [market, marketKindOf(engine, market) as MarketKind];
  }),
);
const KIND_OF_MEASUREMENT = new Map<string, MarketKind | 'candles'>(Object.values(MARKETS).map((m) => [m.measurement, m.kind]));
// docs/metrics.md: measurement `candles`, fields open high low close value volume.
KIND_OF_MEASUREMENT.set('candles', 'candles');
// docs/algopack.md: one measurement per ALGOPACK dataset; its exported columns are fields (among others).
const ALGOPACK_FIELDS = new Map(Object.values(DATASETS).map((d) => [d.dataset as string, new Set(d.exported.map((c) => c.column))]));
const influxFieldsOf = (kind: MarketKind | 'candles' | string) =>
  ALGOPACK_FIELDS.get(kind) ?? (kind === 'candles' ? new Set(['open', 'high', 'low', 'close', 'value', 'volume']) : fieldNamesOf(kind as MarketKind));
// Macros Grafana resolves in queries (global or per datasource).
const MACROS = new Set([
  '__interval',
  '__interval_ms',
  '__rate_interval',
  '__range',
  '__range_s',
  '__range_ms',
  '__from',
  '__to',
  'timeFilter',
  '__timeFilter',
  '__dashboard',
  '__org',
  '__user',
]);

function isVariableRef(uid: string | undefined): boolean {
  return typeof uid === 'string' && /^\$\{?\w+\}?$/.test(uid);
}

/** A datasource reference is valid when it is an object naming a provisioned uid of the right type. */
function assertDatasourceRef(ref: unknown, where: string): void {
  assert.ok(ref !== null && typeof ref === 'object', `${where}: datasource must be {type, uid}, got ${JSON.stringify(ref)}`);
  const { type, uid } = ref as DatasourceRef;
  assert.equal(typeof uid, 'string', `${where}: datasource has no uid`);
  if (uid === GRAFANA_BUILTIN_UID || isVariableRef(uid)) return;
  const ds = dsByUid.get(uid as string);
  assert.ok(ds, `${where}: datasource uid "${uid}" is not provisioned`);
  assert.equal(type, ds.type, `${where}: datasource "${uid}" has type ${ds.type}, reference says ${type}`);
}

/** The query text of a target, whatever its datasource. */
function queryText(target: Record<string, unknown>): string {
  const columns = target.columns as Array<{ selector: string }> | undefined;
  return [target.expr, target.target, target.query, target.url, target.root_selector, ...(columns ?? []).map((c) => c.selector)]
    .filter((q) => typeof q === 'string')
    .join('\n');
}

describe('Grafana datasource provisioning', () => {
  const doc = readYaml(path.join(ROOT, 'grafana/provisioning/datasources/datasources.yml')) as { apiVersion: number };

  it('is apiVersion 1 with unique uids and names', () => {
    assert.equal(doc.apiVersion, 1);
    assert.equal(new Set(datasources.map((d) => d.uid)).size, datasources.length);
    assert.equal(new Set(datasources.map((d) => d.name)).size, datasources.length);
  });

  it('provisions the stores (VictoriaMetrics of the scale profile included) with fixed uids at their compose addresses', () => {
    const summary = datasources.map((d) => [d.uid, d.type, d.url]);
    assert.deepEqual(summary, [
      ['prometheus', 'prometheus', 'https://prometheus:9090'],
      ['victoriametrics', 'prometheus', 'http://victoria-metrics:8428'],
      ['graphite', 'graphite', 'http://graphite:80'],
      ['influxdb', 'influxdb', 'http://influxdb:8086'],
      ['backend-api', 'yesoreyeram-infinity-datasource', 'https://backend:8998'],
    ]);
    assert.deepEqual(
      datasources.filter((d) => d.isDefault).map((d) => d.uid),
      ['prometheus'],
    );
  });

  it('configures Graphite 1.1 and InfluxQL on pyexample with credentials from the environment', () => {
    assert.equal(dsByUid.get('graphite')?.jsonData?.graphiteVersion, '1.1');
    const influx = dsByUid.get('influxdb');
    assert.equal(influx?.jsonData?.version, 'InfluxQL');
    assert.equal(influx?.jsonData?.dbName, 'pyexample');
    assert.equal(influx?.user, '$INFLUX_USERNAME');
    assert.deepEqual(influx?.secureJsonData, { password: '$__file{/run/secrets/influxdb_user_password}' });
    // The web config's side: https trusting the stack's certificate, basic auth from the secret.
    for (const uid of ['prometheus', 'backend-api']) {
      const ds = dsByUid.get(uid) as {
        basicAuth?: boolean;
        basicAuthUser?: string;
        jsonData?: Record<string, unknown>;
        secureJsonData?: Record<string, string>;
      };
      assert.equal(ds.basicAuth, true, uid);
      assert.equal(ds.basicAuthUser, '$PROMETHEUS_USERNAME', uid);
      assert.equal(ds.jsonData?.tlsAuthWithCACert, true, uid);
      assert.deepEqual(ds.secureJsonData, { basicAuthPassword: '$__file{/run/secrets/prometheus_password}', tlsCACert: '$__file{/run/secrets/tls.crt}' }, uid);
    }
  });

  it("tells Grafana Prometheus' real scrape interval (the base of $__rate_interval)", () => {
    const prom = readYaml(path.join(ROOT, 'prometheus/prometheus.yml')) as { global: { scrape_interval: string } };
    assert.equal(dsByUid.get('prometheus')?.jsonData?.timeInterval, prom.global.scrape_interval);
  });
});

describe('Grafana plugins', () => {
  it('installs, at a pinned version and before provisioning, every plugin the provisioning uses', () => {
    const compose = readYaml(path.join(ROOT, 'docker-compose.yml')) as { services: { grafana: { environment: Record<string, string> } } };
    const installed = compose.services.grafana.environment.GF_PLUGINS_PREINSTALL_SYNC?.split(',') ?? [];
    for (const p of installed) assert.match(p, /^[a-z0-9-]+@\d+\.\d+\.\d+$/, `${p}: id@version`);
    // Plugin ids are <org>-<name>-<type>; Grafana's built-in datasources and panels have no dash.
    const types = [...datasources.map((d) => d.type), ...[...dashboards.values()].flatMap((d) => allPanels(d).map((p) => p.type))];
    const needed = [...new Set(types.filter((t) => t.includes('-')))].sort();
    assert.deepEqual(needed, ['grafana-clock-panel', 'yesoreyeram-infinity-datasource']);
    assert.deepEqual(installed.map((p) => p.split('@')[0]).sort(), needed);
  });
});

describe('Grafana dashboard provider', () => {
  it('loads /var/lib/grafana/dashboards into the MOEX folder', () => {
    const doc = readYaml(DASHBOARD_PROVIDERS_FILE) as { apiVersion: number; providers: Array<Record<string, unknown>> };
    assert.equal(doc.apiVersion, 1);
    assert.equal(doc.providers.length, 1);
    const provider = doc.providers[0] as { type: string; folder: string; options: { path: string } };
    assert.equal(provider.type, 'file');
    assert.equal(provider.folder, 'MOEX');
    assert.equal(provider.options.path, '/var/lib/grafana/dashboards');
  });
});

describe('Grafana dashboards', () => {
  it('are byte for byte what grafana/generator produces (run: node --import tsx grafana/generator/main.ts)', () => {
    const generated = renderDashboards();
    assert.deepEqual([...generated.keys()].sort(), [...dashboards.keys()]);
    for (const [file, text] of generated) assert.equal(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8'), text, `grafana/dashboards/${file} is stale`);
  });

  it('have unique uids and titles and a current schema', () => {
    const list = [...dashboards.values()];
    assert.ok(list.length >= 4);
    assert.equal(new Set(list.map((d) => d.uid)).size, list.length);
    assert.equal(new Set(list.map((d) => d.title)).size, list.length);
    for (const d of list) {
      assert.match(d.uid, /^[a-zA-Z0-9_-]{1,40}$/, `${d.title}: uid`);
      assert.ok(d.schemaVersion >= 39, `${d.uid}: schemaVersion ${d.schemaVersion}`);
    }
  });

  for (const [file, dashboard] of dashboards) {
    describe(file, () => {
      it('has unique panel ids and every panel on the 24-column grid without overlaps', () => {
        const panels = allPanels(dashboard);
        assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'duplicate panel id');
        const cells = new Map<string, string>();
        for (const p of panels) {
          const g = p.gridPos;
          assert.ok(g, `panel "${p.title}" has no gridPos`);
          for (const k of ['h', 'w', 'x', 'y'] as const) assert.ok(Number.isInteger(g[k]) && g[k] >= 0, `panel "${p.title}" gridPos.${k}`);
          assert.ok(g.w > 0 && g.h > 0 && g.x + g.w <= 24, `panel "${p.title}" is outside the grid`);
          for (let x = g.x; x < g.x + g.w; x++) {
            for (let y = g.y; y < g.y + g.h; y++) {
              const other = cells.get(`${x},${y}`);
              assert.equal(other, undefined, `panel "${p.title}" overlaps "${other}"`);
              cells.set(`${x},${y}`, p.title);
            }
          }
        }
      });

      it('references every datasource (panels, targets, variables, annotations) by a provisioned uid', () => {
        for (const p of allPanels(dashboard)) {
          if (QUERYLESS_PANEL_TYPES.has(p.type)) {
            assert.equal((p.targets ?? []).length, 0, `${p.type} "${p.title}" should not query`);
            continue;
          }
          assertDatasourceRef(p.datasource, `panel "${p.title}"`);
          assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no targets`);
          for (const t of p.targets ?? []) assertDatasourceRef(t.datasource, `panel "${p.title}" target ${t.refId}`);
          assert.equal(new Set((p.targets ?? []).map((t) => t.refId)).size, (p.targets ?? []).length, `panel "${p.title}" refIds`);
        }
        for (const v of variables(dashboard)) if (v.type === 'query') assertDatasourceRef(v.datasource, `variable $${v.name}`);
        for (const a of dashboard.annotations?.list ?? []) assertDatasourceRef(a.datasource, 'annotation');
      });

      it('queries only defined variables and Grafana macros', () => {
        const defined = new Set(variables(dashboard).map((v) => v.name));
        for (const p of queryPanels(dashboard)) {
          for (const t of p.targets ?? []) {
            for (const name of referencedNames(queryText(t))) {
              assert.ok(defined.has(name) || MACROS.has(name), `panel "${p.title}" uses undefined $${name}`);
            }
          }
        }
      });

      it('uses only the metric names, Graphite nodes and InfluxDB fields of the contract', () => {
        for (const p of queryPanels(dashboard)) {
          for (const t of p.targets ?? []) {
            const uid = targetDatasourceUid(p, t);
            const where = `panel "${p.title}" ${t.refId}`;
            if (uid === 'prometheus') {
              // Label values ("node-exporter") are not metric names.
              const names =
                String(t.expr)
                  .replace(/"[^"]*"/g, '""')
                  .match(/\b(?:moex|scraper|http|process|nodejs|node|up|ALERTS)\w*\b/g) ?? [];
              for (const n of names) assert.ok(DOCUMENTED_METRICS.has(n) || SERVICE_EXTRAS.has(n) || STANDARD_METRICS.has(n), `${where}: unknown metric ${n}`);
              assert.ok(names.length > 0, `${where}: no metric`);
            } else if (uid === 'graphite') {
              // Shares: stocks.$ticker.<field>; other markets: stocks.<market>.*.<field>.
              const m = /stocks\.(?:\$ticker|([a-z]+)\.\*)\.(\{[\w,]+\}|\w+)/.exec(String(t.target));
              assert.ok(m, `${where}: neither stocks.$ticker.<field> nor stocks.<market>.*.<field>`);
              const kind = m[1] === undefined ? 'shares' : KIND_OF_MARKET.get(m[1]);
              // Shares have no market node: `stocks.shares.*` is no series.
              assert.ok(kind && (m[1] === undefined || kind !== 'shares'), `${where}: unknown market node ${m[1]}`);
              for (const f of (m[2] as string).replace(/[{}]/g, '').split(',')) assert.ok(fieldNamesOf(kind).has(f), `${where}: ${kind} has no field ${f}`);
            } else if (uid === 'influxdb') {
              const q = String(t.query);
              const m = /FROM "(\w+)" WHERE (.*)\$timeFilter/.exec(q);
              assert.ok(m, `${where}: not FROM "<measurement>" WHERE ... $timeFilter`);
              const kind = KIND_OF_MEASUREMENT.get(m[1] as string) ?? (ALGOPACK_FIELDS.has(m[1] as string) ? (m[1] as string) : undefined);
              assert.ok(kind, `${where}: unknown measurement ${m[1]}`);
              if (variables(dashboard).some((v) => v.name === 'ticker')) assert.match(m[2] as string, /^"ticker" =~ \/\^\$ticker\$\/ AND $/, where);
              for (const [, f] of q.matchAll(/\w+\("(\w+)"\)/g)) assert.ok(influxFieldsOf(kind).has(f as string), `${where}: ${kind} has no field ${f}`);
            }
          }
        }
      });
    });
  }

  const byUid = new Map([...dashboards.values()].map((d) => [d.uid, d]));
  const panelsOf = (uid: string): GrafanaPanel[] => allPanels(byUid.get(uid) as GrafanaDashboard);
  const exprsOf = (uid: string) => panelsOf(uid).flatMap((p) => (p.targets ?? []).map((t) => String(t.expr ?? t.target ?? t.query)));

  it('give each quote dashboard a multi-value ticker variable with All, from its own store', () => {
    const expected: Record<string, [string, string]> = {
      'moex-prometheus': ['prometheus', 'label_values(moex_last_price{market=~"$market"},ticker)'],
      'moex-graphite': ['graphite', 'stocks.*'],
      'moex-influxdb': ['influxdb', 'SHOW TAG VALUES FROM "stocks" WITH KEY = "ticker"'],
    };
    for (const [uid, [dsUid, definition]] of Object.entries(expected)) {
      const ticker = variables(byUid.get(uid) as GrafanaDashboard).find((v) => v.name === 'ticker');
      assert.ok(ticker, `${uid}: no $ticker`);
      assert.deepEqual([(ticker.datasource as DatasourceRef).uid, ticker.definition, ticker.multi, ticker.includeAll], [dsUid, definition, true, true], uid);
    }
    // Prometheus: $market (default shares) scopes $ticker; the Graphite and InfluxDB dashboards read shares only.
    const [market, ticker] = variables(byUid.get('moex-prometheus') as GrafanaDashboard);
    assert.deepEqual(
      [market?.name, market?.definition, market?.multi, market?.includeAll, market?.current],
      ['market', 'label_values(moex_last_price,market)', true, true, { selected: true, text: ['shares'], value: ['shares'] }],
    );
    assert.equal(ticker?.name, 'ticker');
    for (const uid of ['moex-graphite', 'moex-influxdb'])
      assert.deepEqual(
        variables(byUid.get(uid) as GrafanaDashboard).map((v) => v.name),
        ['ticker'],
        uid,
      );
    for (const p of queryPanels(byUid.get('moex-prometheus') as GrafanaDashboard)) {
      for (const t of p.targets ?? [])
        if (t.expr)
          assert.ok(String(t.expr).includes('market=~"$market", ticker=~"$ticker"'), `moex-prometheus "${p.title}": not scoped by $market and $ticker`);
    }
    // Graphite lists other markets' and candles' nodes beside the share tickers (docs/metrics.md).
    const graphiteRegex = String(variables(byUid.get('moex-graphite') as GrafanaDashboard)[0]?.regex).replace(/^\/|\/$/g, '');
    assert.deepEqual(
      ['SBER', 'SBERP', 'selt', 'candles', 'index'].filter((n) => new RegExp(graphiteRegex).test(n)),
      ['SBER', 'SBERP'],
    );
  });

  it('cover what the brief asks of each dashboard', () => {
    const prom = exprsOf('moex-prometheus').join('\n');
    for (const m of [
      'moex_last_price',
      'moex_bid_price',
      'moex_offer_price',
      'moex_change_percent',
      'moex_volume_today',
      'moex_trading',
      'time() - moex_quote_timestamp_seconds',
    ]) {
      assert.ok(prom.includes(m), `moex-prometheus lacks ${m}`);
    }
    assert.ok(panelsOf('moex-prometheus').some((p) => p.type === 'heatmap' && JSON.stringify(p.targets).includes('moex_price_relative_to_prev_close_bucket')));
    assert.ok(exprsOf('moex-graphite').some((t) => t.includes('stocks.$ticker.last')));
    assert.ok(
      exprsOf('moex-influxdb').includes(
        'SELECT last("last") FROM "stocks" WHERE "ticker" =~ /^$ticker$/ AND $timeFilter GROUP BY time($__interval), "ticker" fill(none)',
      ),
    );
    const health = exprsOf('moex-stack-health').join('\n');
    for (const m of [
      'up{job=~',
      'moex_up',
      'moex_poll_duration_seconds_bucket',
      'moex_poll_errors_total',
      'scraper_points_written_total',
      'scraper_write_errors_total',
      'scraper_buffered_points',
      'http_request_duration_seconds_count',
      'http_request_duration_seconds_bucket',
      'node_cpu_seconds_total',
      'node_memory_MemAvailable_bytes',
      'node_filesystem_avail_bytes',
    ]) {
      assert.ok(health.includes(m), `stack-health lacks ${m}`);
    }
    // Issue 15: the spool's bytes and replay counts, and the candle sync, on stack health; candles on the InfluxDB dashboard.
    for (const m of [
      'scraper_spool_bytes{',
      'increase(scraper_spool_replayed_points_total{',
      'increase(scraper_spool_corrupt_records_total{',
      'scraper_candle_requests_total{',
      'scraper_candles_total{',
    ]) {
      assert.ok(health.includes(m), `stack-health lacks ${m}`);
    }
    const candles = panelsOf('moex-influxdb').find((p) => p.type === 'candlestick') as GrafanaPanel & { options: { fields: Record<string, string> } };
    assert.ok(candles, 'moex-influxdb has no candlestick panel');
    assert.equal(candles.repeat, 'ticker');
    assert.equal(candles.interval, '1m');
    assert.deepEqual(candles.targets?.[0]?.resultFormat, 'table');
    // The panel finds its fields by these names: each must be a column the query returns.
    for (const f of Object.values(candles.options.fields)) assert.ok(String(candles.targets?.[0]?.query).includes(`AS "${f}"`), `candlestick field ${f}`);
    for (const m of [
      'moex_data_delay_seconds',
      'moex_board_up',
      'sum by (board, reason) (increase(moex_poll_errors_total',
      'moex_simulated_feed',
      'ALERTS{alertstate="firing"}',
      'max by (engine) (moex_market_open{',
    ]) {
      assert.ok(health.includes(m), `stack-health lacks ${m}`);
    }
    const feedDelay = panelsOf('moex-stack-health').find((p) => p.title === 'Feed delay') as GrafanaPanel & {
      fieldConfig: { defaults: { thresholds: { steps: Array<{ value: number | null }> } } };
    };
    // 900 s is the anonymous feed's normal: green up to just past it.
    assert.deepEqual(
      feedDelay.fieldConfig.defaults.thresholds.steps.map((s) => s.value),
      [null, 960, 1800],
    );
    const alerts = panelsOf('moex-stack-health').find((p) => p.title === 'Firing alerts') as GrafanaPanel & {
      transformations: Array<{ id: string; options: { include?: { names: string[] } } }>;
    };
    assert.equal(alerts.type, 'table');
    assert.deepEqual(alerts.transformations[0]?.options.include?.names, ['alertname', 'severity', 'ticker', 'board']);
    assert.ok(panelsOf('moex-stack-health').some((p) => p.type === 'grafana-clock-panel'));
    // MOEX markets: each market from every store that holds it.
    const markets = exprsOf('moex-markets').join('\n');
    for (const q of [
      'moex_last_price{market="selt"}',
      'FROM "currencies"',
      'stocks.selt.*.last',
      'moex_index_value',
      'FROM "indices"',
      'stocks.index.*.index_value',
      'moex_bond_yield_percent{board="TQOB"}',
      'moex_bond_days_to_maturity{board="TQOB"}',
      'FROM "bonds"',
      'moex_futures_open_interest',
      'FROM "futures"',
      'stocks.forts.*.open_interest',
      'moex_last_price{board="TQTF"}',
      `FROM "stocks" WHERE "board" = 'TQTF'`,
    ]) {
      assert.ok(markets.includes(q), `moex-markets lacks ${q}`);
    }
    const curve = panelsOf('moex-markets').find((p) => p.title === 'OFZ yield curve') as GrafanaPanel & {
      options: { mapping: string };
      transformations: Array<{ id: string; options: unknown }>;
    };
    assert.equal(curve.type, 'xychart');
    assert.equal(curve.options.mapping, 'auto');
    // Auto mapping: the first number field is x; the last transformation orders the points by maturity.
    assert.deepEqual(curve.transformations.at(-1), { id: 'sortBy', options: { fields: {}, sort: [{ field: 'Days to maturity', desc: false }] } });
    assert.ok(
      [...dashboards.values()].some((d) => JSON.stringify(d).includes('"uid":"backend-api"')),
      'no panel uses the backend API',
    );
  });

  it('give MOEX options one underlying and one of its expiries at a time, the smile, open interest by strike, the put/call ratio and the IV moves', () => {
    const options = byUid.get('moex-options') as GrafanaDashboard;
    assert.deepEqual(
      variables(options).map((v) => [v.name, v.definition, v.multi, v.includeAll]),
      [
        ['underlying', 'label_values(moex_option_open_interest,underlying)', false, false],
        ['expiry', 'label_values(moex_option_open_interest{underlying="$underlying"},expiry)', false, false],
      ],
    );
    type Transformed = GrafanaPanel & { transformations: Array<{ id: string; options: Record<string, unknown> }>; options: Record<string, unknown> };
    const panel = (title: string) => panelsOf('moex-options').find((p) => p.title === title) as Transformed;
    const smile = panel('Volatility smile');
    const oi = panel('Open interest by strike');
    assert.equal(smile.type, 'xychart');
    assert.equal(oi.type, 'barchart');
    assert.equal(oi.options.xField, 'Strike');
    for (const p of [smile, oi]) {
      // Calls and puts of the chosen underlying and expiry, one row per strike, strikes in numeric order.
      assert.deepEqual(
        (p.targets ?? []).map((t) => String(t.expr).match(/option_type="(\w+)"/)?.[1]),
        ['call', 'put'],
      );
      for (const t of p.targets ?? []) assert.ok(String(t.expr).includes('underlying="$underlying", expiry="$expiry"'), p.title);
      const ids = p.transformations.map((t) => t.id);
      assert.ok(ids.indexOf('convertFieldType') < ids.indexOf('sortBy'), `${p.title}: strikes sorted as numbers`);
    }
    const exprs = exprsOf('moex-options').join('\n');
    for (const q of [
      'sum by (underlying) (moex_option_open_interest{option_type="put"}) / sum by (underlying) (moex_option_open_interest{option_type="call"})',
      'topk(10, max by (ticker, underlying, option_type, strike, expiry) (max_over_time(moex_option_implied_volatility[15m]) - min_over_time(moex_option_implied_volatility[15m])))',
      'and on (ticker, board) moex_option_at_the_money == 1',
      'moex_option_central_strike{',
    ]) {
      assert.ok(exprs.includes(q), `moex-options lacks ${q}`);
    }
  });
});

describe("Grafana dashboards against Grafana's dashboard JSON schema (grafana/schema/)", () => {
  const validate = dashboardValidator();
  const copyOf = (uid: string): GrafanaDashboard => structuredClone([...dashboards.values()].find((d) => d.uid === uid) as GrafanaDashboard);

  const validatePanel = panelValidator();

  for (const [file, dashboard] of dashboards) {
    it(`${file} is valid, and so is each panel's options and field config for its plugin`, () => {
      assert.deepEqual(validate(dashboard), [], `${file} does not match grafana/schema/dashboard.jsonschema.json`);
      for (const p of allPanels(dashboard)) {
        if (QUERYLESS_PANEL_TYPES.has(p.type)) continue; // rows have no options; the clock plugin publishes no schema
        assert.deepEqual(validatePanel(p), [], `${file} panel "${p.title}" (${p.type})`);
      }
    });
  }

  it("rejects a panel whose options or field config its plugin's schema does not allow", () => {
    const panel = structuredClone(allPanels(copyOf('moex-prometheus')).find((p) => p.type === 'timeseries') as GrafanaPanel);
    (panel.options as { legend: { displayMode: string } }).legend.displayMode = 'tabel';
    (panel.fieldConfig as { defaults: { custom: Record<string, unknown> } }).defaults.custom.lineWidht = 1;
    const errors = validatePanel(panel).join('\n');
    assert.match(errors, /options\/legend\/displayMode: must be equal to one of the allowed values/);
    assert.match(errors, /fieldConfig.defaults.custom\/: must NOT have additional properties \(lineWidht\)/);
    assert.deepEqual(validatePanel({ type: 'piechart' }), ['panel type piechart has no schema in grafana/schema/']);
  });

  it('rejects a broken dashboard, naming each problem', () => {
    const broken = copyOf('moex-prometheus') as GrafanaDashboard & Record<string, unknown>;
    const [, panel] = broken.panels as [GrafanaPanel, GrafanaPanel];
    delete (panel.gridPos as Partial<NonNullable<GrafanaPanel['gridPos']>>).w;
    panel.fieldConfig = { defaults: { thresholds: { mode: 'absolute', steps: [{ color: 'green', value: 'zero' }] } }, overrides: [] };
    broken.schemaVersion = '42' as unknown as number;
    broken.panelz = [];
    delete broken.templating;
    const errors = validate(broken).join('\n');
    for (const expected of [
      "/panels/1/gridPos: must have required property 'w'",
      '/panels/1/fieldConfig/defaults/thresholds/steps/0/value: must be number',
      '/schemaVersion: must be integer',
      '/: must NOT have additional properties (panelz)',
      "/: must have required property 'templating'",
    ]) {
      assert.ok(errors.includes(expected), `expected "${expected}" among:\n${errors}`);
    }
  });

  it('relaxes the exported schema only where a committed dashboard needs it', () => {
    for (const fix of ANY_VALUE_FIXES) {
      const strict = dashboardValidator(
        withAnyValueFixes(
          readDashboardSchema(),
          ANY_VALUE_FIXES.filter((f) => f !== fix),
        ),
      );
      const rejected = [...dashboards.values()].filter((d) => strict(d).length > 0);
      assert.ok(rejected.length > 0, `${fix.pointer} (${fix.why}) is relaxed but no dashboard needs it`);
    }
    assert.throws(() => withAnyValueFixes(readDashboardSchema(), [{ pointer: '/definitions/Nope/properties/x', why: '' }]), /no \/definitions\/Nope/);
  });
});

describe('Grafana query interpolation (as the integration test sends it)', () => {
  const ctx = (kind: QueryContext['kind'], vars: Record<string, VariableSelection>): QueryContext => ({
    kind,
    fromMs: 1_700_000_000_000,
    toMs: 1_700_003_600_000,
    intervalMs: 15_000,
    scrapeIntervalS: 15,
    variables: new Map(Object.entries(vars)),
  });
  const two: VariableSelection = { values: ['SBER', 'GAZP'], multiValued: true };
  const one: VariableSelection = { values: ['SBER'], multiValued: true };

  it('formats multi-value variables like each Grafana datasource', () => {
    assert.equal(interpolate('x{ticker=~"$ticker"}', ctx('prometheus', { ticker: two })), 'x{ticker=~"(SBER|GAZP)"}');
    assert.equal(interpolate('x{ticker=~"$ticker"}', ctx('prometheus', { ticker: one })), 'x{ticker=~"SBER"}');
    assert.equal(interpolate('"ticker" =~ /^$ticker$/', ctx('influxdb', { ticker: two })), '"ticker" =~ /^(SBER|GAZP)$/');
    assert.equal(interpolate('stocks.$ticker.last', ctx('graphite', { ticker: two })), 'stocks.{SBER,GAZP}.last');
    assert.equal(interpolate('stocks.${ticker}.last', ctx('graphite', { ticker: { ...two, customAll: '*' } })), 'stocks.*.last');
    assert.equal(interpolate('a.[[ticker:pipe]]', ctx('graphite', { ticker: two })), 'a.SBER|GAZP');
    assert.equal(interpolate('x{a=~"$ticker"}', ctx('prometheus', { ticker: { values: ['A.B'], multiValued: true } })), 'x{a=~"A\\\\.B"}');
  });

  it('expands the interval and time-range macros', () => {
    assert.equal(
      interpolate('rate(x[$__rate_interval]) $__interval $__interval_ms $__range $__range_s', ctx('prometheus', {})),
      'rate(x[1m]) 15s 15000 1h 3600',
    );
    assert.equal(
      interpolate('WHERE $timeFilter GROUP BY time($__interval)', ctx('influxdb', {})),
      'WHERE time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(15s)',
    );
    assert.throws(() => interpolate('x{a="$nope"}', ctx('prometheus', {})), /\$nope/);
    assert.throws(() => interpolate('$timeFilter', ctx('prometheus', {})), /timeFilter/);
  });

  it('computes $__interval and $__rate_interval as Grafana does', () => {
    assert.equal(calculateIntervalMs(3_600_000, 900, 15_000), 15_000); // 4 s rounds to 5 s, floor 15 s
    assert.equal(calculateIntervalMs(3_600_000, 900, 0), 5_000);
    assert.equal(calculateIntervalMs(86_400_000, 900, 15_000), 120_000);
    assert.equal(rateIntervalS(15_000, 15), 60);
    assert.equal(rateIntervalS(120_000, 15), 135);
    assert.equal(parseDurationS('15s'), 15);
    assert.equal(parseDurationS('1m'), 60);
  });

  it('offers All, one and two values of a multi-value variable', () => {
    const v = { name: 'ticker', type: 'query', multi: true, includeAll: true, allValue: '*' };
    assert.deepEqual(
      selectionsFor(v, ['GAZP', 'SBER', 'SBERP']).map((s) => [s.label, s.selection.values, s.selection.customAll]),
      [
        ['All', ['GAZP', 'SBER', 'SBERP'], '*'],
        ['GAZP', ['GAZP'], undefined],
        ['GAZP+SBER', ['GAZP', 'SBER'], undefined],
      ],
    );
  });

  it('queries a repeated panel once per selected value, each copy with that value alone', () => {
    const all: VariableSelection = { values: ['GAZP', 'SBER'], multiValued: true };
    const selected = new Map([['ticker', all]]);
    const candles = allPanels(dashboards.get('moex-influxdb.json') as GrafanaDashboard).find((p) => p.repeat === 'ticker') as GrafanaPanel;
    const copies = repeatCopies(candles, selected);
    assert.deepEqual(
      copies.map((c) => c.value),
      ['GAZP', 'SBER'],
    );
    // Still the multi-value variable: InfluxDB gets the escaped value inside /^...$/, as in Grafana's repeated copy.
    assert.equal(interpolate('/^$ticker$/', { ...ctx('influxdb', {}), variables: copies[1]?.variables as Map<string, VariableSelection> }), '/^SBER$/');
    assert.deepEqual(repeatCopies({ ...candles, repeat: undefined }, selected), [{ variables: selected }]);
    assert.throws(() => repeatCopies({ ...candles, repeat: 'market' }, selected), /repeats over \$market/);
  });

  it("offers a variable's default as its one-value selection, and lists a chained variable under the earlier one's choice", async (t) => {
    const market = { name: 'market', type: 'query', multi: true, includeAll: true, current: { selected: true, text: ['shares'], value: ['shares'] } };
    assert.deepEqual(
      selectionsFor(market, ['bonds', 'selt', 'shares']).map((s) => s.label),
      ['All', 'shares', 'bonds+selt'],
    );
    // A default the store does not list falls back to the first value.
    assert.deepEqual(
      selectionsFor({ ...market, current: { value: ['gone'] } }, ['bonds']).map((s) => s.label),
      ['All', 'bonds'],
    );
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(new URL(req.url ?? '', 'http://x').searchParams.get('match[]') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: ['SBER', 'GAZP'] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const stores = { prometheus: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, graphite: '', influxdb: '', influxDatabase: '', backend: '' };
    const ticker = variables(dashboards.get('moex-prometheus.json') as GrafanaDashboard).find((v) => v.name === 'ticker') as GrafanaVariable;
    const chosen = new Map<string, VariableSelection>([['market', { values: ['selt', 'shares'], multiValued: true }]]);
    assert.deepEqual(await variableValues(ticker, 'prometheus', stores, 0, 3_600_000, chosen), ['GAZP', 'SBER']);
    assert.deepEqual(asked, ['moex_last_price{market=~"(selt|shares)"}']);
  });

  it("runs the committed Infinity panels' queries against the backend URL and rejects a column no row has", async (t) => {
    const answers: Record<string, unknown> = {
      '/api/quotes': { quotes: [{ ticker: 'SBER', market: 'shares', last: 300.5, changePercent: 1.2, volume: 10, trading: true, ageSeconds: 900 }] },
      '/api/status': { components: [{ name: 'prometheus', ok: true, latencyMs: 3, detail: 'up' }] },
    };
    const requested: string[] = [];
    const server = createServer((req, res) => {
      requested.push(req.url ?? '');
      res.writeHead(answers[req.url ?? ''] ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(answers[req.url ?? ''] ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const stores = { prometheus: '', graphite: '', influxdb: '', influxDatabase: '', backend: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const infinityPanels = [...dashboards.values()]
      .flatMap((d) => queryPanels(d))
      .filter((p) => (p.datasource as DatasourceRef | undefined)?.uid === 'backend-api');
    assert.equal(infinityPanels.length, 2);
    const run = (panel: GrafanaPanel, target: Record<string, unknown>) =>
      runTarget(
        {
          kind: 'yesoreyeram-infinity-datasource',
          panel,
          target: { refId: 'A', ...target },
          fromMs: 0,
          toMs: 3_600_000,
          rangeFrom: 'now-1h',
          scrapeIntervalS: 15,
          variables: new Map(),
        },
        stores,
      );
    for (const panel of infinityPanels) {
      const target = (panel.targets ?? [])[0] as Record<string, unknown>;
      const outcome = await run(panel, target);
      assert.equal(outcome.nonNull, (target.columns as unknown[]).length, `${panel.title}: one value per column of the one row`);
      await assert.rejects(
        run(panel, { ...target, columns: [...(target.columns as unknown[]), { selector: 'nope', text: 'Nope', type: 'string' }] }),
        /no row has nope/,
      );
      await assert.rejects(run(panel, { ...target, root_selector: '$.missing' }), /is not an array/);
    }
    assert.deepEqual([...new Set(requested)].sort(), ['/api/quotes', '/api/status']);
  });

  it('makes rows of an Infinity JSON answer the way its backend parser does', () => {
    const doc = {
      quotes: [
        { ticker: 'SBER', bid: null },
        { ticker: 'GAZP', bid: 1 },
      ],
      nested: { list: [] },
    };
    assert.equal(selectPath(doc, '$.quotes'), doc.quotes);
    assert.deepEqual(selectPath(doc, '$.nested.list'), []);
    assert.equal(selectPath(doc, '$.nope.deeper'), undefined);
    assert.throws(() => selectPath(doc, 'quotes[*]'), /not of the form/);
    const columns = [
      { selector: 'ticker', text: 'Ticker', type: 'string' },
      { selector: 'bid', text: 'Bid', type: 'number' },
    ];
    assert.deepEqual(infinityRows(doc, '$.quotes', columns), [
      ['SBER', null],
      ['GAZP', 1],
    ]);
    assert.throws(() => infinityRows(doc, '$.nested', columns), /not an array/);
    assert.throws(() => infinityRows({ quotes: [1] }, '$.quotes', columns), /not an object/);
  });
});
