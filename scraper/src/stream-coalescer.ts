import type { Quote } from '../../lib/moex/quote';

/**
 * The stream's quote changes on their way to the stores (MOEX_STREAM=issplus): batches leave at
 * least `periodMs` apart, each with the newest of every security that changed, so the stores see at
 * most one point per security per period however fast a security changes. The first change after a
 * quiet period leaves at once (a change waiting out a whole period was most of the stream's delay
 * to InfluxDB and carbon, bench part 3); changes that follow within the period wait for its end and
 * leave together. Stream quote times are whole seconds (TIME), so a later point of the same second
 * replaces the earlier in InfluxDB and carbon, as the poll's repeated points always have: never a
 * second point for that second.
 */
export function createStreamCoalescer(write: (quotes: readonly Quote[]) => void, periodMs = 1_000) {
  const pending = new Map<string, Quote>();
  let timer: NodeJS.Timeout | null = null;
  let lastBatchAt = -Infinity;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending.size === 0) return;
    const quotes = [...pending.values()];
    pending.clear();
    lastBatchAt = Date.now();
    write(quotes);
  };

  return {
    add(quotes: readonly Quote[]): void {
      for (const quote of quotes) pending.set(keyOf(quote), quote);
      if (timer) return;
      const wait = lastBatchAt + periodMs - Date.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    /** The poll wrote these: a waiting stream change of the same instant is the same point, not written again. */
    written(quotes: readonly Quote[]): void {
      for (const quote of quotes) {
        const key = keyOf(quote);
        if (pending.get(key)?.time.getTime() === quote.time.getTime()) pending.delete(key);
      }
    },
    /** Writes what waits now (at shutdown). */
    flush,
  };
}

const keyOf = (quote: Quote) => `${quote.board}\u0000${quote.ticker}`;
