import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { OPTION_INDEX_PROMQL, optionChainPromql } from '../../backend/src/options';
import { eventually, parseExposition, startService, type RunningService } from '../support/services';

/**
 * Every route and every error of docs/api.md at the HTTP level. Prometheus here is a small stand-in
 * that answers like Prometheus' HTTP API with fixed samples and can be told to fail or hang;
 * test/integration/backend-prometheus.test.ts runs the backend against the real Prometheus.
 */
const NOW = Math.floor(Date.now() / 1000);
const sample = (name: string, ticker: string, value: number) => ({
  metric: { __name__: name, ticker, board: 'TQBR', job: 'worker-prometheus' },
  value: [NOW, String(value)],
});
const SAMPLES = [
  sample('moex_last_price', 'SBER', 315.56),
  sample('moex_bid_price', 'SBER', 315.55),
  sample('moex_offer_price', 'SBER', 315.57),
  sample('moex_open_price', 'SBER', 312.9),
  sample('moex_high_price', 'SBER', 316.2),
  sample('moex_low_price', 'SBER', 311.1),
  sample('moex_prev_close_price', 'SBER', 312.5),
  sample('moex_change_percent', 'SBER', 0.9792),
  sample('moex_volume_today', 'SBER', 25678900),
  sample('moex_value_today', 'SBER', 8063687123),
  sample('moex_trades_today', 'SBER', 120456),
  sample('moex_trading', 'SBER', 1),
  sample('moex_quote_timestamp_seconds', 'SBER', NOW - 42),
  sample('moex_data_delay_seconds', 'SBER', 900),
  // GAZP before its first trade: no price series at all.
  sample('moex_prev_close_price', 'GAZP', 128.4),
  sample('moex_trades_today', 'GAZP', 0),
  sample('moex_trading', 'GAZP', 0),
  sample('moex_quote_timestamp_seconds', 'GAZP', NOW - 5),
];

// Two option series of one chain, labelled as the worker labels them (docs/metrics.md).
const optionSample = (name: string, ticker: string, type: 'call' | 'put', value: number) => ({
  metric: {
    __name__: name,
    ticker,
    board: 'ROPD',
    engine: 'futures',
    market: 'options',
    underlying: 'Si',
    option_type: type,
    strike: '80000',
    expiry: '2026-12-17',
  },
  value: [NOW, String(value)],
});
const OPTION_SAMPLES = [
  optionSample('moex_last_price', 'Si80000BL6', 'call', 1602),
  optionSample('moex_option_open_interest', 'Si80000BX6', 'put', 1200),
  optionSample('moex_option_central_strike', 'Si80000BL6', 'call', 80000),
  optionSample('moex_option_central_strike', 'Si80000BX6', 'put', 80000),
];

/** What the stub answers to a PromQL query: the option index, one chain's samples, or the quotes. */
function stubResult(query: string) {
  if (query.startsWith('moex_up')) return [sample('moex_up', '', 1)];
  if (query.startsWith('count by (underlying, expiry, option_type)'))
    return [
      { metric: { underlying: 'Si', expiry: '2026-12-17', option_type: 'call' }, value: [NOW, '1'] },
      { metric: { underlying: 'Si', expiry: '2026-12-17', option_type: 'put' }, value: [NOW, '1'] },
    ];
  const chain = /underlying=~"\(\?i\)(\w+)", expiry="([\d-]+)"/.exec(query);
  if (chain) return chain[1]!.toLowerCase() === 'si' && chain[2] === '2026-12-17' ? OPTION_SAMPLES : [];
  return SAMPLES;
}

interface StubPrometheus {
  url: string;
  mode: 'ok' | 'error' | 'hang';
  queries: string[];
  /** While set, instant queries are answered only once it resolves. */
  hold?: Promise<void>;
  close(): Promise<void>;
}

