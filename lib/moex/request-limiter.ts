/**
 * The request budget of one process (MOEX_ISS_MAX_RPS): at most `perSecond` ISS requests start in
 * any one-second window, whoever makes them (boards, candles, calendar, datasets). ISS publishes no
 * numeric limit; MOEX's own client keeps to about 5 a second and MOEX asks clients to throttle.
 *
 * A sliding window rather than a token bucket: a bucket refilled at N a second lets 2N through in
 * one second after an idle spell. Requests are granted in the order they asked.
 */
export interface RequestLimiter {
  readonly perSecond: number;
  /** Resolves when a request may start; to the milliseconds it waited. */
  acquire(): Promise<number>;
  /** Milliseconds every request has waited so far, together (a cycle diffs it to see its own wait). */
  waitedMs(): number;
}

/**
 * The window is a little longer than a second: ISS (and the simulator's request log) counts
 * arrivals, which trail the starts by a network delay that varies from request to request.
 */
const WINDOW_MS = 1000;
const ARRIVAL_JITTER_MS = 50;

export function createRequestLimiter(perSecond: number, now: () => number = performance.now.bind(performance)): RequestLimiter {
  if (!Number.isInteger(perSecond) || perSecond < 1) throw new RangeError(`perSecond must be a whole number of at least 1, got ${perSecond}`);
  /** Start times of the last `perSecond` grants, oldest first. */
  const starts: number[] = [];
  /** The grant in progress: each acquire waits for the previous one, so grants keep their order. */
  let queue: Promise<unknown> = Promise.resolve();
  let waitedTotal = 0;

  const grant = async (asked: number): Promise<number> => {
    for (;;) {
      const oldest = starts.length < perSecond ? undefined : starts[starts.length - perSecond];
      const free = oldest === undefined ? asked : oldest + WINDOW_MS + ARRIVAL_JITTER_MS;
      const wait = free - now();
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    }
    starts.push(now());
    if (starts.length > perSecond) starts.splice(0, starts.length - perSecond);
    const waited = now() - asked;
    waitedTotal += waited;
    return waited;
  };

  return {
    perSecond,
    acquire() {
      const asked = now();
      const granted = queue.then(() => grant(asked));
      queue = granted;
      return granted;
    },
    waitedMs: () => waitedTotal,
  };
}
