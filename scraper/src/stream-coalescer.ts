import type { Quote } from '../../lib/moex/quote';

/**
 * The stream's quote changes on their way to the stores (MOEX_STREAM=issplus): they wait here and
 * leave together once per `periodMs`, the newest of each security only, so the stores see at most
 * one point per security per period however fast a security changes. Stream quote times are whole
 * seconds (TIME), so a later point of the same second replaces the earlier in InfluxDB and carbon,
 * as the poll's repeated points always have: never a second point for that second.
 */
export function createStreamCoalescer(write: (quotes: readonly Quote[]) => void, periodMs = 1_000) {
  const pending = new Map<string, Quote>();
  let timer: NodeJS.Timeout | null = null;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending.size === 0) return;
    const quotes = [...pending.values()];
    pending.clear();
    write(quotes);
  };

  return {
    add(quotes: readonly Quote[]): void {
      for (const quote of quotes) pending.set(keyOf(quote), quote);
      timer ??= setTimeout(flush, periodMs);
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
