import { black76Greeks, black76Price, smileVolatility, type Greeks } from './black76';
import type { SimBoard } from './boards';
import type { Market, SecurityState, Session } from './market';
import { moscowDateTime } from './moscow-time';
import { OPTION_ASSETS, optionSeriesOn, underlyingFuturesListings, type OptionAsset, type OptionSeries } from './option-series';

/**
 * The simulated options market: ROPD's ~30,000 series priced by Black-76 on their underlying's walk
 * (a futures or share the Market walks), with the smile of black76.ts. Nothing is walked per series:
 * a series' quote is a function of its underlying's state and the time, computed for the whole board
 * when asked and kept for that second, so the board costs nothing between polls and the Options
 * Calculator answers from the very numbers the board was built from.
 */

/** One series' numbers at one moment. Prices are 0 where ISS sends 0: no trade, no quote, or off-hours. */
export interface OptionQuote {
  series: OptionSeries;
  /** The underlying's price the series was priced on. */
  forward: number;
  years: number;
  /** Implied volatility, 0.3 = 30 %. */
  volatility: number;
  theoretical: number;
  last: number;
  bid: number;
  offer: number;
  open: number;
  high: number;
  low: number;
  numTrades: number;
  volToday: number;
  valToday: number;
  openPosition: number;
  oiChange: number;
  prevSettle: number;
  underlyingSettle: number;
}

/** One day's series, with the indices the board's and the calculator's requests look them up by. */
export interface SeriesDay {
  day: number;
  list: readonly OptionSeries[];
  bySecid: ReadonlyMap<string, number>;
  /** Upper-cased asset code → optionseries_code → indices of its series (strike order, call then put). */
  byAsset: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
  underlyings: readonly string[];
}

const DAY_MS = 86_400_000;
/** UTC midnight of the Moscow date of `at`: the day a board's series belong to. */
const moscowDay = (at: Date) => Date.parse(`${moscowDateTime(at).slice(0, 10)}T00:00:00Z`);
const YEAR_MS = 365 * DAY_MS;

/**
 * A series' implied volatility when its underlying stands at `forward`: the smile anchored to the
 * strikes around the settlement price (sticky strike), lifted as the underlying falls below it and
 * lowered as it rises (the leverage effect), so every strike's IV moves with the walk.
 */
export function volatilityAt(series: OptionSeries, settlement: number, forward: number, years: number): number {
  const lift = Math.min(2, Math.max(0.5, settlement / forward));
  return smileVolatility(series.asset.atmVolatility, settlement, series.strike, years) * lift;
}

const onStep = (price: number, asset: OptionAsset) => Number((Math.round(price / asset.minStep) * asset.minStep).toFixed(asset.decimals));

/**
 * A series' quote on its underlying's state `u` at `at`; `session` overrides the underlying's (faults).
 * `prevSettle`: the series' settlement price of the previous evening (the day's constant).
 */
export function quoteOf(series: OptionSeries, u: SecurityState, at: number, session: Session, prevSettle: number): OptionQuote {
  const { asset, strike, kind } = series;
  const years = Math.max(3_600_000, series.expiresAt - at) / YEAR_MS;
  const priceOn = (forward: number) => black76Price(kind, forward, strike, years, volatilityAt(series, u.prevPrice, forward, years));
  const volatility = volatilityAt(series, u.prevPrice, u.last, years);
  const theoretical = black76Price(kind, u.last, strike, years, volatility);
  const moneyness = Math.log(strike / u.last) / (asset.atmVolatility * Math.sqrt(years));
  // Trades gather near the money; the underlying's trade count is the day's clock.
  const numTrades = session === 'pre-open' ? 0 : Math.floor(Math.exp((-moneyness * moneyness) / 2) * (0.2 + series.salt) * (u.trades / 40));
  const traded = numTrades > 0 && theoretical >= asset.minStep / 2;
  const trading = session === 'trading';
  const step = asset.minStep;
  const volToday = traded ? numTrades * (1 + Math.floor(series.salt * 9)) : 0;
  const oiChange = session === 'pre-open' ? 0 : Math.round(series.prevOpenPosition * 0.08 * (2 * ((series.salt * 7) % 1) - 1) * Math.min(1, u.trades / 10_000));
  const quote: OptionQuote = {
    series,
    forward: u.last,
    years,
    volatility,
    theoretical,
    last: 0,
    bid: trading && theoretical > 2 * step ? onStep(theoretical * 0.97 - step, asset) : 0,
    offer: trading ? Math.max(step, onStep(theoretical * 1.03 + step, asset)) : 0,
    open: 0,
    high: 0,
    low: 0,
    numTrades,
    volToday,
    valToday: Math.round(volToday * theoretical * asset.roublesPerPoint),
    openPosition: series.prevOpenPosition + oiChange,
    oiChange,
    prevSettle,
    underlyingSettle: u.prevPrice,
  };
  if (traded && trading) {
    // The day's prices where the underlying stood at its open, high and low (the same smile), so they move with it.
    const open = priceOn(u.open);
    const atHigh = priceOn(u.high);
    const atLow = priceOn(u.low);
    quote.last = Math.max(step, onStep(theoretical, asset));
    quote.open = Math.max(step, onStep(open, asset));
    quote.high = Math.max(step, onStep(Math.max(open, atHigh, atLow, theoretical), asset));
    quote.low = Math.max(step, onStep(Math.min(open, atHigh, atLow, theoretical), asset));
  }
  return quote;
}

