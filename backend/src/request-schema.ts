import type { NextFunction, Request, Response } from 'express';

/**
 * One schema per route: the path and query parameters it takes and how each is checked. Anything
 * else (an unknown parameter, one given twice, a value its check refuses) is a 400 before the
 * route runs, so a handler only ever sees strings it has declared. Hand-written, not zod: the
 * backend needs a few string checks, and zod costs ~6 MB of RSS (bench, docs/BENCHMARKS.md).
 */

/** A check: null when the value is acceptable, else why not (shown to the client). */
export type Check = (value: string) => string | null;

export interface RouteSchema {
  params?: Record<string, Check>;
  query?: Record<string, Check>;
}

/** An answer other than 2xx, with the message the client sees. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const matches =
  (pattern: RegExp, message: string): Check =>
  (value) =>
    pattern.test(value) ? null : message;

function checkAll(where: string, values: Record<string, unknown>, checks: Record<string, Check>): void {
  for (const [name, value] of Object.entries(values)) {
    const check = Object.hasOwn(checks, name) ? checks[name] : undefined;
    // The name is not echoed: it is whatever the client sent, of any length.
    if (!check) throw new HttpError(400, `unknown ${where} parameter (this route takes ${Object.keys(checks).join(', ') || 'none'})`);
    if (typeof value !== 'string') throw new HttpError(400, `${where} parameter ${name} must be given once`);
    const problem = check(value);
    if (problem) throw new HttpError(400, problem);
  }
}

/** Express middleware that refuses a request the route's schema does not allow. */
export function validate(schema: RouteSchema) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    try {
      checkAll('path', req.params ?? {}, schema.params ?? {});
      checkAll('query', (req.query ?? {}) as Record<string, unknown>, schema.query ?? {});
      next();
    } catch (err) {
      next(err);
    }
  };
}
