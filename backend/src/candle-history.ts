import { UpstreamError } from './prometheus-client';

/** Closing prices per step from the scraper's 1-minute candles in InfluxDB (docs/metrics.md `candles`). */
export type CandleHistory = (ticker: string, rangeSeconds: number, stepSeconds: number) => Promise<Array<[number, number]>>;

export interface CandleHistoryOptions {
  url: string;
  database: string;
  username: string;
  password: string;
  timeoutMs: number;
}

/**
 * The InfluxQL for one ticker's history: the last close of each step, steps aligned like the
 * Prometheus path (end rounded up to the step), empty steps left out. The ticker is checked against
 * TICKER_PATTERN by the route, so it can be quoted as it is.
 */
function candleHistoryQuery(ticker: string, end: number, rangeSeconds: number, stepSeconds: number): string {
  return (
    `SELECT last("close") FROM "candles" WHERE "ticker" = '${ticker}' AND "interval" = '1m' ` +
    `AND time > ${end - rangeSeconds}s AND time <= ${end}s GROUP BY time(${stepSeconds}s) fill(none)`
  );
}

export function createCandleHistory(options: CandleHistoryOptions): CandleHistory {
  const auth: Record<string, string> = options.username ? { u: options.username, p: options.password } : {};
  return async (ticker, rangeSeconds, stepSeconds) => {
    const end = Math.ceil(Date.now() / 1000 / stepSeconds) * stepSeconds;
    const q = candleHistoryQuery(ticker, end, rangeSeconds, stepSeconds);
    let res: Response;
    try {
      res = await fetch(`${options.url}/query?${new URLSearchParams({ db: options.database, q, epoch: 's', ...auth })}`, {
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch {
      throw new UpstreamError('influxdb', 'InfluxDB unreachable');
    }
    const body = (await res.json().catch(() => null)) as {
      results?: Array<{ series?: Array<{ values: Array<[number, number | null]> }>; error?: string }>;
    } | null;
    const result = body?.results?.[0];
    if (!res.ok || !result || result.error)
      throw new UpstreamError('influxdb', `InfluxDB answered HTTP ${res.status}${result?.error ? `: ${result.error}` : ''}`);
    return (result.series?.[0]?.values ?? []).filter((row): row is [number, number] => typeof row[1] === 'number');
  };
}