/** A series' settlement price of the previous evening: priced on the underlying's settlement a day further from expiry. */
export function prevSettleOf(series: OptionSeries, u: SecurityState, dayStart: number): number {
  const years = (Math.max(3_600_000, series.expiresAt - dayStart) + DAY_MS) / YEAR_MS;
  const price = black76Price(series.kind, u.prevPrice, series.strike, years, volatilityAt(series, u.prevPrice, u.prevPrice, years));
  return Math.max(series.asset.minStep, onStep(price, series.asset));
}

/** A series' greeks in the calculator's units, on the same model and moment as its quote. */
export const greeksOf = (q: OptionQuote): Greeks => black76Greeks(q.series.kind, q.forward, q.series.strike, q.years, q.volatility);

export class OptionsBook {
  private day: SeriesDay | null = null;
  private priced: { key: string; quotes: OptionQuote[] } | null = null;
  /** Each series' previous settlement, and the underlying settlement it was priced on (a test may set another). */
  private settled: { on: Float64Array; price: Float64Array } | null = null;

  /** `underlyingOf(secid)`: the walking state of a futures or share (the Market's), undefined when none. */
  constructor(
    private readonly underlyingOf: (secid: string) => SecurityState | undefined,
    private readonly assets: readonly OptionAsset[] = OPTION_ASSETS,
  ) {}

  /** The series listed on the Moscow date of `at`: built at the day's first request around the underlyings' settlement prices. */
  series(at: Date): SeriesDay {
    const day = moscowDay(at);
    if (this.day?.day === day) return this.day;
    const list = optionSeriesOn(day, (secid) => this.underlyingOf(secid)?.prevPrice, this.assets);
    const byAsset = new Map<string, Map<string, number[]>>();
    list.forEach((s, i) => {
      const key = s.asset.asset.toUpperCase();
      let codes = byAsset.get(key);
      if (!codes) byAsset.set(key, (codes = new Map()));
      codes.set(s.seriesCode, [...(codes.get(s.seriesCode) ?? []), i]);
    });
    this.day = {
      day,
      list,
      bySecid: new Map(list.map((s, i) => [s.secid.toUpperCase(), i])),
      byAsset,
      underlyings: [...new Set(list.map((s) => s.underlying))],
    };
    this.priced = null;
    this.settled = { on: new Float64Array(list.length).fill(NaN), price: new Float64Array(list.length) };
    return this.day;
  }

  /**
   * The quote of the series at an index of series(at).list, at `at`: each computed when first asked
   * and kept while the second and the underlyings' state stay the same, so a poll of the whole board
   * and the calculator's answers in that second share one computation, and a request for a few series
   * (a `securities=` list, one calculator series) prices only those. `session` (the closed and
   * pre-open faults) overrides the underlyings' sessions.
   */
  quoteReader(at: Date, session: Session | null = null): (index: number) => OptionQuote {
    const day = this.series(at);
    const states = day.underlyings.map((secid) => this.underlyingOf(secid));
    const key = [
      Math.floor(at.getTime() / 1000),
      session,
      ...states.map((u) => (u ? `${u.last}/${u.open}/${u.high}/${u.low}/${u.prevPrice}/${u.trades}/${u.session}` : '-')),
    ].join('|');
    if (this.priced?.key !== key) this.priced = { key, quotes: new Array<OptionQuote>(day.list.length) };
    const { quotes } = this.priced;
    const byUnderlying = new Map(day.underlyings.map((secid, i) => [secid, states[i]!]));
    const t = at.getTime();
    const settled = this.settled!;
    return (i) => {
      const cached = quotes[i];
      if (cached) return cached;
      const s = day.list[i]!;
      const u = byUnderlying.get(s.underlying)!;
      if (settled.on[i] !== u.prevPrice) {
        settled.on[i] = u.prevPrice;
        settled.price[i] = prevSettleOf(s, u, day.day);
      }
      return (quotes[i] = quoteOf(s, u, t, session ?? u.session, settled.price[i]!));
    };
  }

  /** Every series' quote at `at`, aligned with series(at).list. */
  quotes(at: Date, session: Session | null = null): readonly OptionQuote[] {
    const quoteAt = this.quoteReader(at, session);
    return this.series(at).list.map((_, i) => quoteAt(i));
  }
}

/**
 * ROPD as the Market holds it: its rows are option series (OptionsBook), its listings the futures they
 * are written on that no board of `boards` lists already (RFUD's SiZ6 is shared, so Si's options move with it).
 */
export function optionsBoardBeside(boards: readonly SimBoard[], at: Date): SimBoard {
  const listed = new Set(boards.flatMap((b) => b.listings.map((l) => l.secid)));
  return {
    engine: 'futures',
    market: 'options',
    board: 'ROPD',
    kind: 'options',
    listings: underlyingFuturesListings(moscowDay(at)).filter((l) => !listed.has(l.secid)),
  };
}

/** An option's underlying in the Market: a futures of ROPD's own or of RFUD, or a share of TQBR. */
export function underlyingsIn(market: Market): (secid: string) => SecurityState | undefined {
  const states = new Map<string, SecurityState>();
  for (const id of ['ROPD', 'RFUD', 'TQBR']) for (const [secid, state] of market.boards.get(id) ?? []) if (!states.has(secid)) states.set(secid, state);
  return (secid) => states.get(secid);
}
