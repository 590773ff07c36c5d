import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { TICKER_PATTERN } from '../../lib/moex/quote';
import { createAuthGuard } from '../../lib/http-auth';
import type { Logger } from '../../lib/log';
import { AlertStore, alertsRouter } from './alerts';
import { ShortCache } from './cache';
import type { CandleHistory } from './candle-history';
import { historyWindow, parseDurationSeconds } from './durations';
import { httpMetricsMiddleware } from './http-metrics';
import { UpstreamError, type PrometheusClient } from './prometheus-client';
import { OPTION_INDEX_PROMQL, optionChainFromSamples, optionChainPromql, optionIndexFromSamples, type OptionChain, type OptionIndex } from './options';
import { lastPricePromql, QUOTES_PROMQL, quotesAnswerFromSamples, type QuotesAnswer } from './quotes';
import { HttpError, matches, validate, type Check } from './request-schema';
import type { StackStatus } from './status';

export interface BackendDeps {
  prometheus: PrometheusClient;
  checkStatus: () => Promise<StackStatus>;
  log: Logger;
  /** basic_auth_users of the web config (user → bcrypt hash); empty or absent: no authentication. */
  users?: ReadonlyMap<string, string>;
  /** Requests per minute one client may make (everything but /healthz); API_RATE_LIMIT. */
  rateLimitPerMinute: number;
  /** History from InfluxDB candles: for `source=candles`, and for ranges beyond `prometheusRetentionSeconds`. */
  candleHistory?: CandleHistory | null;
  prometheusRetentionSeconds?: number;
}

// backend/public next to the sources (tests run them through tsx) or, from the build in dist/backend/src, at the repo root.
const PUBLIC_DIR = [path.join(__dirname, '..', 'public'), path.join(__dirname, '..', '..', '..', 'backend', 'public')].find((dir) => fs.existsSync(dir))!;
const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
const CACHE_TTL_MS = 1000;
/**
 * The option index counts every option series (ROPD=ALL: ~27,000, about 2 s of Prometheus on this
 * machine under load, against ~0.15 s for one chain), and changes only when ISS lists or delists a
 * series: kept 30 s, refreshed ahead, so no page waits for it after the first.
 */
const OPTION_INDEX_TTL_MS = 30_000;
/** URLs beyond this are refused before any route runs (bodies: each route that reads one limits it, e.g. /api/alerts). */
const MAX_URL_LENGTH = 4096;

const TICKER_CHECK = matches(TICKER_PATTERN, 'ticker must be a SECID: 1-20 letters, digits or _, such as SBER or USD000UTSTOM');
/** SECIDs are matched case-insensitively (futures such as SiZ7); the cache key is the canonical form. */
const canonicalTicker = (req: Request): string => String(req.params.ticker).toUpperCase();
const duration: Check = (v) => (parseDurationSeconds(v) === null ? 'must be a duration such as 30s, 5m, 1h or 7d' : null);
const SCHEMAS = {
  none: validate({}),
  ticker: validate({ params: { ticker: TICKER_CHECK } }),
  history: validate({
    params: { ticker: TICKER_CHECK },
    query: {
      range: (v) => (duration(v) ? `range ${duration(v)}` : null),
      step: (v) => (duration(v) ? `step ${duration(v)}` : null),
      source: (v) => (v === 'prometheus' || v === 'candles' ? null : 'source must be prometheus or candles'),
    },
  }),
  demo: validate({ params: { id: matches(/^[A-Za-z0-9_.-]{1,64}$/, 'id must be 1-64 letters, digits, _ . or -') } }),
  optionChain: validate({
    params: {
      underlying: matches(/^[A-Za-z0-9_]{1,20}$/, 'underlying must be an asset code (1-20 letters, digits or _), such as Si or RTS'),
      expiry: (v) => (isCalendarDate(v) ? null : 'expiry must be a date YYYY-MM-DD, such as 2026-12-17'),
    },
  }),
};

/** `YYYY-MM-DD` naming a day that exists (not 2026-02-30). */
function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const time = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(time) && new Date(time).toISOString().startsWith(text);
}

