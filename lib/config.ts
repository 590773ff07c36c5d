import cron from 'node-cron';
import { z } from 'zod';
import { TICKER_PATTERN } from './moex/quote';

/**
 * Environment → typed, validated config, once at start-up. Each service composes the
 * shapes it needs; a bad value stops the process with exit code 2 and one line naming
 * the variable (CONTRACT §2).
 */

const text = (fallback: string) => z.string().trim().default(fallback);

export const httpUrl = (fallback: string) =>
  text(fallback).refine(isHttpUrl, 'must be an http(s) URL').transform((url) => url.replace(/\/+$/, ''));

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export const port = (fallback: number) =>
  text(String(fallback))
    .refine((v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535, 'must be a port number 1-65535')
    .transform(Number);

export const positiveInt = (fallback: number) =>
  text(String(fallback))
    .refine((v) => /^\d+$/.test(v) && Number(v) > 0, 'must be a positive whole number')
    .transform(Number);

export const hostname = (fallback: string) => text(fallback).refine((v) => v !== '' && !/\s/.test(v), 'must be a host name');

const tickers = text('SBERP,SBER,GAZP').transform((value, ctx): readonly string[] | 'ALL' => {
  if (value.toUpperCase() === 'ALL') return 'ALL';
  const list = [...new Set(value.split(',').map((t) => t.trim().toUpperCase()).filter((t) => t !== ''))];
  if (list.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one ticker (comma-separated SECIDs) or ALL' });
    return z.NEVER;
  }
  const bad = list.find((t) => !TICKER_PATTERN.test(t));
  if (bad) {
    ctx.addIssue({ code: 'custom', message: `"${bad}" is not a SECID (letters and digits, at most 12)` });
    return z.NEVER;
  }
  return list;
});

const cronExpression = text('*/30 * * * * *').refine(
  (v) => v !== '' && cron.validate(v),
  'must be a node-cron expression such as "*/30 * * * * *" (seconds first)',
);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What every poller (worker, scraper) needs: where the quotes come from and how often. */
export const moexShape = {
  MOEX_ISS_URL: httpUrl('https://iss.moex.com/iss'),
  MOEX_ENGINE: text('stock').refine((v) => /^[a-z_]+$/.test(v), 'must be an ISS engine name such as stock'),
  MOEX_MARKET: text('shares').refine((v) => /^[a-z_]+$/.test(v), 'must be an ISS market name such as shares'),
  MOEX_BOARD: text('TQBR').refine((v) => /^[A-Z0-9]+$/.test(v), 'must be an ISS board id such as TQBR'),
  MOEX_TICKERS: tickers,
  POLL_SCHEDULE: cronExpression,
  MOEX_TIMEOUT_MS: positiveInt(10_000),
};

export const logShape = {
  LOG_LEVEL: text('info').pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })),
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Validates `env` against `shape`; throws ConfigError for the first bad variable. Empty counts as unset only where a default makes sense. */
export function parseConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv): z.output<z.ZodObject<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) input[key] = env[key];
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  throw new ConfigError(variable, `${issue.message} (got ${JSON.stringify(env[variable] ?? '')})`);
}

/** parseConfig for a service's start-up: a bad value prints one line and exits with code 2. */
export function loadConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.output<z.ZodObject<S>> {
  try {
    return parseConfig(shape, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`config error: ${err.message}\n`);
    process.exit(2);
  }
}
