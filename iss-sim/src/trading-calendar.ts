import { Problem, text, type Setting } from '../../lib/config';
import { parseEngineCalendar, sessionAt, sessionOfDay, type EngineCalendar } from '../../lib/moex/calendar';
import { moscowDay } from '../../lib/moex/moscow-time';
import type { Market } from './market';

/**
 * The simulator's trading calendar: served as ISS serves `/iss/engines/{engine}.json` (the columns
 * and types of the real capture, test/fixtures/iss/real/engine-stock-2018.json), and obeyed by the
 * simulated market, which stops trading outside it (TRADINGSTATUS N, prices still) and trades again
 * when the next session opens, on the simulator's clock.
 *
 * ISS_SIM_SCHEDULE, the week (the `timetable` block): `;`-list of `DAYS=HH:MM[:SS]-HH:MM[:SS]` or
 * `DAYS=closed`, DAYS a weekday 1-7 (1 = Monday) or a range such as 1-5; a day not listed is closed.
 * The default trades around the clock every day, as the simulator always did.
 * ISS_SIM_DAILYTABLE, dates that differ from their weekday (the `dailytable` block): `;`-list of
 * `YYYY-MM-DD=closed` (a holiday) or `YYYY-MM-DD=HH:MM[:SS]-HH:MM[:SS]` (a weekend session).
 */

const DEFAULT_SIM_SCHEDULE = '1-7=00:00:00-23:59:59';
/** How far back the last session is looked for; a calendar without one keeps the clock running. */
const LOOK_BACK_DAYS = 31;
const DAY_MS = 86_400_000;

type TimetableRow = [number, 0 | 1, string, string];
type DailytableRow = [string, 0 | 1, string, string];

/** The times a closed row carries: ISS fills them in; the worker reads none of them on a day off. */
const CLOSED_TIMES = ['00:00:00', '00:00:00'] as const;
const WINDOW = /^(\d{2}:\d{2}(?::\d{2})?)-(\d{2}:\d{2}(?::\d{2})?)$/;

const withSeconds = (time: string) => (time.length === 5 ? `${time}:00` : time);

/** `closed` or `HH:MM[:SS]-HH:MM[:SS]` → is_work_day, start_time, stop_time. */
function dayWindow(text: string, entry: string): [0 | 1, string, string] {
  if (text === 'closed') return [0, ...CLOSED_TIMES];
  const m = WINDOW.exec(text);
  if (!m) throw new Problem(`entry "${entry}": the window must be HH:MM-HH:MM (seconds optional) or closed`);
  return [1, withSeconds(m[1]!), withSeconds(m[2]!)];
}

function entriesOf(text: string): Array<[string, string, string]> {
  return text
    .split(';')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((entry) => {
      const at = entry.indexOf('=');
      if (at < 0) throw new Problem(`entry "${entry}" has no "="`);
      return [entry.slice(0, at).trim(), entry.slice(at + 1).trim(), entry];
    });
}

/** ISS_SIM_SCHEDULE → the timetable rows of weekdays 1-7. */
export function timetableRows(text: string): TimetableRow[] {
  const days = new Map<number, [0 | 1, string, string]>();
  for (const [dayText, windowText, entry] of entriesOf(text)) {
    const m = /^([1-7])(?:-([1-7]))?$/.exec(dayText);
    if (!m || Number(m[2] ?? m[1]) < Number(m[1])) throw new Problem(`entry "${entry}": days must be a weekday 1-7 (1 = Monday) or a range such as 1-5`);
    for (let day = Number(m[1]); day <= Number(m[2] ?? m[1]); day++) days.set(day, dayWindow(windowText, entry));
  }
  return [1, 2, 3, 4, 5, 6, 7].map((day) => [day, ...(days.get(day) ?? [0, ...CLOSED_TIMES])]);
}

/** ISS_SIM_DAILYTABLE → dailytable rows. */
export function dailytableRows(text: string): DailytableRow[] {
  return entriesOf(text).map(([date, windowText, entry]) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Problem(`entry "${entry}": the date must be YYYY-MM-DD`);
    return [date, ...dayWindow(windowText, entry)];
  });
}

/** `title`, `short_title` of the `engine` block: stock's as in the capture, the others in its style. */
const ENGINE_TITLES: Readonly<Record<string, [string, string]>> = {
  stock: ['Securities Market', 'Stock'],
  currency: ['Currency Market', 'Currency'],
  futures: ['Derivatives Market', 'Derivatives'],
};

const BLOCKS = {
  engine: { columns: ['NAME', 'title', 'short_title'], types: ['string', 'string', 'string'] },
  timetable: { columns: ['week_day', 'is_work_day', 'start_time', 'stop_time'], types: ['int32', 'int32', 'time', 'time'] },
  dailytable: { columns: ['date', 'is_work_day', 'start_time', 'stop_time'], types: ['date', 'int32', 'time', 'time'] },
} as const;

