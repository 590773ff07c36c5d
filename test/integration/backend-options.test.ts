import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OPTION_INDEX_PROMQL, optionChainPromql, type OptionChain, type OptionIndex } from '../../backend/src/options';
import { boardColumns, type BoardSource } from '../../lib/moex/markets';
import { boardSnapshotRequest } from '../../lib/moex/iss-requests';
import { parseOptionSelection } from '../../lib/moex/options';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import type { Quote } from '../../lib/moex/quote';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

/**
 * The backend's options routes against the real Prometheus scraping a worker that polls the
 * simulator's ROPD board with the demo's selection (two underlyings, their nearest two expiries):
 * the index and every chain equal what the board answers, IV appears once the Options Calculator
 * has priced a series, /api/quotes holds no option series, and a chain's query brings back that
 * chain's series only.
 */
const OPTIONS = 'Si,RTS@2';
const ROPD: BoardSource = {
  engine: 'futures',
  market: 'options',
  board: 'ROPD',
  kind: 'options',
  tickers: 'ALL',
  optionSelection: parseOptionSelection(OPTIONS)!,
};

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('backend options against the real Prometheus scraping the worker fed by the simulator', () => {
  let sim: IssSim;
  let worker: RunningService;
  let prometheus: Daemon;
  let backend: RunningService;
  /** The option series the worker polls, read from the board as the worker reads it. */
  let polled: Quote[];

  const promql = async (query: string): Promise<VectorSample[]> => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query })}`)).json()) as { data: { result: VectorSample[] } };
    return body.data.result;
  };
  const getJson = async <T>(path: string): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${backend.url}${path}`);
    return { status: res.status, json: (await res.json()) as T };
  };

  before(async () => {
    sim = await startIssSim();
    await sim.control.walk(false);
    worker = await startService(
      'worker',
      {
        MOEX_ISS_URL: sim.issUrl,
        MOEX_SOURCES: `stock/shares/TQBR=SBER,GAZP;futures/options/ROPD=${OPTIONS}`,
        POLL_SCHEDULE: '* * * * * *',
        MOEX_OPTION_GREEKS_SCHEDULE: '*/5 * * * * *',
      },
      { waitFor: 'readyz' },
    );
    prometheus = await startDaemon('prometheus', {
      scrapeTargets: [{ job: 'worker-prometheus', targets: [`127.0.0.1:${worker.port}`] }],
      scrapeInterval: '1s',
    });
    backend = await startService('backend', { PROMETHEUS_URL: prometheus.url, WORKER_URL: worker.url, PROBE_TIMEOUT_MS: '2000' });
    const board = await fetch(
      boardSnapshotRequest({ issUrl: sim.issUrl, engine: 'futures', market: 'options', board: 'ROPD' }, 'ALL', boardColumns('options')).url,
    );
    assert.equal(board.status, 200, 'the simulator serves ROPD');
    polled = parseBoardSnapshot(await board.json(), ROPD).quotes;
  });
  after(async () => {
    await backend?.stop();
    await prometheus?.close();
    await worker?.stop();
    await sim?.stop();
  });

  test('the selection leaves two underlyings with two expiries each, as the demo polls them', () => {
    const pairs = new Set(polled.map((q) => `${q.option!.underlying} ${q.option!.expiry}`));
    assert.deepEqual(new Set(polled.map((q) => q.option!.underlying.toUpperCase())), new Set(['SI', 'RTS']));
    assert.equal(pairs.size, 4, [...pairs].join(', '));
  });

  test('GET /api/options lists every polled series, counted by underlying, expiry and type', async () => {
    const expected = new Map<string, { calls: number; puts: number }>();
    for (const { option } of polled) {
      const key = `${option!.underlying} ${option!.expiry}`;
      const entry = expected.get(key) ?? { calls: 0, puts: 0 };
      entry[option!.type === 'call' ? 'calls' : 'puts'] += 1;
      expected.set(key, entry);
    }
    const index = await eventually(
      async () => {
        const { status, json } = await getJson<OptionIndex>('/api/options');
        const total = json.underlyings?.flatMap((u) => u.expiries).reduce((sum, e) => sum + e.calls + e.puts, 0);
        return status === 200 && total === polled.length ? json : null;
      },
      // The index is cached 30 s: an answer from before every series was scraped lasts that long.
      60_000,
      `${polled.length} option series in /api/options`,
    );
    const got = new Map(index.underlyings.flatMap((u) => u.expiries.map((e) => [`${u.underlying} ${e.expiry}`, { calls: e.calls, puts: e.puts }] as const)));
    assert.deepEqual(got, expected);
    for (const u of index.underlyings)
      assert.deepEqual(
        u.expiries.map((e) => e.expiry),
        [...u.expiries.map((e) => e.expiry)].sort(),
        'expiries by date',
      );
  });

  /** Each figure of a chain side and the worker's gauge it must show, written out here rather than read from the backend's table. */
  const FIGURES = {
    last: 'moex_last_price',
    bid: 'moex_bid_price',
    offer: 'moex_offer_price',
    openInterest: 'moex_option_open_interest',
    openInterestChange: 'moex_option_open_interest_change',
    impliedVolatility: 'moex_option_implied_volatility',
    theoreticalPrice: 'moex_option_theoretical_price',
    delta: 'moex_option_delta',
  } as const;

  /** Where the chain differs from what Prometheus holds for its series, figure by figure; null: nowhere. */
  async function chainVersusPrometheus(chain: OptionChain, underlying: string, expiry: string): Promise<string | null> {
    const held = new Map<string, number>();
    for (const [figure, metric] of Object.entries(FIGURES))
      for (const s of await promql(`${metric}{underlying="${underlying}", expiry="${expiry}"}`)) held.set(`${s.metric.ticker} ${figure}`, Number(s.value[1]));
    for (const side of chain.rows.flatMap((r) => [r.call, r.put]))
      for (const figure of Object.keys(FIGURES) as Array<keyof typeof FIGURES>)
        if (side && side[figure] !== (held.get(`${side.ticker} ${figure}`) ?? null))
          return `${side.ticker} ${figure}: chain ${side[figure]}, Prometheus ${held.get(`${side.ticker} ${figure}`)}`;
    return null;
  }

  test('every chain is the board: strikes by value, call and put side by side, the central strike marked, figures as Prometheus holds them', async () => {
    const pairs = [...new Set(polled.map((q) => `${q.option!.underlying} ${q.option!.expiry}`))];
    for (const pair of pairs) {
      const [underlying, expiry] = pair.split(' ') as [string, string];
      const series = polled.filter((q) => q.option!.underlying === underlying && q.option!.expiry === expiry);
      // The simulator prices its series on the time to expiry too: the figures are compared with
      // Prometheus at the moment of the answer (again until one scrape does not fall in between).
      let difference = '';
      const chain = await eventually(
        async () => {
          const { status, json } = await getJson<OptionChain>(`/api/options/${underlying}/${expiry}`);
          const shown = status === 200 ? json.rows.reduce((n, r) => n + (r.call ? 1 : 0) + (r.put ? 1 : 0), 0) : 0;
          if (shown !== series.length) return null;
          difference = (await chainVersusPrometheus(json, underlying, expiry)) ?? '';
          return difference === '' ? json : null;
        },
        30_000,
        `the chain of ${pair} (${series.length} series) as Prometheus holds it`,
      ).catch((err: Error) => assert.fail(`${err.message}; last difference: ${difference}`));
      const strikes = [...new Set(series.map((q) => q.option!.strike))].sort((a, b) => Number(a) - Number(b));
      assert.deepEqual(
        chain.rows.map((r) => r.strike),
        strikes,
        pair,
      );
      for (const q of series) {
        const row = chain.rows.find((r) => r.strike === q.option!.strike)!;
        assert.equal(row[q.option!.type]?.ticker, q.ticker, `${pair} ${q.option!.strike} ${q.option!.type}`);
      }
      const centralStrike = series.find((q) => q.centralStrike !== null)?.centralStrike ?? null;
      assert.equal(chain.centralStrike, centralStrike, pair);
      assert.deepEqual(
        chain.rows.filter((r) => r.atTheMoney).map((r) => Number(r.strike)),
        centralStrike !== null && strikes.map(Number).includes(centralStrike) ? [centralStrike] : [],
        pair,
      );
      // Asked in another case, the chain is the same one, named as exported.
      assert.equal((await getJson<OptionChain>(`/api/options/${underlying.toLowerCase()}/${expiry}`)).json.underlying, underlying);
    }
    assert.equal((await getJson<{ error: string }>(`/api/options/${pairs[0]!.split(' ')[0]}/2099-01-01`)).status, 404);
  });

  test('IV where the Options Calculator priced a series: the chain shows it once the calculator has answered', async () => {
    const [underlying, expiry] = [polled[0]!.option!.underlying, polled[0]!.option!.expiry];
    let difference = '';
    const chain = await eventually(
      async () => {
        const { json } = await getJson<OptionChain>(`/api/options/${underlying}/${expiry}`);
        if (!json.rows?.some((r) => r.call?.impliedVolatility != null || r.put?.impliedVolatility != null)) return null;
        difference = (await chainVersusPrometheus(json, underlying, expiry)) ?? '';
        return difference === '' ? json : null;
      },
      30_000,
      `IV in the chain of ${underlying} ${expiry}`,
    ).catch((err: Error) => assert.fail(`${err.message}; last difference: ${difference}`));
    const priced = chain.rows.flatMap((r) => [r.call, r.put]).filter((s) => s?.impliedVolatility != null);
    assert.ok(
      priced.every((s) => s!.impliedVolatility! > 0 && s!.theoreticalPrice !== null),
      'an IV in percent beside its theoretical price',
    );
  });

  test('/api/quotes holds the shares and no option series; the simulator is still named', async () => {
    const { json } = await eventually(
      async () => {
        const answer = await getJson<{ quotes: Array<{ ticker: string; market: string }>; simulated: boolean }>('/api/quotes');
        return answer.json.quotes?.length === 2 ? answer : null;
      },
      20_000,
      'the two shares in /api/quotes',
    );
    assert.deepEqual(json.quotes.map((q) => q.ticker).sort(), ['GAZP', 'SBER']);
    assert.equal(json.simulated, true, 'moex_simulated_feed (no market label) still matches market!="options"');
  });

  test("the backend's queries bring back a chain's series or one count per expiry, never every series", async () => {
    const total = polled.length;
    const index = await promql(OPTION_INDEX_PROMQL);
    assert.ok(index.length <= 4 * 2, `the index is ${index.length} samples for ${total} series`);
    const [underlying, expiry] = [polled[0]!.option!.underlying, polled[0]!.option!.expiry];
    const inChain = polled.filter((q) => q.option!.underlying === underlying && q.option!.expiry === expiry).length;
    const samples = await promql(optionChainPromql(underlying, expiry));
    assert.ok(
      samples.every((s) => s.metric.underlying === underlying && s.metric.expiry === expiry),
      'only the asked chain',
    );
    assert.equal(new Set(samples.map((s) => s.metric.ticker)).size, inChain);
    assert.ok(inChain < total, `${inChain} of ${total} series`);
  });
});
