import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { PollError } from './errors';
import type { TickerSelection } from './parse';

export interface BoardLocation {
  issUrl: string;
  engine: string;
  market: string;
  board: string;
}

export interface IssClientOptions extends BoardLocation {
  tickers: TickerSelection;
  timeoutMs: number;
  /** Retries after the first attempt, on network errors, 5xx and 429. */
  maxRetries?: number;
  /** First backoff delay; doubles each retry, with jitter. */
  backoffMs?: number;
  /** A Retry-After longer than this is not waited for: the poll fails and the next cycle tries again. */
  maxRetryAfterMs?: number;
  /** MOEX_ISS_TOKEN: sent as `Authorization: Bearer` (MOEX's authenticated host); never logged. */
  token?: string;
}

const USER_AGENT = 'moex-monitoring/0.1 (+https://github.com/moex-monitoring; Prometheus/Graphite/InfluxDB exporter)';

/** The ISS request for one board: every requested ticker in one call (docs/iss.md). */
export function boardSnapshotUrl(location: BoardLocation, tickers: TickerSelection): string {
  const { issUrl, engine, market, board } = location;
  const params = new URLSearchParams({ 'iss.meta': 'off', 'iss.only': 'securities,marketdata' });
  if (tickers !== 'ALL') params.set('securities', tickers.join(','));
  const path = `/engines/${encodeURIComponent(engine)}/markets/${encodeURIComponent(market)}/boards/${encodeURIComponent(board)}/securities.json`;
  return `${issUrl}${path}?${params.toString().replace(/%2C/g, ',')}`;
}

/** Retry-After as milliseconds: either delta-seconds or an HTTP date. */
export function retryAfterMs(header: unknown, now = Date.now()): number | null {
  if (typeof header !== 'string' || header.trim() === '') return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

interface IssAnswer {
  status: number;
  retryAfter: string | undefined;
  contentType: string;
  body: string;
  /** Answered by this project's ISS simulator (header X-MOEX-Simulator), not by MOEX. */
  simulated: boolean;
}

/**
 * One GET with Node's own http/https (axios cost each poller about 8 MB of resident memory, a tenth
 * of its budget at MOEX_TICKERS=ALL). Asks for gzip, which ISS supports: its ALL answer shrinks ~8x.
 * `signal` bounds the whole exchange, body included.
 */
function getText(url: URL, agent: http.Agent, headers: http.OutgoingHttpHeaders, signal: AbortSignal): Promise<IssAnswer> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(
      url,
      { agent, signal, headers },
      (response) => {
        const encoding = response.headers['content-encoding'];
        const body = encoding === 'gzip' ? response.pipe(zlib.createGunzip()) : encoding === 'deflate' ? response.pipe(zlib.createInflate()) : response;
        const chunks: Buffer[] = [];
        body.on('data', (chunk: Buffer) => chunks.push(chunk));
        body.on('error', reject);
        response.on('error', reject);
        response.on('aborted', () => reject(new Error('ECONNRESET')));
        body.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'],
            contentType: String(response.headers['content-type'] ?? ''),
            simulated: response.headers['x-moex-simulator'] === '1',
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fetches one board snapshot from ISS and returns its JSON; throws PollError with the failure reason.
 * `fetchJson` makes any other ISS GET (candles) the same way: same agent, token, timeout, retries.
 */
export function createIssClient(options: IssClientOptions): {
  url: string;
  fetchBoardSnapshot(): Promise<unknown>;
  fetchJson(url: string): Promise<unknown>;
  lastAnswerSimulated(): boolean;
} {
  const { timeoutMs, maxRetries = 2, backoffMs = 500, maxRetryAfterMs = 10_000, token } = options;
  const url = boardSnapshotUrl(options, options.tickers);
  const target = new URL(url);
  const agent = new (target.protocol === 'https:' ? https : http).Agent({ keepAlive: true });
  const headers: http.OutgoingHttpHeaders = { 'User-Agent': USER_AGENT, Accept: 'application/json', 'Accept-Encoding': 'gzip, deflate' };
  if (token) headers.Authorization = `Bearer ${token}`;

  /** One attempt: the parsed JSON, or a PollError saying whether another attempt may help and when. */
  let simulated = false;

  async function attempt(url: URL): Promise<{ json: unknown } | { error: PollError; retryable: boolean; waitMs: number | null }> {
    const signal = AbortSignal.timeout(timeoutMs);
    let answer: IssAnswer;
    try {
      answer = await getText(url, agent, headers, signal);
    } catch (err) {
      if (signal.aborted) {
        // A timeout is not retried: ISS was slow once already, and the retries would push the poll past its slot.
        return { error: new PollError('timeout', `ISS did not answer within ${timeoutMs} ms`), retryable: false, waitMs: null };
      }
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return { error: new PollError('network', `ISS unreachable: ${code}`), retryable: true, waitMs: null };
    }
    if (answer.status === 401 || (answer.status === 403 && !/too many requests/i.test(answer.body))) {
      const problem = token ? 'refused the token (MOEX_ISS_TOKEN): check it and its subscription' : 'requires a token: set MOEX_ISS_TOKEN or MOEX_ISS_TOKEN_FILE';
      return { error: new PollError('auth', `ISS answered HTTP ${answer.status}: it ${problem}`), retryable: false, waitMs: null };
    }
    if (answer.status >= 400) {
      // MOEX's API gateway answers a rate limit as 403 "Too Many Requests": back off as for 429.
      const retryable = answer.status >= 500 || answer.status === 429 || answer.status === 403;
      return { error: new PollError('http', `ISS answered HTTP ${answer.status}`), retryable, waitMs: retryAfterMs(answer.retryAfter) };
    }
    simulated = answer.simulated;
    return { json: parseJsonBody(answer.body, answer.contentType) };
  }

  async function fetchUrl(url: URL): Promise<unknown> {
    for (let retry = 0; ; retry++) {
      const result = await attempt(url);
      if ('json' in result) return result.json;
      const { error, retryable, waitMs } = result;
      if (!retryable || retry >= maxRetries || (waitMs !== null && waitMs > maxRetryAfterMs)) throw error;
      const backoff = backoffMs * 2 ** retry * (0.5 + Math.random() / 2);
      await sleep(Math.max(backoff, waitMs ?? 0));
    }
  }
  return { url, fetchBoardSnapshot: () => fetchUrl(target), fetchJson: (other) => fetchUrl(new URL(other)), lastAnswerSimulated: () => simulated };
}

function parseJsonBody(body: string, contentType: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    const kind = contentType.includes('html') || /^\s*</.test(body) ? 'an HTML page' : 'malformed JSON';
    throw new PollError('parse', `ISS answered ${kind} instead of JSON`);
  }
}
