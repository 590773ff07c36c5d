import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance } from 'axios';
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
}

const USER_AGENT = 'moex-monitoring/0.1 (+https://github.com/moex-monitoring; Prometheus/Graphite/InfluxDB exporter)';

/** The ISS request for one board: every requested ticker in one call (CONTRACT §3). */
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

function classify(err: unknown): { error: PollError; retryable: boolean; waitMs?: number | null } {
  if (err instanceof AxiosError) {
    if (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT' || err.code === AxiosError.ERR_CANCELED) {
      // A timeout is not retried: ISS was slow once already, and the retries would push the poll past its slot.
      return { error: new PollError('timeout', `ISS did not answer within the timeout (${err.message})`), retryable: false };
    }
    const status = err.response?.status;
    if (status !== undefined) {
      const retryable = status >= 500 || status === 429;
      return {
        error: new PollError('http', `ISS answered HTTP ${status}`),
        retryable,
        waitMs: retryAfterMs(err.response?.headers['retry-after']),
      };
    }
    return { error: new PollError('network', `ISS unreachable: ${err.code ?? err.message}`), retryable: true };
  }
  return { error: new PollError('network', `ISS request failed: ${String(err)}`), retryable: true };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fetches one board snapshot from ISS and returns its JSON; throws PollError with the failure reason. */
export function createIssClient(options: IssClientOptions): { url: string; fetchBoardSnapshot(): Promise<unknown> } {
  const { timeoutMs, maxRetries = 2, backoffMs = 500, maxRetryAfterMs = 10_000 } = options;
  const url = boardSnapshotUrl(options, options.tickers);
  const client: AxiosInstance = axios.create({
    // The body is parsed here, not by axios, so that an HTML page or broken JSON is a clear `parse` failure.
    responseType: 'text',
    transformResponse: (body: unknown) => body,
    headers: { 'User-Agent': USER_AGENT, Accept: 'application/json' },
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true }),
    maxRedirects: 3,
  });

  async function fetchBoardSnapshot(): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await client.get<string>(url, { signal: AbortSignal.timeout(timeoutMs) });
        return parseJsonBody(response.data, String(response.headers['content-type'] ?? ''));
      } catch (err) {
        if (err instanceof PollError) throw err;
        const { error, retryable, waitMs } = classify(err);
        if (!retryable || attempt >= maxRetries) throw error;
        if (waitMs !== undefined && waitMs !== null && waitMs > maxRetryAfterMs) throw error;
        const backoff = backoffMs * 2 ** attempt * (0.5 + Math.random() / 2);
        await sleep(Math.max(backoff, waitMs ?? 0));
      }
    }
  }
  return { url, fetchBoardSnapshot };
}

function parseJsonBody(body: string, contentType: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    const kind = contentType.includes('html') || /^\s*</.test(body) ? 'an HTML page' : 'malformed JSON';
    throw new PollError('parse', `ISS answered ${kind} instead of JSON`);
  }
}
