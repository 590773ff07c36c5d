import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { PollError } from './errors';
import type { IssRequest, IssRequestKind } from './iss-requests';
import type { RequestLimiter } from './request-limiter';

/** What the transport tells its owner about each request (moex_iss_requests_total, the limiter's wait). */
export interface IssRequestMetrics {
  /** One HTTP exchange with ISS (each retry is one more); `result` ok, or the failure's reason. */
  requestMade(kind: IssRequestKind, result: 'ok' | PollError['reason']): void;
  limiterWaited(kind: IssRequestKind, seconds: number): void;
}

export interface IssTransportOptions {
  timeoutMs: number;
  /** The process's one request budget: every attempt, retries included, waits for it. */
  limiter: RequestLimiter;
  metrics?: IssRequestMetrics;
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

/** Retry-After as milliseconds: either delta-seconds or an HTTP date. */
export function retryAfterMs(header: unknown, now = Date.now()): number | null {
  if (typeof header !== 'string' || header.trim() === '') return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

interface HttpAnswer {
  status: number;
  retryAfter: string | undefined;
  contentType: string;
  body: string;
  /** Answered by this project's ISS simulator (header X-MOEX-Simulator), not by MOEX. */
  simulated: boolean;
}

/**
 * One GET with Node's own http/https, not axios: axios cost each poller 6-8 MB of resident memory,
 * which put the scraper over bench part 2's 80 MB at MOEX_TICKERS=ALL and the worker within 0.4 MB
 * of it (docs/BENCHMARKS.md, "hot-shots and axios"). Asks for gzip, which ISS supports: its ALL
 * answer shrinks ~8x.
 * `signal` bounds the whole exchange, body included.
 */
function getText(url: URL, agent: http.Agent, headers: http.OutgoingHttpHeaders, signal: AbortSignal): Promise<HttpAnswer> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { agent, signal, headers }, (response) => {
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
    });
    request.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One ISS answer: its parsed JSON, and whether this project's simulator gave it (made-up prices). */
export interface IssAnswer {
  json: unknown;
  simulated: boolean;
}

/** Every ISS request of a process goes through one of these; see createIssTransport. */
export interface IssTransport {
  /** The answer to `request`; throws PollError with the failure's reason. */
  get(request: IssRequest): Promise<IssAnswer>;
}

/** A transport a stopping service can let go of. */
export interface AbandonableIssTransport extends IssTransport {
  /**
   * For a shutdown: requests in flight fail at once and later ones are not made, so a poll cycle
   * ends now instead of waiting out DNS lookups, timeouts and retries (what it had received it
   * still hands over; the next start polls again).
   */
  abandon(): void;
}

/** The URL as it may be logged: without user and password (MOEX_ISS_URL may carry them). */
export function loggableUrl(url: URL): string {
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return shown.toString();
}

type Attempt = { answer: IssAnswer } | { error: PollError; retryable: boolean; waitMs: number | null };

/**
 * The one ISS transport: a GET per attempt through the process's request limiter, with the token,
 * the timeout, retries (network errors, 5xx, 429, a rate-limit 403) with backoff and Retry-After,
 * and the entitlement check: an answer that is not JSON, or JSON without any of the requested
 * blocks, is what ISS sends for a request the user is not entitled to (HTML with status 200).
 */
export function createIssTransport(options: IssTransportOptions): AbandonableIssTransport {
  const { timeoutMs, limiter, metrics, maxRetries = 2, backoffMs = 500, maxRetryAfterMs = 10_000, token } = options;
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  const headers: http.OutgoingHttpHeaders = { 'User-Agent': USER_AGENT, Accept: 'application/json', 'Accept-Encoding': 'gzip, deflate' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const stopping = new AbortController();
  const abandoned = () => new PollError('network', 'ISS request abandoned: the service is stopping');

  async function attempt(url: URL, request: IssRequest): Promise<Attempt> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let answer: HttpAnswer;
    try {
      answer = await getText(url, url.protocol === 'https:' ? agents['https:'] : agents['http:'], headers, AbortSignal.any([timeout, stopping.signal]));
    } catch (err) {
      if (stopping.signal.aborted) return { error: abandoned(), retryable: false, waitMs: null };
      if (timeout.aborted) {
        // A timeout is not retried: ISS was slow once already, and the retries would push the poll past its slot.
        return { error: new PollError('timeout', `ISS did not answer within ${timeoutMs} ms`), retryable: false, waitMs: null };
      }
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return { error: new PollError('network', `ISS unreachable: ${code}`), retryable: true, waitMs: null };
    }
    if (answer.status === 401 || (answer.status === 403 && !/too many requests/i.test(answer.body))) {
      const problem = token
        ? 'refused the token (MOEX_ISS_TOKEN): check it and its subscription'
        : 'requires a token: set MOEX_ISS_TOKEN or MOEX_ISS_TOKEN_FILE';
      return { error: new PollError('auth', `ISS answered HTTP ${answer.status}: it ${problem}`), retryable: false, waitMs: null };
    }
    if (answer.status >= 400) {
      // MOEX's API gateway answers a rate limit as 403 "Too Many Requests": back off as for 429.
      const retryable = answer.status >= 500 || answer.status === 429 || answer.status === 403;
      return { error: new PollError('http', `ISS answered HTTP ${answer.status}`), retryable, waitMs: retryAfterMs(answer.retryAfter) };
    }
    try {
      return { answer: { json: entitledJson(answer, request, url), simulated: answer.simulated } };
    } catch (err) {
      return { error: err as PollError, retryable: false, waitMs: null };
    }
  }

  return {
    abandon: () => stopping.abort(),
    async get(request) {
      const url = new URL(request.url);
      for (let retry = 0; ; retry++) {
        const waited = await limiter.acquire();
        metrics?.limiterWaited(request.kind, waited / 1000);
        if (stopping.signal.aborted) throw abandoned();
        const result = await attempt(url, request);
        metrics?.requestMade(request.kind, 'answer' in result ? 'ok' : result.error.reason);
        if ('answer' in result) return result.answer;
        const { error, retryable, waitMs } = result;
        if (!retryable || retry >= maxRetries || (waitMs !== null && waitMs > maxRetryAfterMs) || stopping.signal.aborted) throw error;
        const backoff = backoffMs * 2 ** retry * (0.5 + Math.random() / 2);
        await sleep(Math.max(backoff, waitMs ?? 0));
      }
    },
  };
}

const isJsonType = (contentType: string) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim());

/**
 * The JSON of a 200 answer, or PollError: `entitlement` for what ISS sends a request it will not
 * serve (a non-JSON content type, or JSON without any requested block), `parse` for JSON cut short.
 */
function entitledJson(answer: HttpAnswer, request: IssRequest, url: URL): unknown {
  const refused = (what: string) =>
    new PollError(
      'entitlement',
      `ISS answered ${what} for ${loggableUrl(url)}: the request is not entitled (a subscription, a token, or a data set this login may not read)`,
    );
  if (!isJsonType(answer.contentType)) {
    const kind = answer.contentType.includes('html') || /^\s*</.test(answer.body) ? 'an HTML page' : `content type "${answer.contentType || 'none'}"`;
    throw refused(`${kind} with status ${answer.status} instead of JSON`);
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    throw new PollError('parse', `ISS answered malformed JSON for ${loggableUrl(url)}`);
  }
  if (request.blocks.length === 0) {
    if (!Array.isArray(json)) throw refused('JSON other than the list asked for');
    return json;
  }
  const blocks = json && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json) : [];
  if (!request.blocks.some((b) => blocks.includes(b))) throw refused(`JSON without any of the blocks ${request.blocks.join(', ')}`);
  return json;
}
