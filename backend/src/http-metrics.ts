import type { NextFunction, Request, Response } from 'express';
import { Histogram, type Registry } from 'prom-client';

/**
 * http_request_duration_seconds{method,route,status_code}, labelled with the route template
 * (`/api/quotes/:ticker`), never the raw path, so label cardinality stays bounded.
 */
export function httpMetricsMiddleware(registry: Registry) {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Backend request latency by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      const template = req.route?.path as string | undefined;
      const route = template ? `${req.baseUrl}${template}` : res.statusCode === 404 ? 'unmatched' : 'static';
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}
