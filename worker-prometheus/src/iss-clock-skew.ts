import { Gauge, type Registry } from 'prom-client';
import type { Quote } from '../../lib/moex/quote';

/**
 * moex_iss_clock_skew_seconds{engine}: the newest SYSTIME of the engine's quotes in a poll minus
 * the host's clock when the poll's quotes arrived. While ISS trades it is about 0 (a few seconds of
 * request time, or a host clock that drifts: the trading calendar runs on the host's clock). After
 * the close and over weekends ISS serves a frozen snapshot, so it falls by a second every second: how
 * long ago ISS's clock stopped. An engine that no poll has answered yet has no series.
 */
export function registerIssClockSkew(registry: Registry, now: () => number = Date.now): (quotes: readonly Quote[]) => void {
  const skew = new Gauge({
    name: 'moex_iss_clock_skew_seconds',
    help: "Newest SYSTIME of the engine's quotes minus the host clock at the poll: about 0 while ISS trades, falling while ISS serves a frozen snapshot (after the close, weekends)",
    labelNames: ['engine'] as const,
    registers: [registry],
  });
  return (quotes) => {
    const newest = new Map<string, number>();
    for (const q of quotes) {
      // The snapshot time: the quote's exchange time plus the feed's delay (parse.ts).
      const snapshotMs = q.time.getTime() + q.delaySeconds * 1000;
      if (snapshotMs > (newest.get(q.engine) ?? -Infinity)) newest.set(q.engine, snapshotMs);
    }
    const at = now();
    for (const [engine, snapshotMs] of newest) skew.set({ engine }, (snapshotMs - at) / 1000);
  };
}
