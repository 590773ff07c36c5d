import { readIssBlock, type IssBlockReader } from './iss-block';
import { moscowDay, secondsOfDayOf, type MoscowDay } from './moscow-time';

/**
 * The trading calendar of one ISS engine, from `/iss/engines/{engine}.json`:
 * `timetable` (`week_day, is_work_day, start_time, stop_time`: the usual week) and `dailytable`
 * (`date, is_work_day, start_time, stop_time`: holidays and moved or weekend working days). A date in
 * `dailytable` wins over its weekday in `timetable`; since 2025 MOEX's weekend sessions are such
 * dates. Cells are read by column name, never by position. Times are Moscow time (UTC+3 all year).
 */

/** One day's session: seconds since Moscow midnight, both ends inclusive; null = no trading that day. */
export type DaySession = { start: number; stop: number } | null;

export interface EngineCalendar {
  /** ISS `week_day` (1 = Monday … 7 = Sunday) → the usual session of that weekday. */
  weekly: ReadonlyMap<number, DaySession>;
  /** `YYYY-MM-DD` → that date's session, overriding its weekday. */
  daily: ReadonlyMap<string, DaySession>;
}

/** A row ISS sent that cannot be a calendar day; it is left out and counted, never guessed at. */
export interface InvalidCalendarRow {
  block: 'timetable' | 'dailytable';
  row: unknown;
}

export interface ParsedCalendar {
  calendar: EngineCalendar;
  invalidRows: InvalidCalendarRow[];
}

export interface SessionState {
  /** Inside today's session window. */
  open: boolean;
  /** Until the window's stop when open, else 0. */
  secondsLeft: number;
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const m = DATE_PATTERN.exec(text);
  if (!m) return false;
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return day.getUTCMonth() === Number(m[2]) - 1 && day.getUTCDate() === Number(m[3]);
}

/** A row's `is_work_day` and window → the day's session; undefined when the row is not usable. */
function daySession(isWorkDay: unknown, startTime: unknown, stopTime: unknown): DaySession | undefined {
  if (isWorkDay === 0) return null;
  if (isWorkDay !== 1) return undefined;
  const start = secondsOfDayOf(startTime);
  const stop = secondsOfDayOf(stopTime);
  // ISS writes a session to midnight as 23:59:59; a window that ends before it starts is not one.
  return start === null || stop === null || stop < start ? undefined : { start, stop };
}

/** `/iss/engines/{engine}.json` → the engine's calendar; throws PollError when the blocks are missing. */
export function parseEngineCalendar(json: unknown): ParsedCalendar {
  const timetable = readIssBlock(json, 'timetable', { required: ['week_day', 'is_work_day', 'start_time', 'stop_time'] });
  const dailytable = readIssBlock(json, 'dailytable', { required: ['date', 'is_work_day', 'start_time', 'stop_time'] });
  const invalidRows: InvalidCalendarRow[] = [];
  const sessionOf = (block: IssBlockReader, row: readonly unknown[]) =>
    daySession(block.cell(row, 'is_work_day'), block.cell(row, 'start_time'), block.cell(row, 'stop_time'));

  const weekly = new Map<number, DaySession>();
  for (const row of timetable.rows) {
    const weekDay = timetable.cell(row, 'week_day');
    const session = sessionOf(timetable, row);
    if (typeof weekDay !== 'number' || !Number.isInteger(weekDay) || weekDay < 1 || weekDay > 7 || session === undefined) {
      invalidRows.push({ block: 'timetable', row });
    } else weekly.set(weekDay, session);
  }
  const daily = new Map<string, DaySession>();
  for (const row of dailytable.rows) {
    const date = dailytable.cell(row, 'date');
    const session = sessionOf(dailytable, row);
    if (!isCalendarDate(date) || session === undefined) invalidRows.push({ block: 'dailytable', row });
    else daily.set(date, session);
  }
  return { calendar: { weekly, daily }, invalidRows };
}

/** The session of one Moscow day: its `dailytable` row if it has one, else its weekday's `timetable` row. */
export function sessionOfDay(calendar: EngineCalendar, day: Pick<MoscowDay, 'date' | 'weekDay'>): DaySession {
  return calendar.daily.has(day.date) ? calendar.daily.get(day.date)! : (calendar.weekly.get(day.weekDay) ?? null);
}

/**
 * Whether the engine trades at `at`: the date's `dailytable` row if it has one, else the weekday's
 * `timetable` row; a day in neither has no session. The stop second is inside the window, so a
 * session to 23:59:59 runs to midnight.
 */
export function sessionAt(calendar: EngineCalendar, at: Date): SessionState {
  const day = moscowDay(at);
  const session = sessionOfDay(calendar, day);
  const now = day.secondsOfDay;
  if (!session || now < session.start || now >= session.stop + 1) return { open: false, secondsLeft: 0 };
  return { open: true, secondsLeft: session.stop + 1 - now };
}
