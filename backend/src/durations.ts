/** Prometheus-style durations for `range` and `step`: 30s, 5m, 1h, 7d... */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

export function parseDurationSeconds(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(text);
  if (!m) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return seconds > 0 ? seconds : null;
}

/** The most points one history answer may hold (Prometheus' own limit is 11,000 per series). */
export const MAX_HISTORY_POINTS = 11_000;

export type HistoryWindow = { ok: true; rangeSeconds: number; stepSeconds: number } | { ok: false; error: string };

export function historyWindow(range: unknown = '1h', step: unknown = '30s'): HistoryWindow {
  const rangeSeconds = parseDurationSeconds(range);
  if (rangeSeconds === null) return { ok: false, error: 'range must be a duration such as 30m, 1h or 7d' };
  const stepSeconds = parseDurationSeconds(step);
  if (stepSeconds === null) return { ok: false, error: 'step must be a duration such as 15s, 1m or 1h' };
  const points = Math.floor(rangeSeconds / stepSeconds) + 1;
  if (points > MAX_HISTORY_POINTS) return { ok: false, error: `range/step asks for ${points} points; at most ${MAX_HISTORY_POINTS}` };
  return { ok: true, rangeSeconds, stepSeconds };
}