export class SimTradingCalendar {
  private timetable: TimetableRow[];
  private dailytable: DailytableRow[];
  private calendar: EngineCalendar;
  /** Whether the market was trading at the last apply(); null before the first. */
  private wasOpen: boolean | null = null;

  constructor(schedule: string, dailytable: string) {
    this.timetable = timetableRows(schedule);
    this.dailytable = dailytableRows(dailytable);
    this.calendar = this.parsed();
  }

  /** A new schedule at run time (PUT /sim/calendar); throws Problem, keeping the old one, on a bad value. */
  replace(schedule: string | undefined, dailytable: string | undefined): void {
    const next = new SimTradingCalendar(schedule ?? '', dailytable ?? '');
    if (schedule !== undefined) this.timetable = next.timetable;
    if (dailytable !== undefined) this.dailytable = next.dailytable;
    this.calendar = this.parsed();
  }

  /** Read through the worker's own parser, so the simulator trades by exactly what it serves. */
  private parsed(): EngineCalendar {
    const { calendar, invalidRows } = parseEngineCalendar(this.json('stock', { withMetadata: false, only: null }));
    if (invalidRows.length)
      throw new Problem(`${JSON.stringify(invalidRows[0]!.row)} is not a day of the calendar (a real date and times, a window that ends after it starts)`);
    return calendar;
  }

  session(at: Date) {
    return sessionAt(this.calendar, at);
  }

  /** The last second of the latest session that ended before `at`; null while a session is open. */
  lastClose(at: Date): Date | null {
    if (this.session(at).open) return null;
    const today = moscowDay(at).midnightMs;
    for (let back = 0; back <= LOOK_BACK_DAYS; back++) {
      // Noon of the day: its Moscow date whatever the hour.
      const midnight = today - back * DAY_MS;
      const session = sessionOfDay(this.calendar, moscowDay(new Date(midnight + DAY_MS / 2)));
      if (session && midnight + session.stop * 1000 < at.getTime()) return new Date(midnight + session.stop * 1000);
    }
    return null;
  }

  /**
   * The snapshot ISS serves at `at` (its SYSTIME; UPDATETIME is `delaySeconds` behind it): the clock
   * while a session is open, else frozen, as ISS freezes it after the close and over weekends, at the
   * last session's stop plus the feed's delay (a delayed feed still catches up with the close:
   * test/fixtures/iss/real/cets-usd-tod-2018-07-28.json, UPDATETIME 23:50:00, SYSTIME 00:05:04).
   */
  snapshotTime(at: Date, delaySeconds: number): Date {
    const close = this.lastClose(at);
    return close === null ? at : new Date(Math.min(at.getTime(), close.getTime() + delaySeconds * 1000));
  }

  /**
   * Opens or closes every simulated security when the session starts or ends (only then: a test that
   * sets a security's session by hand keeps it until the next boundary).
   */
  apply(market: Market, at: Date): void {
    const open = this.session(at).open;
    if (open === this.wasOpen) return;
    // At start only a closed market changes anything: the securities open trading.
    if (this.wasOpen !== null || !open) {
      for (const securities of market.boards.values()) for (const s of securities.values()) s.session = open ? 'trading' : 'closed';
    }
    this.wasOpen = open;
  }

  /** The `/iss/engines/{engine}.json` answer, honouring `iss.meta=off` and `iss.only`. */
  json(engine: string, options: { withMetadata: boolean; only: ReadonlySet<string> | null }): Record<string, unknown> {
    const [title, shortTitle] = ENGINE_TITLES[engine] ?? [engine, engine];
    const data = { engine: [[engine, title, shortTitle]], timetable: this.timetable, dailytable: this.dailytable };
    const answer: Record<string, unknown> = {};
    for (const [name, { columns, types }] of Object.entries(BLOCKS) as Array<[keyof typeof BLOCKS, (typeof BLOCKS)[keyof typeof BLOCKS]]>) {
      if (options.only && !options.only.has(name)) continue;
      const metadata = Object.fromEntries(columns.map((c, i) => [c, { type: types[i] }]));
      answer[name] = { ...(options.withMetadata ? { metadata } : {}), columns, data: data[name] };
    }
    return answer;
  }
}

/** ISS_SIM_SCHEDULE (empty = the default, as compose passes an unset one): checked at start by building a calendar from it. */
export const simSchedule: Setting<string> = (raw) => {
  const schedule = text(DEFAULT_SIM_SCHEDULE)(raw?.trim() || undefined);
  new SimTradingCalendar(schedule, '');
  return schedule;
};

/** ISS_SIM_DAILYTABLE: checked at start by building a calendar from it. */
export const simDailytable: Setting<string> = (raw) => {
  const dailytable = text('')(raw);
  new SimTradingCalendar(DEFAULT_SIM_SCHEDULE, dailytable);
  return dailytable;
};
