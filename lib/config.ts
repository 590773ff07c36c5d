import fs from 'node:fs';
import cron from 'node-cron';
import { marketKindOf, SUPPORTED_MARKETS, type BoardSource, type MarketKind } from './moex/markets';
import { parseOptionSelection } from './moex/options';
import type { Shard } from './moex/shard';
import { TICKER_PATTERN } from './moex/quote';

/**
 * Environment → typed, validated config, once at start-up. Each service composes the shapes it
 * needs; a bad value stops the process with exit code 2 and one line naming the variable
 * (docs/configuration.md, generated from the shapes and their `doc` lines).
 *
 * Hand-written rather than zod: these few string checks are all the services need, and loading zod
 * costs each process about 6 MB of resident memory (bench: the 80 MB target at MOEX_TICKERS=ALL).
 */

/** Reads one variable: its raw value (undefined when unset) → the typed value, or throws a Problem. */
export type Setting<T> = (raw: string | undefined) => T;

/** Why a value is refused; parseConfig adds the variable's name and the value. */
export class Problem extends Error {}

/** The value as given (trimmed), or the default when the variable is unset. */
export const text =
  (fallback: string): Setting<string> =>
  (raw) =>
    (raw ?? fallback).trim();

/** `setting`'s value, refused with `message` unless `ok` holds for it. */
export const check =
  <T>(setting: Setting<T>, ok: (value: T) => boolean, message: string): Setting<T> =>
  (raw) => {
    const value = setting(raw);
    if (!ok(value)) throw new Problem(message);
    return value;
  };

/** Settings whose value is never echoed in an error line (passwords, tokens). */
const SECRET_SETTINGS = new WeakSet<Setting<unknown>>();

/** A password or token: like `text`, but a refused value is never printed. */
export function secret(fallback = ''): Setting<string> {
  const setting = text(fallback);
  SECRET_SETTINGS.add(setting);
  return setting;
}

/** Each documented setting's one-line meaning: docs/configuration.md is generated from it. */
const DOCS = new WeakMap<Setting<unknown>, string>();

/**
 * `setting` with its one-line meaning, as every variable of a config shape is declared:
 * `MOEX_TIMEOUT_MS: doc('timeout of one ISS request', positiveInt(10_000))`. A new setting object,
 * so one setting may serve two variables with two meanings; a secret stays secret.
 */
export function doc<T>(meaning: string, setting: Setting<T>): Setting<T> {
  const documented: Setting<T> = (raw) => setting(raw);
  if (SECRET_SETTINGS.has(setting)) SECRET_SETTINGS.add(documented);
  DOCS.set(documented, meaning);
  return documented;
}

/** The meaning `doc` gave a setting; undefined for an undocumented one. */
export const docOf = (setting: Setting<unknown>): string | undefined => DOCS.get(setting);

/** Whether a refused value of this setting is kept out of error lines (a password or token). */
export const isSecret = (setting: Setting<unknown>): boolean => SECRET_SETTINGS.has(setting);

export const matching = (fallback: string, pattern: RegExp, message: string) => check(text(fallback), (v) => pattern.test(v), message);

export const nonEmpty = (fallback: string, message: string) => check(text(fallback), (v) => v !== '', message);

export const oneOf =
  <const V extends string>(fallback: V, values: readonly V[], message = `must be one of ${values.join(', ')}`): Setting<V> =>
  (raw) => {
    const value = text(fallback)(raw);
    if (!(values as readonly string[]).includes(value)) throw new Problem(message);
    return value as V;
  };

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

export const httpUrl =
  (fallback: string): Setting<string> =>
  (raw) =>
    withoutTrailingSlash(check(text(fallback), isHttpUrl, 'must be an http(s) URL')(raw));

/** An http(s) URL, or `off` to disable what it points at. */
export const httpUrlOrOff =
  (fallback: string): Setting<string> =>
  (raw) =>
    withoutTrailingSlash(check(text(fallback), (v) => v === 'off' || isHttpUrl(v), 'must be an http(s) URL or off')(raw));

