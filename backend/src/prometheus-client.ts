/** Prometheus' HTTP API, the parts the backend reads: instant and range queries, readiness. */

export class UpstreamError extends Error {
  constructor(
    readonly upstream: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface MatrixSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

async function getJson(url: string, timeoutMs: number, headers: Record<string, string>): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable';
    throw new UpstreamError('prometheus', `Prometheus ${reason}`);
  }
  const body = (await res.json().catch(() => null)) as { status?: string; data?: unknown; error?: string } | null;
  if (!res.ok || body?.status !== 'success') {
    throw new UpstreamError('prometheus', `Prometheus answered HTTP ${res.status}${body?.error ? `: ${body.error}` : ''}`);
  }
  return body.data;
}

/** `headers`: e.g. basic authentication for a Prometheus that has a web config. */
export function createPrometheusClient(baseUrl: string, timeoutMs: number, headers: Record<string, string> = {}) {
  return {
    /** Prometheus' own readiness (`/-/ready`): the HTTP status, or a thrown error when it does not answer. */
    async readiness(signal: AbortSignal = AbortSignal.timeout(timeoutMs)): Promise<number> {
      return (await fetch(`${baseUrl}/-/ready`, { signal, headers })).status;
    },
    async query(promql: string): Promise<VectorSample[]> {
      const data = (await getJson(`${baseUrl}/api/v1/query?${new URLSearchParams({ query: promql })}`, timeoutMs, headers)) as { result: VectorSample[] };
      return data.result;
    },
    async queryRange(promql: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<MatrixSeries[]> {
      const params = new URLSearchParams({ query: promql, start: String(startSeconds), end: String(endSeconds), step: String(stepSeconds) });
      const data = (await getJson(`${baseUrl}/api/v1/query_range?${params}`, timeoutMs, headers)) as { result: MatrixSeries[] };
      return data.result;
    },
  };
}

export type PrometheusClient = ReturnType<typeof createPrometheusClient>;
