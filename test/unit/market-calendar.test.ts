import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { SimTradingCalendar } from '../../iss-sim/src/trading-calendar';
import type { Logger } from '../../lib/log';
import { PollError } from '../../lib/moex/errors';
import type { Quote } from '../../lib/moex/quote';
import { registerIssClockSkew } from '../../worker-prometheus/src/iss-clock-skew';
import { startMarketCalendar } from '../../worker-prometheus/src/market-calendar';
import { issFixture } from '../support/fixtures';
import { parseExposition, sleep } from '../support/services';

const msk = (text: string) => new Date(`${text}+03:00`).getTime();

/** Weekdays 06:50-23:50, weekends closed, 4 November a holiday: in ISS's shape. */
const WEEK = new SimTradingCalendar('1-5=06:50-23:50;6-7=closed', '2026-11-04=closed').json('stock', { withMetadata: true, only: null });

/** A logger that keeps its warnings, for "logged once" checks. */
function recordingLogger(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { info: () => {}, warn: (_: unknown, message: string) => warnings.push(message), child: () => log } as unknown as Logger;
  return { log, warnings };
}

/** A quote of `engine` whose snapshot (SYSTIME) was at `snapshotMs`, 900 s after its data. */
const quoteAt = (snapshotMs: number, engine: string) => ({ engine, time: new Date(snapshotMs - 900_000), delaySeconds: 900 }) as Quote;

async function samples(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('worker: moex_market_open and moex_session_seconds_left', () => {
  test('each engine is fetched once at start; the gauges follow the clock between fetches', async () => {
    let now = msk('2026-12-02T21:00:00'); // Wednesday, the evening session
    const fetched: string[] = [];
    const registry = new Registry();
    const calendar = startMarketCalendar({
      engines: ['stock', 'currency'],
      fetchEngineCalendar: async (engine) => {
        fetched.push(engine);
        return engine === 'stock' ? WEEK : issFixture('real/engine-stock-2018');
      },
      registry,
      log: recordingLogger().log,
      refreshMs: 3_600_000,
      now: () => now,
    });
    await sleep(10);
    assert.deepEqual(fetched, ['stock', 'currency']);
    let s = await samples(registry);
    assert.equal(s.get('moex_market_open{engine="stock"}'), 1);
    assert.equal(s.get('moex_session_seconds_left{engine="stock"}'), 2 * 3600 + 50 * 60 + 1);
    // The real capture's calendar has only a Monday session.
    assert.equal(s.get('moex_market_open{engine="currency"}'), 0);
    assert.equal(s.get('moex_session_seconds_left{engine="currency"}'), 0);

    now = msk('2026-12-02T23:55:00');
    s = await samples(registry);
    assert.equal(s.get('moex_market_open{engine="stock"}'), 0, 'closed after 23:50 without a new fetch');
    assert.deepEqual(fetched, ['stock', 'currency']);
    calendar.stop();
  });

  test("the session is judged on the host's clock; ISS's frozen SYSTIME shows as clock skew", async () => {
    // ISS's last snapshot was Friday's close; the host says it is Saturday 03:00.
    const hostNow = msk('2026-12-05T03:00:00');
    const registry = new Registry();
    const calendar = startMarketCalendar({
      engines: ['stock'],
      fetchEngineCalendar: async () => WEEK,
      registry,
      log: recordingLogger().log,
      refreshMs: 3_600_000,
      now: () => hostNow,
    });
    const observeIssClock = registerIssClockSkew(registry, () => hostNow);
    observeIssClock([
      quoteAt(msk('2026-12-04T23:50:00'), 'stock'),
      quoteAt(msk('2026-12-04T23:49:30'), 'stock'),
      quoteAt(msk('2026-12-05T02:59:58'), 'futures'),
    ]);
    await sleep(10);
    const s = await samples(registry);
    assert.equal(s.get('moex_market_open{engine="stock"}'), 0);
    assert.equal(s.get('moex_iss_clock_skew_seconds{engine="stock"}'), -(3 * 3600 + 10 * 60), "the newest of the engine's snapshots");
    assert.equal(s.get('moex_iss_clock_skew_seconds{engine="futures"}'), -2);
    assert.equal(s.get('moex_iss_clock_skew_seconds{engine="currency"}'), undefined, 'no series for an engine no poll answered');
    calendar.stop();
  });

  test('a failing fetch is counted each time, logged once, and keeps the last known calendar', async () => {
    const answers: Array<() => unknown> = [
      () => WEEK,
      ...Array.from({ length: 3 }, () => () => {
        throw new PollError('http', 'ISS answered HTTP 500');
      }),
      () => WEEK,
    ];
    const { log, warnings } = recordingLogger();
    const registry = new Registry();
    const calendar = startMarketCalendar({
      engines: ['stock'],
      fetchEngineCalendar: async () => (answers.length > 1 ? answers.shift()! : answers[0]!)(),
      registry,
      log,
      refreshMs: 5,
      now: () => msk('2026-12-02T12:00:00'),
    });
    await sleep(200);
    calendar.stop();
    const s = await samples(registry);
    assert.equal(s.get('moex_calendar_errors_total{engine="stock",reason="http"}'), 3);
    assert.deepEqual(warnings, ['trading calendar fetch failed']);
    assert.equal(s.get('moex_market_open{engine="stock"}'), 1, 'the last known calendar still answers');
  });

  test('no calendar yet: no series, so the alert rules treat the market as open', async () => {
    const registry = new Registry();
    const calendar = startMarketCalendar({
      engines: ['stock'],
      fetchEngineCalendar: async () => '<html>',
      registry,
      log: recordingLogger().log,
      refreshMs: 3_600_000,
    });
    await sleep(10);
    calendar.stop();
    const s = await samples(registry);
    assert.equal([...s.keys()].filter((k) => k.startsWith('moex_market_open') || k.startsWith('moex_session_seconds_left')).length, 0);
    assert.equal(s.get('moex_calendar_errors_total{engine="stock",reason="validation"}'), 1);
  });

  test('rows that are not a day are counted and left out', async () => {
    const answer = structuredClone(WEEK) as { dailytable: { data: unknown[][] } };
    answer.dailytable.data.push(['2026-13-01', 0, '00:00:00', '00:00:00']);
    const registry = new Registry();
    const calendar = startMarketCalendar({
      engines: ['stock'],
      fetchEngineCalendar: async () => answer,
      registry,
      log: recordingLogger().log,
      refreshMs: 3_600_000,
      now: () => msk('2026-12-02T12:00:00'),
    });
    await sleep(10);
    calendar.stop();
    const s = await samples(registry);
    assert.equal(s.get('moex_calendar_invalid_rows_total{engine="stock"}'), 1);
    assert.equal(s.get('moex_market_open{engine="stock"}'), 1);
  });
});
