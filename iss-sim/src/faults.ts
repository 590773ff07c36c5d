/**
 * Ways the simulator can answer badly or unusually, as ISS really does at times.
 * Chosen by env (SIM_FAULT, every request), by the control API (next N requests),
 * or per request with the query parameter `sim.fault`.
 */
export const FAULTS = [
  'http500', // 500 with a text body
  'http429', // 429 with Retry-After
  'timeout', // answers only after SIM_DELAY_MS, past any sane client timeout
  'reset', // the connection is reset before any answer
  'malformed-json', // 200, truncated JSON
  'html', // 200, an HTML error page (what a proxy in front of ISS sends)
  'html-200', // 200, ISS's HTML page for a request the login is not entitled to (no subscription, no token)
  'no-marketdata', // 200, the marketdata block is missing
  'reordered-columns', // 200, columns in another order plus unknown ones (valid ISS; clients must cope)
  'pre-open', // 200, every security before its first trade: LAST and day prices null, NUMTRADES 0
  'closed', // 200, after the close: BID/OFFER null, TRADINGSTATUS N
  'missing-ticker', // 200, one requested ticker absent (SIM_MISSING_TICKER, else the first requested)
] as const;

export type Fault = (typeof FAULTS)[number];

export function isFault(value: unknown): value is Fault {
  return typeof value === 'string' && (FAULTS as readonly string[]).includes(value);
}

/**
 * Which fault the next request gets: a queued one (count-limited, for every board or just one)
 * wins over the env default.
 */
export class FaultPlan {
  private queued: { fault: Fault; remaining: number | null; board: string | null } | null = null;

  constructor(private readonly standing: Fault | null) {}

  set(fault: Fault, count: number | null, board: string | null = null): void {
    this.queued = { fault, remaining: count, board: board?.toUpperCase() ?? null };
  }

  clear(): void {
    this.queued = null;
  }

  /** The fault for one request to `board`, consuming one use of a queued fault that applies to it. */
  take(board: string): Fault | null {
    if (this.queued && (this.queued.board === null || this.queued.board === board.toUpperCase())) {
      const { fault } = this.queued;
      if (this.queued.remaining !== null && --this.queued.remaining <= 0) this.queued = null;
      return fault;
    }
    return this.standing;
  }

  describe() {
    return { standing: this.standing, queued: this.queued };
  }
}
