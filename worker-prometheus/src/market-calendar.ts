import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log';
import { logOnChange } from '../../lib/log-once';
import { parseEngineCalendar, sessionAt, type EngineCalendar } from '../../lib/moex/calendar';
import { PollError } from '../../lib/moex/errors';

/** After a failed fetch the next try comes this soon (or at the refresh, if that is sooner). */
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;

export interface MarketCalendarOptions {
  /** The engines of the polled boards, each fetched once per refresh. */
  engines: readonly string[];
  /** GET `/iss/engines/{engine}.json` through the process's ISS client; throws PollError. */
  fetchEngineCalendar(engine: string): Promise<unknown>;
  registry: Registry;
  log: Logger;
  refreshMs: number;
  /** The host's clock, Unix ms. */
  now?: () => number;
}

export interface MarketCalendar {
  stop(): void;
}

/**
 * moex_market_open{engine} and moex_session_seconds_left{engine}: each polled engine's calendar is
 * fetched at start and then every `refreshMs`, apart from the quote polls (a slow or failing calendar
 * never delays a quote). The gauges are computed at each scrape from the last calendar that parsed,
 * so a session opens and closes on time between fetches; a failed fetch is counted, logged once per
 * change, and the last known calendar stays. An engine whose calendar never arrived has no series:
 * the alert rules then treat its market as open rather than hide stale data.
 *
 * The clock is the host's, in Moscow time. Not ISS's SYSTIME: ISS stops it with the trading (after
 * the close and all weekend it serves the last snapshot, SYSTIME and UPDATETIME frozen), so a session
 * judged by it would stay open until Monday. How far SYSTIME is from the host's clock is a metric of
 * its own (iss-clock-skew.ts), where a host clock that drifts shows.
 */
export function startMarketCalendar({
  engines,
  fetchEngineCalendar,
  registry,
  log: parentLog,
  refreshMs,
  now = Date.now,
}: MarketCalendarOptions): MarketCalendar {
  const calendars = new Map<string, EngineCalendar>();
  const registers = [registry];
  const sessions = () => [...calendars].map(([engine, calendar]) => ({ engine, session: sessionAt(calendar, new Date(now())) }));
  new Gauge({
    name: 'moex_market_open',
    help: "1 inside the engine's session today (ISS /iss/engines/{engine}.json: dailytable for the date, else timetable for the weekday), else 0; absent until its calendar has been read",
    labelNames: ['engine'],
    registers,
    collect() {
      for (const { engine, session } of sessions()) this.set({ engine }, session.open ? 1 : 0);
    },
  });
  new Gauge({
    name: 'moex_session_seconds_left',
    help: "Seconds until the engine's session ends today; 0 while it is closed",
    labelNames: ['engine'],
    registers,
    collect() {
      for (const { engine, session } of sessions()) this.set({ engine }, session.secondsLeft);
    },
  });
  const errors = new Counter({
    name: 'moex_calendar_errors_total',
    help: 'Failed fetches of an engine calendar (/iss/engines/{engine}.json) by reason',
    labelNames: ['engine', 'reason'],
    registers,
  });
  const invalidRows = new Counter({
    name: 'moex_calendar_invalid_rows_total',
    help: 'Calendar rows ISS sent that are not a day (left out)',
    labelNames: ['engine'],
    registers,
  });

  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  for (const engine of engines) {
    const log = parentLog.child({ engine });
    const failures = logOnChange(log, { failed: 'trading calendar fetch failed', recovered: 'trading calendar fetches recovered' });
    const invalidLog = logOnChange(log, { failed: 'ISS calendar rows that are not a day; left out' });
    const refresh = async () => {
      let nextMs = refreshMs;
      try {
        const { calendar, invalidRows: invalid } = parseEngineCalendar(await fetchEngineCalendar(engine));
        if (invalid.length) invalidRows.inc({ engine }, invalid.length);
        if (invalid.length) invalidLog.failed(String(invalid.length), { invalidRows: invalid.slice(0, 10) });
        else invalidLog.clear();
        if (calendars.has(engine)) failures.recovered();
        else {
          // The first calendar read says so itself, after failures or not.
          log.info({ weekdays: calendar.weekly.size, dates: calendar.daily.size }, 'trading calendar read');
          failures.clear();
        }
        calendars.set(engine, calendar);
      } catch (err) {
        const failure = err instanceof PollError ? err : new PollError('validation', String(err));
        errors.inc({ engine, reason: failure.reason });
        failures.failed(`${failure.reason}: ${failure.message}`, {
          reason: failure.reason,
          error: failure.message,
          kept: calendars.has(engine) ? 'last known calendar' : 'none yet',
        });
        nextMs = Math.min(refreshMs, RETRY_AFTER_FAILURE_MS);
      }
      if (!stopped) timers.set(engine, setTimeout(() => void refresh(), nextMs).unref());
    };
    void refresh();
  }

  return {
    stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}
