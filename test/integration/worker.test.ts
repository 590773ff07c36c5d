import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runProcess } from '../support/run';
import { eventually, runToExit, scrape, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const TICKERS = ['SBERP', 'SBER', 'GAZP'];
const EVERY_SECOND = '* * * * * *';

const QUOTE_FAMILIES = [
  'moex_last_price',
  'moex_bid_price',
  'moex_offer_price',
  'moex_open_price',
  'moex_high_price',
  'moex_low_price',
  'moex_waprice',
  'moex_prev_close_price',
  'moex_change_percent',
  'moex_volume_today',
  'moex_value_today',
  'moex_trades_today',
  'moex_trading',
  'moex_quote_timestamp_seconds',
  'moex_data_delay_seconds',
];

/** The simulator's log of board polls (the worker also asks for the engine's trading calendar). */
const boardPolls = async (sim: IssSim) => (await sim.control.requests()).filter((r) => r.path.endsWith('/securities.json'));
const series = (name: string, ticker: string) => `${name}{ticker="${ticker}",board="TQBR",engine="stock",market="shares"}`;

/** Families whose values are signed by nature: a change, a clock's offset. */
const SIGNED = ['moex_change_percent', 'moex_iss_clock_skew_seconds'];

/** No moex_* sample may ever be NaN, ±Inf or negative (-1 is the classic "unknown" lie). */
function assertNoFakeValues(samples: Map<string, number>) {
  for (const [key, value] of samples) {
    if (!key.startsWith('moex_') || SIGNED.some((name) => key.startsWith(name))) continue;
    assert.ok(Number.isFinite(value) && value >= 0, `${key} = ${value}`);
  }
}

describe('worker-prometheus against the ISS simulator', () => {
  let sim: IssSim;
  let worker: RunningService;

  before(async () => {
    sim = await startIssSim({ SIM_DELAY_MS: '2500', SIM_RETRY_AFTER: '1' });
    await sim.control.walk(false);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: EVERY_SECOND, MOEX_TIMEOUT_MS: '1000' }, { waitFor: 'readyz' });
  });
  after(async () => {
    await worker?.stop();
    await sim?.stop();
  });

  test('serves every docs/metrics.md family for each ticker with the simulator’s values, and moex_up 1', async () => {
    const expected = await sim.control.securities(TICKERS);
    const samples = await eventually(async () => {
      const s = await scrape(worker.url);
      return s.get('moex_up') === 1 ? s : null;
    });
    for (const ticker of TICKERS) {
      for (const family of QUOTE_FAMILIES) assert.ok(samples.has(series(family, ticker)), `${family} for ${ticker}`);
      assert.ok(samples.has(`moex_price_relative_to_prev_close_bucket{le="1.01",ticker="${ticker}",board="TQBR",engine="stock",market="shares"}`));
      const sim = expected.find((s) => s.secid === ticker)!;
      assert.equal(samples.get(series('moex_last_price', ticker)), sim.last);
      assert.equal(samples.get(series('moex_bid_price', ticker)), sim.bid);
      assert.equal(samples.get(series('moex_offer_price', ticker)), sim.offer);
      assert.equal(samples.get(series('moex_open_price', ticker)), sim.open);
      assert.equal(samples.get(series('moex_high_price', ticker)), sim.high);
      assert.equal(samples.get(series('moex_low_price', ticker)), sim.low);
      assert.equal(samples.get(series('moex_prev_close_price', ticker)), sim.prevPrice);
      assert.equal(samples.get(series('moex_volume_today', ticker)), sim.volume);
      assert.equal(samples.get(series('moex_trades_today', ticker)), sim.trades);
      assert.equal(samples.get(series('moex_trading', ticker)), 1);
      // The simulator is the anonymous feed: its UPDATETIME runs 15 minutes behind SYSTIME.
      assert.equal(samples.get(series('moex_data_delay_seconds', ticker)), 900);
      const age = Date.now() / 1000 - samples.get(series('moex_quote_timestamp_seconds', ticker))!;
      assert.ok(age >= 899 && age < 910, `quote age ${age}s`);
    }
    for (const name of ['moex_poll_duration_seconds_count', 'moex_last_success_timestamp_seconds', 'process_resident_memory_bytes']) {
      assert.ok(samples.has(name), name);
    }
    assert.ok(samples.get('moex_polls_total{result="ok",board="TQBR"}')! >= 1);
    for (const reason of ['timeout', 'network', 'http', 'parse', 'validation', 'auth', 'entitlement']) {
      assert.ok(samples.has(`moex_poll_errors_total{reason="${reason}",board="TQBR"}`), reason);
    }
    assertNoFakeValues(samples);
  });

  test('promtool check metrics finds nothing to say about the moex_* families', async () => {
    const text = await (await fetch(`${worker.url}/metrics`)).text();
    const { stdout, stderr } = await runProcess('promtool', ['check', 'metrics'], {}, undefined, text);
    const complaints = `${stdout}\n${stderr}`.split('\n').filter((line) => line.includes('moex_'));
    assert.deepEqual(complaints, []);
    // It does lint: prom-client's own nodejs_* gauges named *_total are reported.
    assert.match(`${stdout}${stderr}`, /nodejs_active_handles_total/);
  });

  const FAILURES: Array<[fault: string, reason: string]> = [
    ['http500', 'http'],
    ['http429', 'http'],
    ['timeout', 'timeout'],
    ['reset', 'network'],
    ['malformed-json', 'parse'],
    ['html', 'entitlement'],
    ['no-marketdata', 'validation'],
  ];
  for (const [fault, reason] of FAILURES) {
    test(`fault ${fault}: counted as reason="${reason}", moex_up 0, last good values kept, then recovers`, async () => {
      const good = await scrape(worker.url);
      const goodLast = good.get(series('moex_last_price', 'SBER'));
      const errorsBefore = good.get(`moex_poll_errors_total{reason="${reason}",board="TQBR"}`)!;
      await sim.control.setFault(fault);
      try {
        const failing = await eventually(
          async () => {
            const s = await scrape(worker.url);
            return s.get('moex_up') === 0 && s.get(`moex_poll_errors_total{reason="${reason}",board="TQBR"}`)! > errorsBefore ? s : null;
          },
          20_000,
          `moex_up 0 after ${fault}`,
        );
        assert.equal(failing.get(series('moex_last_price', 'SBER')), goodLast, 'last good value still served');
        assert.ok((await fetch(`${worker.url}/healthz`)).ok, 'worker stays up');
        assertNoFakeValues(failing);
      } finally {
        await sim.control.clearFault();
      }
      await eventually(async () => (await scrape(worker.url)).get('moex_up') === 1, 20_000, 'recovery');
    });
  }

  test('before the first trade: price series absent, not 0; counts are real zeros', async () => {
    await sim.control.setFault('pre-open');
    try {
      const s = await eventually(async () => {
        const x = await scrape(worker.url);
        return x.get(series('moex_trades_today', 'GAZP')) === 0 ? x : null;
      });
      for (const ticker of TICKERS) {
        for (const family of ['moex_last_price', 'moex_open_price', 'moex_high_price', 'moex_low_price', 'moex_waprice', 'moex_change_percent']) {
          assert.equal(s.has(series(family, ticker)), false, `${family} ${ticker} must be absent`);
        }
        assert.equal(s.get(series('moex_prev_close_price', ticker)) !== undefined, true);
        assert.equal(s.get(series('moex_trading', ticker)), 0);
      }
      assert.equal(s.get('moex_up'), 1);
      assertNoFakeValues(s);
    } finally {
      await sim.control.clearFault();
    }
    await eventually(async () => (await scrape(worker.url)).has(series('moex_last_price', 'GAZP')), 15_000, 'prices back');
  });

  test('after the close: bid/offer absent, moex_trading 0, last price kept', async () => {
    await sim.control.setFault('closed');
    try {
      const s = await eventually(async () => {
        const x = await scrape(worker.url);
        return x.get(series('moex_trading', 'SBER')) === 0 ? x : null;
      });
      assert.equal(s.has(series('moex_bid_price', 'SBER')), false);
      assert.equal(s.has(series('moex_offer_price', 'SBER')), false);
      assert.ok(s.get(series('moex_last_price', 'SBER'))! > 0);
    } finally {
      await sim.control.clearFault();
    }
    await eventually(async () => (await scrape(worker.url)).get(series('moex_trading', 'SBER')) === 1, 15_000, 'trading again');
  });

  test('a missing ticker is counted, not fatal; reordered columns change nothing', async () => {
    await sim.control.setFault('missing-ticker');
    try {
      const s = await eventually(async () => {
        const x = await scrape(worker.url);
        return x.get('moex_missing_tickers') === 1 ? x : null;
      });
      assert.equal(s.get('moex_up'), 1);
    } finally {
      await sim.control.clearFault();
    }
    await eventually(async () => (await scrape(worker.url)).get('moex_missing_tickers') === 0, 15_000, 'ticker back');

    const before = await scrape(worker.url);
    const okBefore = before.get('moex_polls_total{result="ok",board="TQBR"}')!;
    await sim.control.setFault('reordered-columns');
    try {
      const s = await eventually(async () => {
        const x = await scrape(worker.url);
        return x.get('moex_polls_total{result="ok",board="TQBR"}')! >= okBefore + 2 ? x : null;
      });
      assert.equal(s.get('moex_up'), 1);
      assert.equal(s.get(series('moex_last_price', 'SBER')), before.get(series('moex_last_price', 'SBER')));
    } finally {
      await sim.control.clearFault();
    }
  });

  test('one ISS request per cycle, for all tickers at once', async () => {
    await sim.control.clearRequests();
    const before = await scrape(worker.url);
    await eventually(async () => (await boardPolls(sim)).length >= 3, 10_000, 'three polls');
    const requests = await boardPolls(sim);
    const after = await scrape(worker.url);
    const polls = (s: Map<string, number>) => s.get('moex_polls_total{result="ok",board="TQBR"}')! + s.get('moex_polls_total{result="error",board="TQBR"}')!;
    // The scrapes bracket the requests: every request is one poll.
    assert.ok(Math.abs(polls(after) - polls(before) - requests.length) <= 1, `${requests.length} requests vs ${polls(after) - polls(before)} polls`);
    for (const r of requests) assert.equal(r.securities, 'SBERP,SBER,GAZP');
  });
});