/** Express wraps this for async routes: a rejection reaches the error handler, never the process. */
type AsyncRoute = (req: Request, res: Response) => Promise<void>;

export function createApp({
  prometheus,
  checkStatus,
  log,
  users,
  rateLimitPerMinute,
  candleHistory = null,
  prometheusRetentionSeconds = Infinity,
}: BackendDeps): express.Express {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const quotesCache = new ShortCache<QuotesAnswer>(CACHE_TTL_MS, 1);
  const historyCache = new ShortCache<Array<[number, number]>>(CACHE_TTL_MS);
  const statusCache = new ShortCache<StackStatus>(CACHE_TTL_MS, 1);
  const optionIndexCache = new ShortCache<OptionIndex>(OPTION_INDEX_TTL_MS, 1);
  const optionChainCache = new ShortCache<OptionChain | null>(CACHE_TTL_MS, 100);

  const answer = () => quotesCache.get('all', async () => quotesAnswerFromSamples(await prometheus.query(QUOTES_PROMQL), Date.now() / 1000));
  const quotes = async () => (await answer()).quotes;
  // /api/quotes serialized once per cached answer, not per request (at MOEX_TICKERS=ALL it is ~70 KB of JSON).
  const quotesBodies = new WeakMap<QuotesAnswer, Buffer>();
  const quotesBody = (list: QuotesAnswer): Buffer => {
    let body = quotesBodies.get(list);
    if (!body) {
      body = Buffer.from(JSON.stringify(list));
      quotesBodies.set(list, body);
    }
    return body;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Plain HTTP, no TLS in front: helmet's default `upgrade-insecure-requests` would make the
  // browser fetch the page's script and API over https and break it on any host but localhost
  // (e.g. http://backend:8998 as the compose stack's Selenium opens it).
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(httpMetricsMiddleware(registry));
  app.use((req, _res, next) => next(req.originalUrl.length > MAX_URL_LENGTH ? new HttpError(414, `URL longer than ${MAX_URL_LENGTH} characters`) : undefined));
  // Per client address, before authentication: a password guesser pays with its quota, not our CPU (bcrypt).
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: rateLimitPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      skip: (req) => req.path === '/healthz',
      // No proxy in front by default: X-Forwarded-For is the client's own claim, ignored (not an error to log).
      validate: { xForwardedForHeader: false },
      handler: (_req, _res, next) => next(new HttpError(429, `more than ${rateLimitPerMinute} requests per minute from this client; retry later`)),
    }),
  );
  if (users && users.size > 0) app.use(createAuthGuard(users, log));
  // No CORS here: Express's automatic OPTIONS answer (text/plain) is replaced by a JSON 405.
  app.use((req, _res, next) => next(req.method === 'OPTIONS' ? new HttpError(405, 'method not allowed') : undefined));

  app.get('/healthz', SCHEMAS.none, (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', SCHEMAS.none, (async (_req, res) => {
    const ready = await prometheus.readiness().then(
      (status) => status === 200,
      () => false,
    );
    res.status(ready ? 200 : 503).json(ready ? { status: 'ready' } : { status: 'not ready', reason: 'Prometheus is not reachable' });
  }) as AsyncRoute);

  app.get('/metrics', SCHEMAS.none, (async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  }) as AsyncRoute);

  app.get('/api/quotes', SCHEMAS.none, (async (_req, res) => {
    res.type('application/json').send(quotesBody(await answer()));
  }) as AsyncRoute);

  app.get('/api/quotes/:ticker', SCHEMAS.ticker, (async (req, res) => {
    const ticker = canonicalTicker(req);
    const quote = (await quotes()).find((q) => q.ticker.toUpperCase() === ticker);
    if (!quote) throw new HttpError(404, `no quote for ${ticker}`);
    res.json(quote);
  }) as AsyncRoute);

  app.get('/api/quotes/:ticker/history', SCHEMAS.history, (async (req, res) => {
    const ticker = canonicalTicker(req);
    const window = historyWindow(req.query.range ?? '1h', req.query.step ?? '30s');
    if (!window.ok) throw new HttpError(400, window.error);
    const { rangeSeconds, stepSeconds } = window;
    const source = req.query.source ?? (rangeSeconds > prometheusRetentionSeconds && candleHistory ? 'candles' : 'prometheus');
    if (source === 'candles' && !candleHistory) throw new HttpError(400, 'no candle history: INFLUX_URL=off');
    const points = await historyCache.get(`${ticker} ${rangeSeconds} ${stepSeconds} ${source}`, async () => {
      if (source === 'candles') return candleHistory!(ticker, rangeSeconds, stepSeconds);
      // Aligned to the step so that repeated requests ask Prometheus the same question; rounded up,
      // so the last point is the latest value rather than one up to a step old (or none on a young series).
      const end = Math.ceil(Date.now() / 1000 / stepSeconds) * stepSeconds;
      const series = await prometheus.queryRange(lastPricePromql(ticker), end - rangeSeconds, end, stepSeconds);
      return (series[0]?.values ?? []).map(([t, v]): [number, number] => [t, Number(v)]);
    });
    if (points.length === 0 && !(await quotes()).some((q) => q.ticker.toUpperCase() === ticker)) throw new HttpError(404, `no quote for ${ticker}`);
    res.json({ ticker, points });
  }) as AsyncRoute);

  // Options one chain at a time (options.ts): the index is a count, never a list of the series.
  app.get('/api/options', SCHEMAS.none, (async (_req, res) => {
    res.json(await optionIndexCache.get('index', async () => optionIndexFromSamples(await prometheus.query(OPTION_INDEX_PROMQL))));
  }) as AsyncRoute);

  app.get('/api/options/:underlying/:expiry', SCHEMAS.optionChain, (async (req, res) => {
    const [underlying, expiry] = [String(req.params.underlying), String(req.params.expiry)];
    const chain = await optionChainCache.get(`${underlying.toUpperCase()} ${expiry}`, async () =>
      optionChainFromSamples(await prometheus.query(optionChainPromql(underlying, expiry))),
    );
    if (!chain) throw new HttpError(404, `no option series of ${underlying} expiring ${expiry} (GET /api/options lists those polled)`);
    res.json(chain);
  }) as AsyncRoute);

  app.get('/api/status', SCHEMAS.none, (async (_req, res) => {
    res.json(await statusCache.get('status', checkStatus));
  }) as AsyncRoute);

  // Alertmanager's notifications (webhook receiver) and the page's alerts panel.
  app.use(alertsRouter(new AlertStore()));

  // The original example's latency demo: a random delay under a second, so dashboards have latency to show.
  app.get('/api/demo/:id', SCHEMAS.demo, (async (req, res) => {
    const id = String(req.params.id);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
    res.json({ id });
  }) as AsyncRoute);

  app.use('/vendor/uplot', express.static(UPLOT_DIR, { maxAge: '1d', index: false, redirect: false }));
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0, redirect: false }));

  app.use('/api', (req, _res, next) => next(new HttpError(404, `no route ${req.method} ${req.baseUrl}${req.path}`)));
  app.use((req, _res, next) => next(new HttpError(404, `no route ${req.method} ${req.path}`)));

  // Every error is JSON with the right status; stack traces stay in the log.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let status = 500;
    let message = 'internal error';
    if (err instanceof HttpError) [status, message] = [err.status, err.message];
    else if (err instanceof UpstreamError) [status, message] = [503, err.message];
    else if (err instanceof URIError) [status, message] = [400, 'malformed URL'];
    else if (isClientError(err)) [status, message] = [err.status, err.expose && err.status !== 400 ? err.message : 'malformed request'];
    else log.error({ err, path: req.path }, 'request failed');
    // A static file's headers may already be set (send sets Content-Type before a 416): the error is JSON.
    res.removeHeader('Content-Range');
    res.status(status).type('application/json').json({ error: message });
  });
  return app;
}

/** body-parser's and the router's own refusals (400 bad JSON, 413 too large, 415 charset...): http-errors objects. */
function isClientError(err: unknown): err is { status: number; expose?: boolean; message: string } {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