const wholeNumber =
  (fallback: number, ok: (n: number) => boolean, message: string): Setting<number> =>
  (raw) =>
    Number(check(text(String(fallback)), (v) => /^\d+$/.test(v) && ok(Number(v)), message)(raw));

export const port = (fallback: number) => wholeNumber(fallback, (n) => n >= 1 && n <= 65535, 'must be a port number 1-65535');

export const positiveInt = (fallback: number) => wholeNumber(fallback, (n) => n > 0, 'must be a positive whole number');

export const nonNegativeInt = (fallback: number) => wholeNumber(fallback, () => true, 'must be a whole number (0 or more)');

export const hostname = (fallback: string) => check(text(fallback), (v) => v !== '' && !/\s/.test(v), 'must be a host name');

export const graphitePrefix = (fallback: string) =>
  matching(fallback, /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated Graphite nodes such as stocks');

/** A comma list of SECIDs (trimmed, upper-cased, de-duplicated) or ALL; what `where` says names the entry. */
export function tickerList(value: string, where = ''): readonly string[] | 'ALL' {
  if (value.trim().toUpperCase() === 'ALL') return 'ALL';
  const list = [
    ...new Set(
      value
        .split(',')
        .map((t) => t.trim().toUpperCase())
        .filter((t) => t !== ''),
    ),
  ];
  if (list.length === 0) throw new Problem(`${where}must list at least one ticker (comma-separated SECIDs) or ALL`);
  const bad = list.find((t) => !TICKER_PATTERN.test(t));
  if (bad) throw new Problem(`${where}"${bad}" is not a SECID (letters, digits and _, at most 20)`);
  return list;
}

/**
 * What a MOEX_SOURCES entry selects: a SECID list or ALL on every board; on an options board also
 * `ASSET,ASSET@N` (lib/moex/options.ts): the whole board, narrowed to those assets' nearest N expiries.
 */
function boardSelection(kind: MarketKind, value: string, where: string): Pick<BoardSource, 'tickers' | 'optionSelection'> {
  if (!value.includes('@')) return { tickers: tickerList(value, where) };
  if (kind !== 'options') throw new Problem(`${where}ASSET@N selects option series; this board takes a comma list of SECIDs or ALL`);
  try {
    return { tickers: 'ALL', optionSelection: parseOptionSelection(value)! };
  } catch (err) {
    throw new Problem(`${where}${(err as Error).message}`);
  }
}

const tickers: Setting<readonly string[] | 'ALL'> = (raw) => tickerList(text('SBERP,SBER,GAZP')(raw));

const SOURCE_PATTERN = /^([a-z_]+)\/([a-z_]+)\/([A-Za-z0-9_]+)=(.*)$/;

/**
 * MOEX_SOURCES: `engine/market/board=TICKERS` entries separated by `;` (TICKERS a comma list or
 * ALL); null when unset, so the single board of MOEX_ENGINE/MARKET/BOARD/TICKERS applies.
 */
const sources: Setting<BoardSource[] | null> = (raw) => {
  if (raw === undefined || raw.trim() === '') return null;
  const list: BoardSource[] = [];
  for (const entry of raw
    .split(';')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const m = SOURCE_PATTERN.exec(entry);
    if (!m) throw new Problem(`entry "${entry}" is not engine/market/board=TICKERS (e.g. currency/selt/CETS=USD000UTSTOM)`);
    const [, engine, market, boardId, tickerText] = m as unknown as [string, string, string, string, string];
    const kind = marketKindOf(engine, market);
    if (!kind) throw new Problem(`entry "${entry}": market ${engine}/${market} is not supported (supported: ${SUPPORTED_MARKETS.join(', ')})`);
    const board = boardId.toUpperCase();
    if (list.some((s) => s.board === board)) throw new Problem(`entry "${entry}": board ${board} is listed twice`);
    list.push({ engine, market, board, kind, ...boardSelection(kind, tickerText, `entry "${entry}": `) });
  }
  if (list.length === 0) throw new Problem('must list at least one engine/market/board=TICKERS entry');
  return list;
};

/**
 * MOEX_SHARD `i/N` (0 ≤ i < N): poll only shard i of N of the configured instruments; `auto/N`:
 * take a free shard by a claim in MOEX_SHARD_CLAIM_DIR (identical replicas); unset = all.
 */
const shard: Setting<Shard | { auto: true; count: number } | null> = (raw) => {
  if (raw === undefined || raw.trim() === '') return null;
  const m = /^(\d+|auto)\/(\d+)$/.exec(raw.trim());
  const count = Number(m?.[2]);
  if (m && m[1] === 'auto' && count >= 1) return { auto: true, count };
  const index = Number(m?.[1]);
  if (!m || count < 1 || !(index < count)) throw new Problem('must be i/N with 0 <= i < N (e.g. 0/2 and 1/2 for two shards) or auto/N');
  return { index, count };
};

const isCronExpression = (v: string) => v !== '' && cron.validate(v);

export const cronExpression = (fallback: string) =>
  check(text(fallback), isCronExpression, `must be a node-cron expression such as "${fallback}" (seconds first)`);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What every poller (worker, scraper) needs: where the quotes come from and how often. */
export const moexShape = {
  MOEX_ISS_URL: doc(
    "ISS base URL (the simulator: http://127.0.0.1:8999/iss; the subscribers' host: https://apim.moex.com/iss)",
    httpUrl('https://iss.moex.com/iss'),
  ),
  MOEX_ENGINE: doc('ISS engine of the one board polled without MOEX_SOURCES', matching('stock', /^[a-z_]+$/, 'must be an ISS engine name such as stock')),
  MOEX_MARKET: doc('ISS market of that board', matching('shares', /^[a-z_]+$/, 'must be an ISS market name such as shares')),
  MOEX_BOARD: doc('ISS board id of that board', matching('TQBR', /^[A-Z0-9]+$/, 'must be an ISS board id such as TQBR')),
  MOEX_TICKERS: doc('comma list of SECIDs on that board; ALL = every security of the board', tickers),
  MOEX_SOURCES: doc(
    "several boards of any market: `;`-list of engine/market/board=TICKERS (TICKERS a comma list or ALL; on futures/options also ASSET,ASSET@N: those assets' nearest N expiries), e.g. stock/shares/TQBR=SBER;currency/selt/CETS=USD000UTSTOM;futures/options/ROPD=Si,RTS@2; unset: the one board above",
    sources,
  ),
  MOEX_SHARD: doc(
    'i/N (0 <= i < N): poll only shard i of N of the instruments (stable hashing by board and SECID); auto/N: claim a free shard; unset: all',
    shard,
  ),
  MOEX_SHARD_CLAIM_DIR: doc('where MOEX_SHARD=auto/N replicas claim their shards: a directory they all share', text('')),
  POLL_SCHEDULE: doc('node-cron expression, 6 fields, seconds first; a cycle never overlaps the previous one', cronExpression('*/30 * * * * *')),
  MOEX_OPTION_GREEKS_SCHEDULE: doc(
    'node-cron schedule of the Options Calculator refresh (greeks and IV of the polled option series; only with an options board), or off',
    check(text('20 * * * * *'), (v) => v === 'off' || isCronExpression(v), 'must be a node-cron expression such as "20 * * * * *" (seconds first) or off'),
  ),
  MOEX_TIMEOUT_MS: doc('timeout of one ISS request, milliseconds', positiveInt(10_000)),
  MOEX_ISS_TOKEN: doc("sent as Authorization: Bearer on every ISS request (MOEX's authenticated API, real time for subscribers); never logged", secret()),
  MOEX_ISS_MAX_RPS: doc(
    "the process's ISS request budget: at most this many requests (boards, candles, calendar, datasets) in any second",
    check(positiveInt(5), (n) => n <= 1000, 'must be a whole number of requests per second, 1-1000'),
  ),
};

const isWebSocketUrl = (value: string) => {
  try {
    const url = new URL(value);
    return url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
};

/** ISS+, MOEX's STOMP stream beside the poll (docs/iss.md "ISS+"): the worker's and the scraper's. */
export const streamShape = {
  MOEX_STREAM: doc(
    'issplus: quotes also from the ISS+ stream (STOMP over WebSocket) as they happen, beside the poll; off: the poll alone',
    oneOf('off', ['off', 'issplus']),
  ),
  MOEX_STREAM_URL: doc(
    'the ISS+ WebSocket (the simulator: ws://127.0.0.1:8999/infocx/v3/websocket)',
    check(text('wss://iss.moex.com/infocx/v3/websocket'), isWebSocketUrl, 'must be a ws(s) URL'),
  ),
  MOEX_STREAM_DOMAIN: doc(
    'ISS+ CONNECT domain: DEMO for guests (15 min delayed), passport for subscribers',
    nonEmpty('DEMO', 'must name a domain such as DEMO or passport'),
  ),
  MOEX_STREAM_LOGIN: doc("ISS+ login: guest, or a subscriber's MOEX account", nonEmpty('guest', 'must name a login (guest for the guest access)')),
  MOEX_STREAM_PASSCODE: doc("ISS+ password (guest for guests; a subscriber's in MOEX_STREAM_PASSCODE_FILE); never logged", secret('guest')),
};

/** The boards to poll: MOEX_SOURCES, or the one board of MOEX_ENGINE/MARKET/BOARD/TICKERS. */
export function boardSources(config: ConfigOf<typeof moexShape>): BoardSource[] {
  if (config.MOEX_SOURCES) return config.MOEX_SOURCES;
  const kind = marketKindOf(config.MOEX_ENGINE, config.MOEX_MARKET);
  if (!kind) {
    throw new ConfigError('MOEX_MARKET', `market ${config.MOEX_ENGINE}/${config.MOEX_MARKET} is not supported (supported: ${SUPPORTED_MARKETS.join(', ')})`);
  }
  return [{ engine: config.MOEX_ENGINE, market: config.MOEX_MARKET, board: config.MOEX_BOARD, kind, tickers: config.MOEX_TICKERS }];
}

export const logShape = {
  LOG_LEVEL: doc('JSON logs on stdout from this level up: fatal, error, warn, info, debug, trace, or silent', oneOf('info', LOG_LEVELS)),
};

export type ConfigShape = Record<string, Setting<unknown>>;
export type ConfigOf<S extends ConfigShape> = { [K in keyof S]: ReturnType<S[K]> };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * The raw value of `variable`: from the environment, or (the Docker secrets convention) from the
 * file that `<variable>_FILE` names, without its trailing newline. Setting both is refused.
 */
function rawValue(variable: string, env: NodeJS.ProcessEnv): { raw: string | undefined; fromFile: boolean } {
  const fileVariable = `${variable}_FILE`;
  const file = env[fileVariable];
  if (file === undefined || file === '') return { raw: env[variable], fromFile: false };
  if (env[variable] !== undefined) throw new ConfigError(variable, `set either ${variable} or ${fileVariable}, not both`);
  try {
    return { raw: fs.readFileSync(file, 'utf8').replace(/\r?\n$/, ''), fromFile: true };
  } catch (err) {
    throw new ConfigError(fileVariable, `cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Reads every variable of `shape` from `env`; throws ConfigError for the first bad one. */
export function parseConfig<S extends ConfigShape>(shape: S, env: NodeJS.ProcessEnv): ConfigOf<S> {
  const config: Record<string, unknown> = {};
  for (const [variable, setting] of Object.entries(shape)) {
    const { raw, fromFile } = rawValue(variable, env);
    try {
      config[variable] = setting(raw);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      // A secret, or anything read from a secret file, is never echoed back into a log.
      const shown = fromFile || SECRET_SETTINGS.has(setting) ? '' : ` (got ${JSON.stringify(raw ?? '')})`;
      throw new ConfigError(variable, `${err.message}${shown}`);
    }
  }
  return config as ConfigOf<S>;
}

/** Runs a start-up config step: a ConfigError prints one line and exits with code 2. */
export function configOrExit<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`config error: ${err.message}\n`);
    process.exit(2);
  }
}

/** parseConfig for a service's start-up: a bad value prints one line and exits with code 2. */
export function loadConfig<S extends ConfigShape>(shape: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  return configOrExit(() => parseConfig(shape, env));
}
