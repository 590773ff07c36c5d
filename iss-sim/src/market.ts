import { SIM_BOARDS, type SimBoard } from './boards';
import { decimalsFor, type Listing } from './catalogue';

/** Where a security is in its trading day; drives which ISS cells are null. */
export type Session = 'trading' | 'pre-open' | 'closed';

/** The simulated state of one security; the numbers the ISS answer is built from. */
export interface SecurityState {
  listing: Listing;
  decimals: number;
  session: Session;
  prevPrice: number;
  last: number;
  open: number;
  high: number;
  low: number;
  bid: number;
  offer: number;
  volume: number;
  value: number;
  trades: number;
}

/** Fields a test may set by hand (PATCH /sim/securities/:secid). */
export type SecurityOverride = Partial<
  Pick<SecurityState, 'session' | 'prevPrice' | 'last' | 'open' | 'high' | 'low' | 'bid' | 'offer' | 'volume' | 'value' | 'trades'>
>;

export const round = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;

/** Standard normal sample (Box–Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function openingState(listing: Listing, random: () => number): SecurityState {
  const decimals = decimalsFor(listing.startPrice);
  const step = 10 ** -decimals;
  const prevPrice = listing.startPrice;
  const last = round(prevPrice * (1 + gaussian(random) * 0.004), decimals);
  const volume = listing.lotSize * (1000 + Math.floor(random() * 50_000));
  const open = round(prevPrice * (1 + gaussian(random) * 0.002), decimals);
  return {
    listing,
    decimals,
    session: 'trading',
    prevPrice,
    last,
    open,
    // The day's range so far holds the open and the last trade.
    high: Math.max(last, open),
    low: Math.min(last, open),
    bid: round(last - step, decimals),
    offer: round(last + step, decimals),
    volume,
    value: round(volume * last, 2),
    trades: 100 + Math.floor(random() * 5000),
  };
}

/**
 * `seconds` of trading in one step: a log-normal step of the price as wide as that many one-second
 * steps together, with their trades and volume. One step, not one per second, so a board of
 * thousands polled every 30 s costs one step per security.
 */
export function tick(s: SecurityState, random: () => number, seconds = 1): void {
  if (s.session !== 'trading') return;
  const step = 10 ** -s.decimals;
  s.last = Math.max(step, round(s.last * Math.exp(gaussian(random) * 0.0005 * Math.sqrt(seconds)), s.decimals));
  s.high = Math.max(s.high, s.last);
  s.low = Math.min(s.low, s.last);
  const spreadTicks = 1 + Math.floor(random() * 3);
  s.bid = Math.max(step, round(s.last - spreadTicks * step, s.decimals));
  s.offer = round(s.last + spreadTicks * step, s.decimals);
  const newTrades = Math.floor(random() * 20 * seconds);
  const newVolume = newTrades * s.listing.lotSize * (1 + Math.floor(random() * 10));
  s.trades += newTrades;
  s.volume += newVolume;
  s.value = round(s.value + newVolume * s.last, 2);
}

/**
 * Every simulated security of every board, walking with the clock while `walking`. Each board
 * catches up when it is asked for (advance(board)), so a poll of one board of a 50,000-security
 * market (ISS_SIM_SCALE) does not walk the others.
 */
export class Market {
  /** Board id → its securities by SECID. */
  readonly boards = new Map<string, Map<string, SecurityState>>();
  /** The shares of TQBR, the board the original stack polls. */
  readonly securities: Map<string, SecurityState>;
  walking: boolean;
  /** Board id → the instant its walk has caught up to. */
  private readonly advancedTo = new Map<string, number>();

  constructor(
    options: { walking?: boolean; random?: () => number; now?: () => number; boards?: readonly SimBoard[] } = {},
    private readonly random = options.random ?? Math.random,
    private readonly now = options.now ?? Date.now,
  ) {
    this.walking = options.walking ?? true;
    const start = this.now();
    for (const board of options.boards ?? SIM_BOARDS) {
      this.boards.set(board.board, new Map(board.listings.map((listing) => [listing.secid, openingState(listing, this.random)])));
      this.advancedTo.set(board.board, start);
    }
    this.securities = this.boards.get('TQBR')!;
  }

  /** Catches `board` (default: every board) up with the clock, at most a minute at once, so a long idle is cheap. */
  advance(board?: string): void {
    const now = this.now();
    for (const id of board === undefined ? this.boards.keys() : [board]) {
      const securities = this.boards.get(id);
      const from = this.advancedTo.get(id);
      if (!securities || from === undefined) continue;
      const seconds = Math.min(60, Math.floor((now - from) / 1000));
      if (seconds <= 0) continue;
      this.advancedTo.set(id, seconds === 60 ? now : from + seconds * 1000);
      if (this.walking) for (const s of securities.values()) tick(s, this.random, seconds);
    }
  }

  override(secid: string, values: SecurityOverride): SecurityState | undefined {
    const s = [...this.boards.values()].map((b) => b.get(secid)).find((x) => x !== undefined);
    if (s) Object.assign(s, values);
    return s;
  }
}
