import type { BackendConfig } from './config';
import type { PrometheusClient } from './prometheus-client';

export interface ComponentStatus {
  name: string;
  ok: boolean;
  detail: string;
  latencyMs: number;
}

export interface StackStatus {
  ok: boolean;
  components: ComponentStatus[];
}

type Probe = (signal: AbortSignal) => Promise<{ ok: boolean; detail: string }>;

const ageText = (seconds: number) =>
  seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;

async function readyz(url: string, signal: AbortSignal, headers: Record<string, string>) {
  const res = await fetch(`${url}/readyz`, { signal, headers });
  if (res.ok) return { ok: true, detail: 'ready' };
  const body = (await res.json().catch(() => null)) as { reason?: string } | null;
  return { ok: false, detail: `not ready (HTTP ${res.status}${body?.reason ? `: ${body.reason}` : ''})` };
}

/** How fresh a store's newest point is: ok while younger than `staleAfter` seconds. */
function freshness(newest: number, what: string, staleAfter: number) {
  const age = Math.max(0, Date.now() / 1000 - newest);
  return { ok: age <= staleAfter, detail: `newest ${what} ${ageText(age)} old${age > staleAfter ? ' (stale)' : ''}` };
}

/** fetch() says "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND...) is in its cause. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: string } | undefined)?.code;
  return code ?? err.message;
}

/**
 * One probe per component (docs/api.md), run in parallel, each bounded by PROBE_TIMEOUT_MS.
 * `credentials`: the headers the web config of the worker, scraper and Alertmanager asks for.
 */
export function createStatusCheck(config: BackendConfig, prometheus: PrometheusClient, credentials: Record<string, string> = {}): () => Promise<StackStatus> {
  const stale = config.STALE_AFTER_SECONDS;
  const influxAuth: Record<string, string> = config.INFLUX_USERNAME ? { u: config.INFLUX_USERNAME, p: config.INFLUX_PASSWORD } : {};

  const probes: Record<string, Probe> = {
    prometheus: async (signal) => {
      const status = await prometheus.readiness(signal);
      return status === 200 ? { ok: true, detail: 'ready' } : { ok: false, detail: `not ready (HTTP ${status})` };
    },
    worker: (signal) => readyz(config.WORKER_URL, signal, credentials),
    scraper: (signal) => readyz(config.SCRAPER_URL, signal, credentials),
    moex: async () => {
      const [[sample], [simulated]] = await Promise.all([
        prometheus.query('moex_up{job="worker-prometheus"}'),
        prometheus.query('max(moex_simulated_feed{job="worker-prometheus"})'),
      ]);
      if (!sample) return { ok: false, detail: 'worker not scraped by Prometheus yet' };
      const source = simulated?.value[1] === '1' ? 'SIMULATED prices from the ISS simulator, not MOEX: ' : '';
      return sample.value[1] === '1'
        ? { ok: true, detail: `${source}last ISS poll succeeded` }
        : { ok: false, detail: `${source}last ISS poll failed (moex_up 0)` };
    },
    graphite: async (signal) => {
      const params = new URLSearchParams({ target: `${config.GRAPHITE_PREFIX}.*.last`, format: 'json', from: `-${2 * stale}s` });
      const res = await fetch(`${config.GRAPHITE_URL}/render?${params}`, { signal });
      if (!res.ok) return { ok: false, detail: `graphite-web answered HTTP ${res.status}` };
      const series = (await res.json()) as Array<{ datapoints: Array<[number | null, number]> }>;
      let newest: number | null = null;
      for (const s of series) for (const [v, t] of s.datapoints) if (v !== null && (newest === null || t > newest)) newest = t;
      if (newest === null) return { ok: false, detail: `no ${config.GRAPHITE_PREFIX}.*.last point in the last ${ageText(2 * stale)}` };
      return freshness(newest, `${config.GRAPHITE_PREFIX}.*.last point`, stale);
    },
    influxdb: async (signal) => {
      if (config.INFLUX_URL === 'off') return { ok: true, detail: 'not configured (INFLUX_URL=off)' };
      const ping = await fetch(`${config.INFLUX_URL}/ping`, { signal });
      if (!ping.ok) return { ok: false, detail: `ping answered HTTP ${ping.status}` };
      // Bounded in time: an unbounded newest-point query reads every series' history on a big database.
      const q = `SELECT * FROM "${config.INFLUX_MEASUREMENT}" WHERE time > now() - ${2 * stale}s ORDER BY time DESC LIMIT 1`;
      const res = await fetch(`${config.INFLUX_URL}/query?${new URLSearchParams({ db: config.INFLUX_DATABASE, q, epoch: 's', ...influxAuth })}`, { signal });
      if (!res.ok) return { ok: false, detail: `query answered HTTP ${res.status}` };
      const body = (await res.json()) as { results?: Array<{ series?: Array<{ values: unknown[][] }>; error?: string }> };
      const result = body.results?.[0];
      if (result?.error) return { ok: false, detail: result.error };
      const newest = result?.series?.[0]?.values[0]?.[0];
      if (typeof newest !== 'number') return { ok: false, detail: `no ${config.INFLUX_MEASUREMENT} point in the last ${ageText(2 * stale)}` };
      return freshness(newest, `${config.INFLUX_MEASUREMENT} point`, stale);
    },
    alertmanager: async (signal) => {
      if (config.ALERTMANAGER_URL === 'off') return { ok: true, detail: 'not configured (ALERTMANAGER_URL=off)' };
      // What a person would be told now: active alerts that are neither silenced nor inhibited.
      const params = new URLSearchParams({ active: 'true', silenced: 'false', inhibited: 'false' });
      const res = await fetch(`${config.ALERTMANAGER_URL}/api/v2/alerts?${params}`, { signal, headers: credentials });
      if (!res.ok) return { ok: false, detail: `alerts API answered HTTP ${res.status}` };
      const alerts = (await res.json()) as unknown[];
      return { ok: true, detail: alerts.length === 0 ? 'ready, no alert firing' : `ready, ${alerts.length} alert${alerts.length === 1 ? '' : 's'} firing` };
    },
  };

  return async () => {
    const components = await Promise.all(
      Object.entries(probes).map(async ([name, probe]): Promise<ComponentStatus> => {
        const started = performance.now();
        const latency = () => Math.round(performance.now() - started);
        try {
          const { ok, detail } = await probe(AbortSignal.timeout(config.PROBE_TIMEOUT_MS));
          return { name, ok, detail, latencyMs: latency() };
        } catch (err) {
          const timedOut = err instanceof Error && err.name === 'TimeoutError';
          const detail = timedOut ? `no answer within ${config.PROBE_TIMEOUT_MS} ms` : `unreachable (${describeError(err)})`;
          return { name, ok: false, detail, latencyMs: latency() };
        }
      }),
    );
    return { ok: components.every((c) => c.ok), components };
  };
}
