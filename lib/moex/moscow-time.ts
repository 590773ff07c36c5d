/**
 * Moscow time, the one clock ISS writes every time in (SYSTIME, UPDATETIME, candle bounds, the
 * trading calendar): a fixed UTC+3, as Moscow has been all year since 2014. The client's one place
 * for it; the simulator computes its own from the time-zone database (iss-sim/src/moscow-time.ts),
 * so a mistake here is a disagreement a test sees (test/unit/moscow-time.test.ts).
 */
const MOSCOW_UTC_OFFSET_SECONDS = 3 * 3600;
export const SECONDS_PER_DAY = 86_400;

const DATE_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const TIME_OF_DAY_PATTERN = /^(\d{2}):(\d{2}):(\d{2})$/;

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as ISS writes times (SYSTIME, candle bounds, `from`): Moscow, `YYYY-MM-DD HH:MM:SS`. */
export function formatMoscowTime(at: Date): string {
  const m = new Date(at.getTime() + MOSCOW_UTC_OFFSET_SECONDS * 1000);
  return `${m.getUTCFullYear()}-${pad(m.getUTCMonth() + 1)}-${pad(m.getUTCDate())} ${pad(m.getUTCHours())}:${pad(m.getUTCMinutes())}:${pad(m.getUTCSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS` in Moscow time → the instant, or null if it is not such a string. */
export function parseMoscowTime(text: unknown): Date | null {
  if (typeof text !== 'string') return null;
  const m = DATE_TIME_PATTERN.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2024-02-30 over to March; a real SYSTIME never does.
  if (calendarDay.getUTCMonth() !== month - 1 || calendarDay.getUTCDate() !== day) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - MOSCOW_UTC_OFFSET_SECONDS * 1000);
}

/** `HH:MM:SS` (UPDATETIME, a calendar's start_time) → seconds since midnight, or null. */
export function secondsOfDayOf(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = TIME_OF_DAY_PATTERN.exec(text);
  if (!m) return null;
  const [hour, minute, second] = m.slice(1).map(Number) as [number, number, number];
  return hour > 23 || minute > 59 || second > 59 ? null : hour * 3600 + minute * 60 + second;
}

export interface MoscowDay {
  /** `YYYY-MM-DD` */
  date: string;
  /** ISS `week_day`: 1 = Monday … 7 = Sunday. */
  weekDay: number;
  /** Seconds since Moscow midnight (fractions kept). */
  secondsOfDay: number;
  /** That midnight, Unix ms. */
  midnightMs: number;
}

/** The Moscow date, weekday and time of day of an instant. */
export function moscowDay(at: Date): MoscowDay {
  const moscowSeconds = at.getTime() / 1000 + MOSCOW_UTC_OFFSET_SECONDS;
  const dayNumber = Math.floor(moscowSeconds / SECONDS_PER_DAY);
  // 1970-01-01 was a Thursday (ISS weekday 4).
  const weekDay = ((((dayNumber + 3) % 7) + 7) % 7) + 1;
  return {
    date: new Date(dayNumber * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10),
    weekDay,
    secondsOfDay: moscowSeconds - dayNumber * SECONDS_PER_DAY,
    midnightMs: (dayNumber * SECONDS_PER_DAY - MOSCOW_UTC_OFFSET_SECONDS) * 1000,
  };
}