describe('worker-prometheus edge cases', () => {
  test('MOEX_TICKERS=ALL: one request per cycle without a securities filter, 250+ securities exported', async () => {
    const sim = await startIssSim();
    const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'ALL', POLL_SCHEDULE: EVERY_SECOND }, { waitFor: 'readyz' });
    try {
      await eventually(async () => (await boardPolls(sim)).length >= 3, 10_000, 'three polls');
      // Stop first so that no poll is in flight between reading the counter and the request log.
      const samples = await scrape(worker.url);
      await worker.stop();
      const requests = await boardPolls(sim);
      const polls = samples.get('moex_polls_total{result="ok",board="TQBR"}')! + samples.get('moex_polls_total{result="error",board="TQBR"}')!;
      assert.ok(requests.length === polls || requests.length === polls + 1, `${requests.length} requests for ${polls} polls`);
      assert.ok(
        requests.every((r) => r.securities === null),
        'no securities= filter for ALL',
      );
      const exported = [...samples.keys()].filter((k) => k.startsWith('moex_last_price{')).length;
      assert.ok(exported >= 250, `${exported} securities exported`);
    } finally {
      await worker.stop();
      await sim.stop();
    }
  });

  test('a hanging ISS never makes two polls overlap', async () => {
    const sim = await startIssSim({ SIM_FAULT: 'timeout', SIM_DELAY_MS: '3000' });
    const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: EVERY_SECOND, MOEX_TIMEOUT_MS: '10000' });
    try {
      await eventually(async () => (await boardPolls(sim)).length >= 3, 15_000, 'three slow polls');
      const starts = (await boardPolls(sim)).map((r) => Date.parse(r.at));
      for (let i = 1; i < starts.length; i++) {
        assert.ok(starts[i]! - starts[i - 1]! >= 2900, `request ${i} started ${starts[i]! - starts[i - 1]!} ms after the previous one`);
      }
      const s = await scrape(worker.url);
      assert.equal(s.get('moex_polls_total{result="ok",board="TQBR"}')! + s.get('moex_polls_total{result="error",board="TQBR"}')!, starts.length - 1);
    } finally {
      await worker.stop();
      await sim.stop();
    }
  });

  test('SIGTERM: exits 0 promptly', async () => {
    const sim = await startIssSim();
    const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: EVERY_SECOND }, { waitFor: 'readyz' });
    const started = Date.now();
    assert.equal(await worker.stop('SIGTERM'), 0);
    assert.ok(Date.now() - started < 5000);
    await sim.stop();
  });

  test('SIGTERM while a poll waits on ISS (an answer held 15 s): exits 0 after the 2 s a cycle may take to finish, not after the answer or the timeout', async () => {
    const sim = await startIssSim({ SIM_DELAY_MS: '15000' });
    const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: EVERY_SECOND, MOEX_TIMEOUT_MS: '12000' }, { waitFor: 'readyz' });
    try {
      await sim.control.setFault('timeout', 100);
      await eventually(async () => ((await sim.control.requests()).length > 0 ? true : undefined), 10_000, 'a poll held by the simulator');
      await sim.control.clearRequests();
      await eventually(async () => ((await sim.control.requests()).length > 0 ? true : undefined), 10_000, 'a poll held by the simulator');
      const started = Date.now();
      assert.equal(await worker.stop('SIGTERM'), 0);
      const took = Date.now() - started;
      assert.ok(took >= 1900 && took < 6000, `exited after ${took} ms`);
    } finally {
      await worker.stop();
      await sim.stop();
    }
  });

  for (const [variable, value] of [
    ['MOEX_TICKERS', ''],
    ['POLL_SCHEDULE', 'nonsense'],
    ['PORT', 'abc'],
    ['MOEX_ISS_URL', 'not a url'],
    ['MOEX_TIMEOUT_MS', '-5'],
  ] as const) {
    test(`bad config ${variable}=${JSON.stringify(value)} exits 2 with one line naming it`, async () => {
      const { code, output } = await runToExit('worker', { [variable]: value });
      assert.equal(code, 2);
      const lines = output.trim().split('\n');
      assert.equal(lines.length, 1, output);
      assert.match(lines[0]!, new RegExp(`^config error: ${variable}: `));
    });
  }

  test('MOEX_ISS_TOKEN_FILE: every ISS request carries the bearer token, the real-time feed has ~0 delay, the token is never logged', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iss-token-'));
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const sim = await startIssSim({ ISS_SIM_TOKEN: token });
    const worker = await startService(
      'worker',
      { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: EVERY_SECOND, MOEX_ISS_TOKEN_FILE: tokenFile, LOG_LEVEL: 'debug' },
      { waitFor: 'readyz' },
    );
    try {
      await eventually(async () => (await boardPolls(sim)).length >= 2, 10_000, 'two polls');
      const requests = await boardPolls(sim);
      assert.ok(
        requests.every((r) => r.bearer),
        'Authorization: Bearer on every request',
      );
      const s = await scrape(worker.url);
      assert.equal(s.get('moex_up'), 1);
      assert.equal(s.get(series('moex_data_delay_seconds', 'SBER')), 0);
      const age = Date.now() / 1000 - s.get(series('moex_quote_timestamp_seconds', 'SBER'))!;
      assert.ok(age >= -1 && age < 10, `real-time quote age ${age}s`);
      assert.ok(!worker.output().includes(token), 'token absent from the logs');
      assert.ok(!(await (await fetch(`${worker.url}/metrics`)).text()).includes(token), 'token absent from /metrics');
    } finally {
      await worker.stop();
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a wrong token: reason="auth", moex_up 0, one clear log line without the token', async () => {
    const sim = await startIssSim({ ISS_SIM_TOKEN: 'the-right-one' });
    const wrong = 'a-wrong-token-0123456789';
    const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, POLL_SCHEDULE: EVERY_SECOND, MOEX_ISS_TOKEN: wrong });
    try {
      const s = await eventually(
        async () => {
          const x = await scrape(worker.url);
          return x.get('moex_poll_errors_total{reason="auth",board="TQBR"}')! >= 2 ? x : null;
        },
        15_000,
        'auth errors',
      );
      assert.equal(s.get('moex_up'), 0);
      assert.equal(s.get('moex_poll_errors_total{reason="http",board="TQBR"}'), 0, 'an auth failure is not a generic http error');
      // Auth failures are not retried within a poll: one request per cycle.
      const requests = await boardPolls(sim);
      const polls = s.get('moex_polls_total{result="error",board="TQBR"}')!;
      assert.ok(requests.length <= polls + 1, `${requests.length} requests for ${polls} polls`);
      const failures = worker
        .output()
        .split('\n')
        .filter((l) => l.includes('ISS poll failed'));
      assert.equal(failures.length, 1, 'logged once, not once per poll');
      assert.match(failures[0]!, /refused the token/);
      assert.ok(!worker.output().includes(wrong), 'token absent from the logs');
    } finally {
      await worker.stop();
      await sim.stop();
    }
  });
});
