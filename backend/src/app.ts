import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { TICKER_PATTERN } from '../../lib/moex/quote';
import type { Logger } from '../../lib/log';
import { AlertStore, alertsRouter } from './alerts';
import { ShortCache } from './cache';
import { historyWindow } from './durations';
import { httpMetricsMiddleware } from './http-metrics';
import { UpstreamError, type PrometheusClient } from './prometheus-client';
import { lastPricePromql, QUOTES_PROMQL, quotesAnswerFromSamples, type QuotesAnswer } from './quotes';
import type { StackStatus } from './status';

export interface BackendDeps {
  prometheus: PrometheusClient;
  checkStatus: () => Promise<StackStatus>;
  log: Logger;
}

// backend/public next to the sources (tests run them through tsx) or, from the build in dist/backend/src, at the repo root.
const PUBLIC_DIR = [path.join(__dirname, '..', 'public'), path.join(__dirname, '..', '..', '..', 'backend', 'public')].find((dir) => fs.existsSync(dir))!;
const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
const CACHE_TTL_MS = 1000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Express wraps this for async routes: a rejection reaches the error handler, never the process. */
type AsyncRoute = (req: Request, res: Response) => Promise<void>;

export function createApp({ prometheus, checkStatus, log }: BackendDeps): express.Express {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const quotesCache = new ShortCache<QuotesAnswer>(CACHE_TTL_MS, 1);
  const historyCache = new ShortCache<Array<[number, number]>>(CACHE_TTL_MS);
  const statusCache = new ShortCache<StackStatus>(CACHE_TTL_MS, 1);

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

  const validTicker = (req: Request): string => {
    const ticker = String(req.params.ticker);
    if (!TICKER_PATTERN.test(ticker)) throw new HttpError(400, 'ticker must be a SECID: 1-20 letters, digits or _, such as SBER or USD000UTSTOM');
    // SECIDs are matched case-insensitively (futures such as SiZ7); the cache key is the canonical form.
    return ticker.toUpperCase();
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Plain HTTP, no TLS in front: helmet's default `upgrade-insecure-requests` would make the
  // browser fetch the page's script and API over https and break it on any host but localhost
  // (e.g. http://backend:8998 as the compose stack's Selenium opens it).
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(httpMetricsMiddleware(registry));

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (async (_req, res) => {
    const ready = await prometheus.readiness().then((status) => status === 200, () => false);
    res.status(ready ? 200 : 503).json(ready ? { status: 'ready' } : { status: 'not ready', reason: 'Prometheus is not reachable' });
  }) as AsyncRoute);

  app.get('/metrics', (async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  }) as AsyncRoute);

  app.get('/api/quotes', (async (_req, res) => {
    res.type('application/json').send(quotesBody(await answer()));
  }) as AsyncRoute);

  app.get('/api/quotes/:ticker', (async (req, res) => {
    const ticker = validTicker(req);
    const quote = (await quotes()).find((q) => q.ticker.toUpperCase() === ticker);
    if (!quote) throw new HttpError(404, `no quote for ${ticker}`);
    res.json(quote);
  }) as AsyncRoute);

  app.get('/api/quotes/:ticker/history', (async (req, res) => {
    const ticker = validTicker(req);
    const window = historyWindow(req.query.range ?? '1h', req.query.step ?? '30s');
    if (!window.ok) throw new HttpError(400, window.error);
    const { rangeSeconds, stepSeconds } = window;
    const points = await historyCache.get(`${ticker} ${rangeSeconds} ${stepSeconds}`, async () => {
      // Aligned to the step so that repeated requests ask Prometheus the same question; rounded up,
      // so the last point is the latest value rather than one up to a step old (or none on a young series).
      const end = Math.ceil(Date.now() / 1000 / stepSeconds) * stepSeconds;
      const series = await prometheus.queryRange(lastPricePromql(ticker), end - rangeSeconds, end, stepSeconds);
      return (series[0]?.values ?? []).map(([t, v]): [number, number] => [t, Number(v)]);
    });
    if (points.length === 0 && !(await quotes()).some((q) => q.ticker.toUpperCase() === ticker)) throw new HttpError(404, `no quote for ${ticker}`);
    res.json({ ticker, points });
  }) as AsyncRoute);

  app.get('/api/status', (async (_req, res) => {
    res.json(await statusCache.get('status', checkStatus));
  }) as AsyncRoute);

  // Alertmanager's notifications (webhook receiver) and the page's alerts panel.
  app.use(alertsRouter(new AlertStore()));

  // The original example's latency demo: a random delay under a second, so dashboards have latency to show.
  app.get('/api/demo/:id', (async (req, res) => {
    const id = String(req.params.id).slice(0, 64);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000));
    res.json({ id });
  }) as AsyncRoute);

  app.use('/vendor/uplot', express.static(UPLOT_DIR, { maxAge: '1d', index: false }));
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));

  app.use('/api', (req, _res, next) => next(new HttpError(404, `no route ${req.method} ${req.baseUrl}${req.path}`)));
  app.use((req, _res, next) => next(new HttpError(404, `no route ${req.method} ${req.path}`)));

  // Every error is JSON with the right status; stack traces stay in the log.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let status = 500;
    let message = 'internal error';
    if (err instanceof HttpError) [status, message] = [err.status, err.message];
    else if (err instanceof UpstreamError) [status, message] = [503, err.message];
    else if (err instanceof URIError || (err as { status?: number }).status === 400) [status, message] = [400, 'malformed URL'];
    else log.error({ err, path: req.path }, 'request failed');
    res.status(status).json({ error: message });
  });
  return app;
}
