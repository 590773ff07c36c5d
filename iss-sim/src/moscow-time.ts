/**
 * The simulator's Moscow time, computed apart from the client's (lib/moex/moscow-time.ts works with a
 * fixed UTC+3 offset): here the time-zone database decides, through Intl and `Europe/Moscow`. A
 * time-zone mistake in either is then a disagreement a test sees (test/unit/moscow-time.test.ts),
 * not a symmetric error that every simulator-based test would miss.
 */
const MOSCOW = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Moscow',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** Moscow wall-clock fields of an instant, by the time-zone database. */
function moscowFields(at: Date): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string> {
  const fields = { year: '', month: '', day: '', hour: '', minute: '', second: '' };
  for (const part of MOSCOW.formatToParts(at)) if (part.type in fields) fields[part.type as keyof typeof fields] = part.value;
  return fields;
}

/** An instant as ISS writes it (SYSTIME, candle bounds): Moscow wall-clock time, `YYYY-MM-DD HH:MM:SS`. */
export function moscowDateTime(at: Date): string {
  const f = moscowFields(at);
  return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}`;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Moscow wall-clock `YYYY-MM-DD HH:MM:SS` (a client's `from`/`till`) → the instant, or null. */
export function parseMoscowDateTime(text: string): Date | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const asIfUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Moscow's offset at that moment, from the database: the wall clock there minus UTC.
  const f = moscowFields(new Date(asIfUtc));
  const offset = Date.UTC(+f.year, +f.month - 1, +f.day, +f.hour, +f.minute, +f.second) - asIfUtc;
  const at = new Date(asIfUtc - offset);
  // A day or time that does not exist (2024-02-30, 25:00) does not come back the same.
  return moscowDateTime(at) === text ? at : null;
}
