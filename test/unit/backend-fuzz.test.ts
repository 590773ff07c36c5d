// Hostile input to the backend, in process (a fake Prometheus): thousands of random methods, paths,
// query strings, headers and bodies at every route. Every answer must be below 500, JSON for /api
// and for every error, free of stack traces; afterwards the `route` label of
// http_request_duration_seconds holds only route templates (bounded cardinality).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import fc from 'fast-check';
import pino from 'pino';
import { createApp } from '../../backend/src/app';
import type { PrometheusClient, VectorSample } from '../../backend/src/prometheus-client';
import { basicAuthHeader } from '../../lib/http-auth';
import { createServer } from '../../lib/service';

/** Above POST /api/alerts' own limit (256 KiB, backend/src/alerts.ts), the only route that reads a body. */
const BIG_BODY_BYTES = 300 * 1024;

const SAMPLES: VectorSample[] = ['SBER', 'GAZP', 'SBERP'].flatMap((ticker, i) => [
  { metric: { __name__: 'moex_last_price', ticker, board: 'TQBR' }, value: [0, String(100 + i)] as [number, string] },
  { metric: { __name__: 'moex_quote_timestamp_seconds', ticker, board: 'TQBR' }, value: [0, String(Date.now() / 1000 - 60)] as [number, string] },
]);

