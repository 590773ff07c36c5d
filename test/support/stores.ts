/** Reading back what the sinks stored, through each store's own query API. */

export interface InfluxSeries {
  columns: string[];
  values: unknown[][];
}

/** InfluxQL over `/query`; the first series of the first statement, or null. `auth`: user and password where InfluxDB asks. */
export async function influxQuery(url: string, q: string, db = 'pyexample', auth?: { u: string; p: string }): Promise<InfluxSeries | null> {
  const res = await fetch(`${url}/query?${new URLSearchParams({ db, q, epoch: 's', ...auth })}`);
  if (!res.ok) throw new Error(`InfluxDB ${q}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { results: Array<{ series?: InfluxSeries[]; error?: string }> };
  const result = body.results[0];
  if (result?.error) throw new Error(`InfluxDB ${q}: ${result.error}`);
  return result?.series?.[0] ?? null;
}

/** graphite-web `/render?format=json`: [value, timestamp] pairs of one target, nulls included. */
export async function graphiteRender(url: string, target: string, from = '-30min'): Promise<Array<[number | null, number]>> {
  const res = await fetch(`${url}/render?${new URLSearchParams({ target, format: 'json', from })}`);
  if (!res.ok) throw new Error(`graphite ${target}: HTTP ${res.status}`);
  const body = (await res.json()) as Array<{ datapoints: Array<[number | null, number]> }>;
  return body[0]?.datapoints ?? [];
}

/** The last non-null value of a Graphite target, or undefined (30 min back: plaintext points carry the quote's time, 15 min old on the anonymous feed). */
export async function graphiteLast(url: string, target: string, from = '-30min'): Promise<number | undefined> {
  const points = (await graphiteRender(url, target, from)).filter(([v]) => v !== null);
  return points.at(-1)?.[0] ?? undefined;
}

export async function graphiteFind(url: string, query: string): Promise<string[]> {
  const res = await fetch(`${url}/metrics/find?${new URLSearchParams({ query })}`);
  if (!res.ok) throw new Error(`graphite find ${query}: HTTP ${res.status}`);
  return ((await res.json()) as Array<{ id: string }>).map((n) => n.id);
}
