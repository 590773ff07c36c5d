import { CANDLES_PAGE_ROWS } from '../../lib/moex/candles';
import { moscowDateTime, parseMoscowDateTime } from './moscow-time';
import { round, type SecurityState } from './market';

/**
 * The simulator's 1-minute candles, built from the same random walk its quotes come from: every
 * observation of a trading security (each second, and at each ISS request) moves its minute's
 * high/low/close; volume and value are what the day's totals grew by. A minute in which a security
 * did not trade has no candle, as on ISS. History is a bounded ring per security.
 */

interface SimCandle {
  /** Minute start, unix ms. */
  begin: number;
  /** Last observation in the minute, unix ms. */
  lastAt: number;
  open: number;
  high: number;
  low: number;
  close: number;
  value: number;
  volume: number;
}

const MINUTE = 60_000;

export class CandleBook {
  private readonly candles = new Map<string, SimCandle[]>();
  private readonly totals = new Map<string, { volume: number; value: number }>();

  /** `maxMinutes`: the ring's length per security (a day by default). */
  constructor(private readonly maxMinutes = 24 * 60) {}

  /** The state of one board's securities at data time `at`. */
  observe(board: string, states: Iterable<SecurityState>, at: Date): void {
    const t = at.getTime();
    const begin = Math.floor(t / MINUTE) * MINUTE;
    for (const s of states) {
      const secid = `${board}:${s.listing.secid}`;
      const before = this.totals.get(secid);
      this.totals.set(secid, { volume: s.volume, value: s.value });
      if (s.session !== 'trading') continue;
      // A hand-set lower total (a test's PATCH) is a new day, not negative volume.
      const volume = before && s.volume >= before.volume ? s.volume - before.volume : 0;
      const value = before && s.value >= before.value ? s.value - before.value : 0;
      let ring = this.candles.get(secid);
      if (!ring) this.candles.set(secid, (ring = []));
      const current = ring.at(-1);
      if (current && current.begin === begin) {
        current.high = Math.max(current.high, s.last);
        current.low = Math.min(current.low, s.last);
        current.close = s.last;
        current.volume += volume;
        current.value = round(current.value + value, 2);
        current.lastAt = Math.max(current.lastAt, t);
      } else if (!current || current.begin < begin) {
        ring.push({ begin, lastAt: t, open: s.last, high: s.last, low: s.last, close: s.last, volume, value: round(value, 2) });
        if (ring.length > this.maxMinutes) ring.splice(0, ring.length - this.maxMinutes);
      }
    }
  }

  /**
   * candles.json for one security, as ISS answers it: candles from `from` (to `till`), 500 rows
   * from row `start`. `end` is the minute's last second once it is over, else the last observation.
   */
  json(board: string, secid: string, params: URLSearchParams, now: Date, withMetadata: boolean) {
    const from = parseMoscowDateTime(params.get('from') ?? '') ?? parseMoscowDateTime(`${params.get('from')} 00:00:00`);
    const till = parseMoscowDateTime(params.get('till') ?? '') ?? parseMoscowDateTime(`${params.get('till')} 23:59:59`);
    const start = Math.max(0, Number(params.get('start') ?? 0) || 0);
    // Only 1-minute candles are simulated; ISS's other intervals answer empty here.
    const interval = params.get('interval') ?? '10';
    const all = interval === '1' ? (this.candles.get(`${board}:${secid}`) ?? []) : [];
    const rows = all
      .filter((c) => (!from || c.begin >= from.getTime()) && (!till || c.begin <= till.getTime()))
      .slice(start, start + CANDLES_PAGE_ROWS)
      .map((c) => {
        const end = c.begin + MINUTE <= now.getTime() ? c.begin + MINUTE - 1000 : c.lastAt;
        return [c.open, c.close, c.high, c.low, c.value, c.volume, moscowDateTime(new Date(c.begin)), moscowDateTime(new Date(end))];
      });
    const columns = ['open', 'close', 'high', 'low', 'value', 'volume', 'begin', 'end'];
    const metadata = Object.fromEntries(
      columns.map((c) => [c, c === 'begin' || c === 'end' ? { type: 'datetime', bytes: 19, max_size: 0 } : { type: 'double' }]),
    );
    return { candles: withMetadata ? { metadata, columns, data: rows } : { columns, data: rows } };
  }
}

/** The simulator's clock: real time plus an offset a test may move (PUT /sim/clock). */
export class SimClock {
  constructor(public offsetMs = 0) {}
  readonly now = () => Date.now() + this.offsetMs;
  date = () => new Date(this.now());
}

/**
 * Moves the clock `seconds` forward one second at a time, the market trading (`tradeOneSecond`:
 * walk and record candles) each second: minutes of trading in an instant (history at start, a test's gap).
 */
export function walkClock(seconds: number, clock: SimClock, tradeOneSecond: () => void): void {
  for (let i = 0; i < seconds; i++) {
    clock.offsetMs += 1000;
    tradeOneSecond();
  }
}