const fakePrometheus: PrometheusClient = {
  readiness: async () => 200,
  query: async () => SAMPLES,
  queryRange: async (_q, start, end, step) => [
    {
      metric: {},
      values: [
        [start, '1'],
        [end - step, '2'],
      ],
    },
  ],
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'];
/** Everything from ! to ÿ: what a raw HTTP request line may carry (node refuses spaces and controls). */
const rawChar = fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c));
const rawText = (maxLength: number) => fc.string({ unit: rawChar, maxLength });
const percentJunk = fc.constantFrom('%', '%0', '%zz', '%E0%A4%A', '%00', '%2F', '%2e%2e', '..', '%C0%AF', '%uFFFF');
const segment = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'SBER',
      'sber',
      'GAZP',
      'X'.repeat(13),
      'A1',
      '',
      '..',
      '.',
      'history',
      'quotes',
      'api',
      'index.html',
      'vendor',
      'uplot',
      'uPlot.iife.min.js',
    ),
  },
  { weight: 3, arbitrary: rawText(24).map((s) => s.replace(/[?#]/g, '')) },
  { weight: 1, arbitrary: percentJunk },
  { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => 'a'.repeat(n)) },
);
const templatePath = fc
  .tuple(
    fc.constantFrom(
      '/',
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/quotes',
      '/api/quotes/:t',
      '/api/quotes/:t/history',
      '/api/status',
      '/api/demo/:t',
      '/api',
      '/api/:t',
      '/vendor/uplot/:t',
      '/:t',
      '/app.js',
      '/style.css',
    ),
    segment,
  )
  .map(([template, s]) => template.replace(':t', s));
const randomPath = fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
const queryValue = fc.oneof(fc.constantFrom('1h', '30s', '0s', '7d', '999999w', '1h;DROP', '-1h', '', '%', '1e3s'), rawText(20));
const queryString = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom('range', 'step', 'ticker', 'id', '__proto__', 'constructor', 'range[]', 'step[a]'), rawText(8)), queryValue), {
    maxLength: 5,
  })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k.replace(/[&=#]/g, '')}=${v.replace(/[&#]/g, '')}`).join('&')}`));
/** Header values: visible ASCII and space (node refuses control characters). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((s) => s.trim());
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'application/json; charset=utf-7',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ),
    accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png'),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
    authorization: fc.oneof(headerText, fc.constantFrom('Basic', 'Basic !!!', `Basic ${Buffer.from('x:y').toString('base64')}`)),
    'x-forwarded-for': headerText,
    range: fc.constantFrom('bytes=0-1', 'bytes=999999-', 'bytes=x'),
    'if-modified-since': headerText,
    [`x-fuzz`]: headerText,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json().map((j) => j),
  rawText(200),
  fc.constantFrom('{', '{"a":', '[]', 'null', '{"__proto__":{"x":1}}'),
  fc.nat({ max: BIG_BODY_BYTES }).map((n) => `{"pad":"${'x'.repeat(n)}"}`),
);
const hostileRequest = fc.record({ method: fc.constantFrom(...METHODS), path: fc.oneof(templatePath, randomPath), query: queryString, headers, body });
type HostileRequest = typeof hostileRequest extends fc.Arbitrary<infer T> ? T : never;

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

function send(port: number, r: HostileRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: r.method, path: `${r.path}${r.query}`, headers: r.headers, agent: false, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    // The server may answer (413) and close before reading a big body: that is an answer, not an error.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? resolve({ status: 413, contentType: 'application/json', body: '{}' }) : reject(err),
    );
    req.end(r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body);
  });
}

const STACK_TRACE = /\n\s+at |\bat [\w.<>]+ \(|node_modules|\.ts:\d+|\.js:\d+/;

function assertWellBehaved(r: HostileRequest, a: Answer): void {
  const what = `${r.method} ${r.path.slice(0, 200)}${r.query.slice(0, 100)} -> ${a.status} ${a.body.slice(0, 200)}`;
  assert.ok(a.status >= 200 && a.status < 500, what);
  // Static files (uPlot's code) may contain anything; answers the app writes may not.
  if (a.status >= 400 || a.contentType.startsWith('application/json')) assert.doesNotMatch(a.body, STACK_TRACE, what);
  if (r.method === 'HEAD') return;
  if (a.status >= 400 || r.path.startsWith('/api')) {
    assert.match(a.contentType, /^application\/json/, what);
    const parsed: unknown = JSON.parse(a.body);
    assert.ok(parsed && typeof parsed === 'object', what);
    if (a.status >= 400) assert.equal(typeof (parsed as { error?: unknown }).error, 'string', what);
  }
}

/** Every `route` label value of http_request_duration_seconds in a /metrics text. */
function routeLabels(metrics: string): Set<string> {
  return new Set([...metrics.matchAll(/^http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]!));
}

describe('backend under hostile input', () => {
  const log = pino({ level: 'silent' });
  let server: http.Server;
  let port: number;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    app = createApp({ prometheus: fakePrometheus, checkStatus: async () => ({ ok: true, components: [] }), log, rateLimitPerMinute: 1e9 });
    server = createServer(app, null, log, { authenticate: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  test('3,000 random requests: no 5xx, JSON errors, no stack trace; route labels stay the route templates', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostileRequest, { minLength: 20, maxLength: 20 }), async (batch) => {
        // In parallel: /api/demo/:id waits up to a second on purpose.
        const answers = await Promise.all(batch.map((r) => send(port, r)));
        batch.forEach((r, i) => assertWellBehaved(r, answers[i]!));
        sent += batch.length;
      }),
      { numRuns: 150, includeErrorInReport: true },
    );
    assert.equal(sent, 3000);

    const metrics = await send(port, { method: 'GET', path: '/metrics', query: '', headers: {}, body: undefined });
    // The app's own route templates, read from its router, plus the two fallbacks of http-metrics.ts.
    const templates = new Set<string>(['unmatched', 'static']);
    type Layer = { route?: { path: string }; handle?: { stack?: Layer[] } };
    const collect = (stack: Layer[]): void => {
      for (const layer of stack) {
        if (layer.route) templates.add(layer.route.path);
        else if (layer.handle?.stack) collect(layer.handle.stack); // routers mounted at / (alertsRouter)
      }
    };
    collect((app as unknown as { router: { stack: Layer[] } }).router.stack);
    const seen = routeLabels(metrics.body);
    assert.ok(seen.size >= 5, `few routes reached: ${[...seen].join(', ')}`);
    for (const route of seen) assert.ok(templates.has(route), `unbounded route label ${JSON.stringify(route)}`);
    const methods = new Set([...metrics.body.matchAll(/^http_request_duration_seconds_count\{method="([^"]*)"/gm)].map((m) => m[1]!));
    for (const method of methods) assert.ok(METHODS.includes(method), `method label ${method}`);
  });

  test("the limits answer JSON: a body over /api/alerts' limit is 413, a URL over 4 KiB 414, bad JSON 400, an unknown query parameter 400", async () => {
    const big = await send(port, {
      method: 'POST',
      path: '/api/alerts',
      query: '',
      headers: { 'content-type': 'application/json' },
      body: `{"a":"${'x'.repeat(BIG_BODY_BYTES)}"}`,
    });
    assert.equal(big.status, 413);
    assert.equal(typeof JSON.parse(big.body).error, 'string');
    const long = await send(port, { method: 'GET', path: `/api/quotes/${'A'.repeat(5000)}`, query: '', headers: {}, body: undefined });
    assert.equal(long.status, 414);
    const bad = await send(port, { method: 'POST', path: '/api/alerts', query: '', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(bad.status, 400);
    const unknown = await send(port, { method: 'GET', path: '/api/quotes', query: '?evil=1', headers: {}, body: undefined });
    assert.equal(unknown.status, 400);
    assert.match(JSON.parse(unknown.body).error, /unknown query parameter/);
    const twice = await send(port, { method: 'GET', path: '/api/quotes/SBER/history', query: '?range=1h&range=2h', headers: {}, body: undefined });
    assert.equal(twice.status, 400);
    const history = await send(port, { method: 'GET', path: '/api/quotes/SBER/history', query: '?range=1h&step=30s', headers: {}, body: undefined });
    assert.equal(history.status, 200);
  });
});

describe('backend rate limit and authentication under hostile input', () => {
  test('per client: over the limit is 429 JSON with a RateLimit header; /healthz is never limited', async () => {
    const log = pino({ level: 'silent' });
    const app = createApp({ prometheus: fakePrometheus, checkStatus: async () => ({ ok: true, components: [] }), log, rateLimitPerMinute: 5 });
    const server = createServer(app, null, log, { authenticate: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const get = (path: string) => send(port, { method: 'GET', path, query: '', headers: {}, body: undefined });
      for (let i = 0; i < 5; i++) assert.equal((await get('/api/quotes')).status, 200);
      const limited = await get('/api/quotes');
      assert.equal(limited.status, 429);
      assert.match(JSON.parse(limited.body).error, /requests per minute/);
      for (let i = 0; i < 10; i++) assert.equal((await get('/healthz')).status, 200);
    } finally {
      server.close();
    }
  });

  test('with basic_auth_users: 500 random requests with random credentials are 401 JSON or, with the right ones, well-behaved', async () => {
    const users = new Map([['prometheus', bcrypt.hashSync('right-password', 4)]]);
    const log = pino({ level: 'silent' });
    const app = createApp({ prometheus: fakePrometheus, checkStatus: async () => ({ ok: true, components: [] }), log, users, rateLimitPerMinute: 1e9 });
    const server = createServer(app, null, log, { authenticate: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const good = basicAuthHeader('prometheus', 'right-password').Authorization!;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(hostileRequest, fc.boolean()), { minLength: 20, maxLength: 20 }), async (batch) => {
          const requests = batch.map(([r, authorized]) => (authorized ? { ...r, headers: { ...r.headers, authorization: good } } : r));
          const answers = await Promise.all(requests.map((r) => send(port, r)));
          requests.forEach((r, i) => {
            const a = answers[i]!;
            assertWellBehaved(r, a);
            const open = r.path === '/healthz';
            // Refused before authentication: a request line node cannot parse (400), a URL too long (414).
            // (A HEAD answer has no body to tell; no 400 of the app comes before authentication.)
            const refusedEarlier = a.status === 414 || (a.status === 400 && (r.method === 'HEAD' || JSON.parse(a.body).error === 'malformed request'));
            if (r.headers.authorization !== good && !open && !refusedEarlier)
              assert.equal(a.status, 401, `${r.method} ${r.path}${r.query} ${JSON.stringify(r.headers)} -> ${a.status}`);
          });
        }),
        { numRuns: 25, includeErrorInReport: true },
      );
    } finally {
      server.close();
    }
  });
});