async function startStubPrometheus(): Promise<StubPrometheus> {
  const stub: StubPrometheus = { url: '', mode: 'ok', queries: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://stub');
    if (stub.mode === 'hang') return; // never answers
    if (stub.mode === 'error') return void res.writeHead(500).end('{"status":"error","error":"boom"}');
    const json = (data: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
    if (url.pathname === '/-/ready') return void res.writeHead(200).end('Prometheus Server is Ready.\n');
    const query = url.searchParams.get('query') ?? '';
    stub.queries.push(`${url.pathname} ${query}`);
    if (url.pathname === '/api/v1/query') {
      // Slow enough that concurrent requests overlap, so collapsing them is observable.
      return void Promise.resolve(stub.hold).then(() => setTimeout(() => json({ resultType: 'vector', result: stubResult(query) }), 50));
    }
    if (url.pathname === '/api/v1/query_range') {
      const start = Number(url.searchParams.get('start'));
      const step = Number(url.searchParams.get('step'));
      const values = query.includes('SBER"') ? [0, 1, 2].map((i) => [start + i * step, String(315 + i)]) : [];
      return json({ resultType: 'matrix', result: values.length ? [{ metric: { ticker: 'SBER' }, values }] : [] });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  stub.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

async function get(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, json };
}

describe('backend HTTP API', () => {
  let prometheus: StubPrometheus;
  let backend: RunningService;

  before(async () => {
    prometheus = await startStubPrometheus();
    backend = await startService('backend', {
      PROMETHEUS_URL: prometheus.url,
      WORKER_URL: 'http://127.0.0.1:9',
      SCRAPER_URL: 'http://127.0.0.1:9',
      GRAPHITE_URL: 'http://127.0.0.1:9',
      INFLUX_URL: 'http://127.0.0.1:9',
      ALERTMANAGER_URL: 'http://127.0.0.1:9',
      PROBE_TIMEOUT_MS: '700',
    });
  });
  after(async () => {
    await backend?.stop();
    await prometheus?.close();
  });

  test('GET / serves the page with its own chart library and security headers', async () => {
    const page = await get(`${backend.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<table id="quotes">/);
    assert.match(page.text, /<ul id="status">/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    // Served over plain HTTP: a browser told to upgrade would fetch app.js and the API over https.
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/);
    assert.equal(page.headers.get('x-powered-by'), null);
    for (const asset of ['/app.js', '/style.css', '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css']) {
      assert.equal((await get(`${backend.url}${asset}`)).status, 200, asset);
    }
  });

  test('GET /api/quotes: every ticker, nulls as null, ages from the exchange time', async () => {
    const { status, json } = await get(`${backend.url}/api/quotes`);
    assert.equal(status, 200);
    assert.deepEqual(
      json.quotes.map((q: { ticker: string }) => q.ticker),
      ['GAZP', 'SBER'],
    );
    const [gazp, sber] = json.quotes;
    assert.deepEqual(
      { ...sber, ageSeconds: undefined },
      {
        ticker: 'SBER',
        board: 'TQBR',
        engine: 'stock',
        market: 'shares',
        last: 315.56,
        bid: 315.55,
        offer: 315.57,
        open: 312.9,
        high: 316.2,
        low: 311.1,
        prevClose: 312.5,
        changePercent: 0.9792,
        volume: 25678900,
        value: 8063687123,
        trades: 120456,
        trading: true,
        time: new Date((NOW - 42) * 1000).toISOString(),
        ageSeconds: undefined,
        delaySeconds: 900,
      },
    );
    assert.ok(sber.ageSeconds >= 42 && sber.ageSeconds < 60);
    assert.equal(gazp.last, null);
    assert.equal(gazp.delaySeconds, null, 'no delay series: null, not 0');
    assert.equal(gazp.bid, null);
    assert.equal(gazp.trades, 0);
    assert.equal(gazp.trading, false);
  });

  test('GET /api/quotes/:ticker: one quote, 404 unknown, 400 malformed', async () => {
    const one = await get(`${backend.url}/api/quotes/SBER`);
    assert.equal(one.status, 200);
    assert.equal(one.json.last, 315.56);
    const unknown = await get(`${backend.url}/api/quotes/NOPE`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error, /NOPE/);
    // SECIDs match case-insensitively (futures such as SiZ7 are mixed case).
    assert.equal((await get(`${backend.url}/api/quotes/sber`)).json.ticker, 'SBER');
    for (const bad of ['SBER-P', 'ABCDEFGHIJKLMNOPQRSTUV', '%E0%A4%A', 'SB%20ER']) {
      const res = await get(`${backend.url}/api/quotes/${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(typeof res.json.error, 'string', bad);
      assert.doesNotMatch(res.text, /at .*\.(js|ts):\d+/, 'no stack trace');
    }
  });

  test('GET /api/quotes/:ticker/history: points from query_range, validated range and step', async () => {
    const ok = await get(`${backend.url}/api/quotes/SBER/history?range=1h&step=30s`);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.ticker, 'SBER');
    assert.equal(ok.json.points.length, 3);
    assert.deepEqual(
      ok.json.points.map((p: number[]) => p[1]),
      [315, 316, 317],
    );
    assert.equal(ok.json.points[1][0] - ok.json.points[0][0], 30);
    const defaults = await get(`${backend.url}/api/quotes/SBER/history`);
    assert.equal(defaults.status, 200);
    for (const query of ['range=abc', 'step=0s', 'range=1h&step=-5s', 'range=30d&step=1s', 'range=1y']) {
      const res = await get(`${backend.url}/api/quotes/SBER/history?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(typeof res.json.error, 'string');
    }
    assert.equal((await get(`${backend.url}/api/quotes/NOPE/history`)).status, 404);
    assert.equal((await get(`${backend.url}/api/quotes/no-pe/history`)).status, 400);
  });

  test('GET /api/options: the index from one count query, never the series', async () => {
    prometheus.queries.length = 0;
    const { status, json } = await get(`${backend.url}/api/options`);
    assert.equal(status, 200);
    assert.deepEqual(json, { underlyings: [{ underlying: 'Si', expiries: [{ expiry: '2026-12-17', calls: 1, puts: 1 }] }] });
    assert.deepEqual(prometheus.queries, [`/api/v1/query ${OPTION_INDEX_PROMQL}`]);
  });

  test('GET /api/options/:underlying/:expiry: one chain asked by name; 404 unknown, 400 malformed', async () => {
    prometheus.queries.length = 0;
    const { status, json } = await get(`${backend.url}/api/options/si/2026-12-17`);
    assert.equal(status, 200);
    assert.deepEqual(prometheus.queries, [`/api/v1/query ${optionChainPromql('si', '2026-12-17')}`]);
    assert.equal(json.underlying, 'Si', 'named as exported, whatever the case asked');
    assert.equal(json.centralStrike, 80000);
    assert.deepEqual(
      json.rows.map((r: { strike: string; atTheMoney: boolean; call: { last: number }; put: { openInterest: number } }) => [
        r.strike,
        r.atTheMoney,
        r.call.last,
        r.put.openInterest,
      ]),
      [['80000', true, 1602, 1200]],
    );
    const unknown = await get(`${backend.url}/api/options/Si/2027-03-18`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error, /Si expiring 2027-03-18/);
    for (const bad of ['S-i/2026-12-17', 'Si/2026-13-01', 'Si/2026-02-30', 'Si/17.12.2026', 'Si/2026-12-17?all=1', 'ABCDEFGHIJKLMNOPQRSTUV/2026-12-17']) {
      const res = await get(`${backend.url}/api/options/${bad}`);
      assert.equal(res.status, 400, bad);
      assert.match(res.json.error, /underlying|expiry|parameter/, bad);
    }
  });

  test('concurrent identical requests cost one Prometheus query', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // let the cached answer expire
    prometheus.queries.length = 0;
    // Prometheus holds its answer until every request has had time to reach the backend: on a
    // loaded machine a request arriving in the answer's second half-life would start the cache's
    // refresh-ahead, a second query that is not what this checks.
    let release!: () => void;
    prometheus.hold = new Promise((resolve) => (release = resolve));
    const pending = Promise.all(Array.from({ length: 20 }, () => get(`${backend.url}/api/quotes`)));
    await eventually(async () => (prometheus.queries.length > 0 ? true : null), 10_000, 'the first query reaches Prometheus');
    // Well inside the backend's 700 ms query timeout (PROBE_TIMEOUT_MS above).
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    prometheus.hold = undefined;
    const answers = await pending;
    assert.deepEqual(
      answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.text}`),
      [],
    );
    assert.equal(prometheus.queries.filter((q) => q.startsWith('/api/v1/query ')).length, 1);
  });

  test('GET /api/status: seven components, each with ok, detail and latency; down ones say why', async () => {
    const { status, json } = await get(`${backend.url}/api/status`);
    assert.equal(status, 200);
    assert.deepEqual(json.components.map((c: { name: string }) => c.name).sort(), [
      'alertmanager',
      'graphite',
      'influxdb',
      'moex',
      'prometheus',
      'scraper',
      'worker',
    ]);
    const byName = Object.fromEntries(json.components.map((c: { name: string }) => [c.name, c]));
    assert.equal(byName.prometheus.ok, true);
    assert.equal(byName.moex.ok, true);
    assert.equal(byName.worker.ok, false);
    assert.match(byName.worker.detail, /unreachable/);
    assert.equal(json.ok, false);
    for (const c of json.components) assert.ok(Number.isInteger(c.latencyMs) && c.latencyMs >= 0);
  });

  test('GET /api/demo/:id answers its id after under a second', async () => {
    const started = Date.now();
    const res = await get(`${backend.url}/api/demo/42`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { id: '42' });
    assert.ok(Date.now() - started < 1500);
  });

  test('/metrics labels requests with the route template, never the raw path', async () => {
    const res = await get(`${backend.url}/metrics`);
    const samples = parseExposition(res.text);
    const keys = [...samples.keys()].filter((k) => k.startsWith('http_request_duration_seconds_count'));
    assert.ok(
      keys.some((k) => k.includes('route="/api/quotes/:ticker"') && k.includes('status_code="200"')),
      keys.join('\n'),
    );
    assert.ok(keys.some((k) => k.includes('route="/api/quotes/:ticker"') && k.includes('status_code="404"')));
    assert.ok(keys.some((k) => k.includes('route="/api/demo/:id"')));
    assert.ok(!keys.some((k) => k.includes('/api/quotes/SBER')), 'no raw paths');
    assert.ok(samples.has('process_resident_memory_bytes'));
  });

  test('unknown routes and methods are JSON errors', async () => {
    const missing = await get(`${backend.url}/api/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error, 'string');
    const post = await get(`${backend.url}/api/quotes`, { method: 'POST' });
    assert.equal(post.status, 404);
    assert.equal(typeof post.json.error, 'string');
  });

  test('/healthz and /readyz', async () => {
    assert.equal((await get(`${backend.url}/healthz`)).status, 200);
    assert.equal((await get(`${backend.url}/readyz`)).status, 200);
  });

  test('Prometheus failing or hanging: 503 JSON within the probe timeout, backend stays up', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (const mode of ['error', 'hang'] as const) {
      prometheus.mode = mode;
      const started = Date.now();
      const res = await get(`${backend.url}/api/quotes`);
      assert.equal(res.status, 503, mode);
      assert.match(res.json.error, /Prometheus/);
      assert.ok(Date.now() - started < 2000, `${mode}: answered in ${Date.now() - started} ms`);
      assert.equal((await get(`${backend.url}/readyz`)).status, 503);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    prometheus.mode = 'ok';
    await eventually(async () => (await get(`${backend.url}/api/quotes`)).status === 200, 5000, 'recovery');
    assert.equal((await get(`${backend.url}/healthz`)).status, 200);
  });
});
