import type { OptionKind } from './black76';
import type { Listing } from './catalogue';

/**
 * The series of the simulated options board ROPD: which assets, expiries and strikes it lists on a
 * given day, and how MOEX names them (moex.com/s1085; docs/iss.md). Pure: the same day and
 * underlying prices give the same board.
 *
 * - Options on futures (UNDERLYINGTYPE F): SECID `<2-letter code><strike>B<month><year digit>[week]`,
 *   SHORTNAME `<futures SHORTNAME>M<DDMMYY><C|P>A<strike>` (margined, American), expiring Thursdays.
 * - Options on shares (UNDERLYINGTYPE S): SECID `<code><strike>C<month><year>[week]`, SHORTNAME
 *   `<share>P<DDMMYY><C|P>E<strike>` (premium, European), expiring Wednesdays.
 * The month letter is A–L for calls (January–December) and M–X for puts; weekly series add the week's
 * letter (A: the month's first expiry weekday, B: the second, …); the month's third is the monthly
 * series, quarterly (Q) in March, June, September and December.
 */

export interface OptionAsset {
  /** ISS ASSETCODE and the calculator's asset_code. */
  asset: string;
  /** The SECID's 2-letter code. */
  prefix: string;
  underlyingType: 'F' | 'S';
  /** The calculator's asset_subtype and /assets title. */
  subtype: 'currency' | 'index' | 'commodity' | 'share';
  title: string;
  /** Futures: SECID head and SHORTNAME head (SiZ6, Si-12.26); shares: the share's SECID. */
  futuresSecid?: string;
  futuresShortName?: string;
  /** Futures listed monthly (BR, NG) rather than quarterly. */
  monthlyFutures?: boolean;
  /** Futures: the price level the board starts from when the futures is not on another board. */
  level: number;
  strikeStep: number;
  /** Option prices: decimals and minimum step. */
  decimals: number;
  minStep: number;
  /** Roubles per point of the option's price (theorprice_rub). */
  roublesPerPoint: number;
  /** At-the-money volatility at the underlying's settlement price (0.3 = 30 %). */
  atmVolatility: number;
  /** Open interest of an at-the-money monthly series, contracts. */
  openInterest: number;
}

const futuresAsset = (
  asset: string,
  prefix: string,
  subtype: OptionAsset['subtype'],
  title: string,
  fields: Omit<OptionAsset, 'asset' | 'prefix' | 'underlyingType' | 'subtype' | 'title' | 'futuresSecid' | 'futuresShortName'> & { head?: string },
): OptionAsset => ({ asset, prefix, underlyingType: 'F', subtype, title, futuresSecid: prefix, futuresShortName: fields.head ?? asset, ...fields });

const shareAsset = (
  asset: string,
  prefix: string,
  title: string,
  fields: Omit<OptionAsset, 'asset' | 'prefix' | 'underlyingType' | 'subtype' | 'title' | 'level'>,
): OptionAsset => ({
  asset,
  prefix,
  underlyingType: 'S',
  subtype: 'share',
  title,
  level: 0,
  ...fields,
});

/** The assets whose options the simulator lists, at realistic levels, strike steps and volatilities. */
export const OPTION_ASSETS: readonly OptionAsset[] = [
  futuresAsset('Si', 'Si', 'currency', 'Курс доллар США - российский рубль', {
    level: 91250,
    strikeStep: 250,
    decimals: 0,
    minStep: 1,
    roublesPerPoint: 1,
    atmVolatility: 0.14,
    openInterest: 60_000,
  }),
  futuresAsset('RTS', 'RI', 'index', 'Индекс РТС', {
    level: 110_000,
    strikeStep: 2500,
    decimals: 0,
    minStep: 10,
    roublesPerPoint: 1.81,
    atmVolatility: 0.32,
    openInterest: 25_000,
  }),
  futuresAsset('BR', 'BR', 'commodity', 'Нефть Brent', {
    level: 74.35,
    strikeStep: 0.5,
    decimals: 2,
    minStep: 0.01,
    roublesPerPoint: 905,
    atmVolatility: 0.36,
    openInterest: 30_000,
    monthlyFutures: true,
  }),
  futuresAsset('NG', 'NG', 'commodity', 'Природный газ', {
    level: 3.512,
    strikeStep: 0.05,
    decimals: 3,
    minStep: 0.001,
    roublesPerPoint: 9050,
    atmVolatility: 0.62,
    openInterest: 20_000,
    monthlyFutures: true,
  }),
  futuresAsset('GOLD', 'GD', 'commodity', 'Золото', {
    level: 2650.4,
    strikeStep: 10,
    decimals: 1,
    minStep: 0.1,
    roublesPerPoint: 90.5,
    atmVolatility: 0.18,
    openInterest: 8000,
  }),
  futuresAsset('MIX', 'MX', 'index', 'Индекс МосБиржи', {
    level: 3015.5,
    strikeStep: 25,
    decimals: 2,
    minStep: 0.05,
    roublesPerPoint: 10,
    atmVolatility: 0.27,
    openInterest: 4000,
  }),
  futuresAsset('CNY', 'CR', 'currency', 'Курс китайский юань - российский рубль', {
    level: 12.52,
    strikeStep: 0.05,
    decimals: 3,
    minStep: 0.001,
    roublesPerPoint: 1000,
    atmVolatility: 0.11,
    openInterest: 12_000,
  }),
  futuresAsset('GAZR', 'GZ', 'share', 'Газпром (ао)', {
    level: 13_020,
    strikeStep: 250,
    decimals: 0,
    minStep: 1,
    roublesPerPoint: 1,
    atmVolatility: 0.34,
    openInterest: 15_000,
  }),
  futuresAsset('SBRF', 'SR', 'share', 'Сбербанк (ао)', {
    level: 30_050,
    strikeStep: 250,
    decimals: 0,
    minStep: 1,
    roublesPerPoint: 1,
    atmVolatility: 0.29,
    openInterest: 18_000,
  }),
  shareAsset('SBER', 'SR', 'Сбербанк (ао)', { strikeStep: 5, decimals: 2, minStep: 0.01, roublesPerPoint: 1, atmVolatility: 0.29, openInterest: 9000 }),
  shareAsset('GAZP', 'GZ', 'Газпром (ао)', { strikeStep: 2.5, decimals: 2, minStep: 0.01, roublesPerPoint: 1, atmVolatility: 0.34, openInterest: 7000 }),
  shareAsset('LKOH', 'LK', 'ЛУКОЙЛ (ао)', { strikeStep: 100, decimals: 1, minStep: 0.5, roublesPerPoint: 1, atmVolatility: 0.27, openInterest: 3000 }),
  shareAsset('YDEX', 'YD', 'Яндекс (ао)', { strikeStep: 50, decimals: 1, minStep: 0.5, roublesPerPoint: 1, atmVolatility: 0.38, openInterest: 3000 }),
];

export type SeriesType = 'W' | 'M' | 'Q';

/** One option series of the board. */
export interface OptionSeries {
  secid: string;
  shortName: string;
  secName: string;
  asset: OptionAsset;
  kind: OptionKind;
  strike: number;
  /** The strike nearest the underlying's settlement price: the same for every series of one expiry. */
  centralStrike: number;
  /** The last trading day, YYYY-MM-DD. */
  expiry: string;
  /** The instant it expires: the evening clearing of that day, 18:50 Moscow (15:50 UTC). */
  expiresAt: number;
  seriesType: SeriesType;
  /** The calculator's optionseries_code: every strike and both kinds of one expiry. */
  seriesCode: string;
  /** The underlying: a futures SECID (SiH7) or the share's (SBER). */
  underlying: string;
  prevOpenPosition: number;
  /** Deterministic 0..1 of the series: how liquid it is and which way its open interest moves today. */
  salt: number;
}

const CALL_MONTHS = 'ABCDEFGHIJKL';
const PUT_MONTHS = 'MNOPQRSTUVWX';
const FUTURES_MONTHS = 'FGHJKMNQUVXZ';
const DAY_MS = 86_400_000;
const EXPIRY_TIME_MS = (15 * 60 + 50) * 60_000;
const two = (n: number) => String(n).padStart(2, '0');
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** Strikes as ISS writes them: no trailing zeros, no float noise (74.5, 3.55, 91250). */
export const strikeText = (strike: number) => String(Number(strike.toFixed(6)));

/** Deterministic 0..1 of a text, so the same series has the same open interest every run. */
function hash01(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

/** UTC midnight of the `nth` (1-based) `weekday` (0 Sunday) of a month. */
function nthWeekday(year: number, month: number, weekday: number, nth: number): number {
  const first = Date.UTC(year, month, 1);
  const offset = (weekday - new Date(first).getUTCDay() + 7) % 7;
  return first + (offset + (nth - 1) * 7) * DAY_MS;
}

/** A futures' last trading day: the third Thursday of its month (as Si, RTS and the share futures). */
const futuresExpiry = (year: number, month: number) => nthWeekday(year, month, 4, 3);

interface Expiry {
  day: number;
  type: SeriesType;
  /** Weekly series: the week's letter (A first expiry weekday of the month). */
  week: string;
}

/**
 * The asset's expiries after `today` (UTC midnight of the Moscow date): the next weeklies, the next
 * monthlies and the next two quarterlies. Options on futures expire Thursdays, on shares Wednesdays.
 */
export function expiriesOf(asset: OptionAsset, today: number): Expiry[] {
  const weekday = asset.underlyingType === 'F' ? 4 : 3;
  const weeklies = asset.underlyingType === 'F' ? 6 : 4;
  const monthlies = asset.underlyingType === 'F' ? 4 : 3;
  const byDay = new Map<number, Expiry>();
  const classify = (day: number): Expiry => {
    const d = new Date(day);
    const nth = Math.floor((d.getUTCDate() - 1) / 7) + 1;
    if (nth !== 3) return { day, type: 'W', week: 'ABCDE'[nth - 1]! };
    return { day, type: d.getUTCMonth() % 3 === 2 ? 'Q' : 'M', week: '' };
  };
  let next = today + ((weekday - new Date(today).getUTCDay() + 7) % 7 || 7) * DAY_MS;
  for (let i = 0; i < weeklies; i++, next += 7 * DAY_MS) byDay.set(next, classify(next));
  const start = new Date(today);
  let quarterlies = 0;
  for (let m = 0; m < 12 && (m < monthlies + 1 || quarterlies < 2); m++) {
    const year = start.getUTCFullYear() + Math.floor((start.getUTCMonth() + m) / 12);
    const month = (start.getUTCMonth() + m) % 12;
    const day = nthWeekday(year, month, weekday, 3);
    if (day <= today) continue;
    const expiry = classify(day);
    if (expiry.type === 'Q') quarterlies++;
    else if (m >= monthlies + 1) continue;
    byDay.set(day, expiry);
  }
  return [...byDay.values()].sort((a, b) => a.day - b.day);
}

/** The futures an option expiring on `day` is written on: the asset's first futures expiring that day or later. */
export function underlyingFutures(asset: OptionAsset, day: number): { secid: string; shortName: string; expiry: string } {
  const d = new Date(day);
  for (let m = 0; ; m++) {
    const year = d.getUTCFullYear() + Math.floor((d.getUTCMonth() + m) / 12);
    const month = (d.getUTCMonth() + m) % 12;
    if (!asset.monthlyFutures && month % 3 !== 2) continue;
    const expiry = futuresExpiry(year, month);
    if (expiry < day) continue;
    return {
      secid: `${asset.futuresSecid}${FUTURES_MONTHS[month]}${year % 10}`,
      shortName: `${asset.futuresShortName}-${month + 1}.${two(year % 100)}`,
      expiry: isoDay(expiry),
    };
  }
}

/** The futures the board's series need in the year after `today`, as listings starting near the asset's level (carry ~0.5 % a month). */
export function underlyingFuturesListings(today: number, assets: readonly OptionAsset[] = OPTION_ASSETS): Listing[] {
  const listings = new Map<string, Listing>();
  for (const asset of assets) {
    if (asset.underlyingType !== 'F') continue;
    for (let m = 0; m < 13; m++) {
      const future = underlyingFutures(asset, today + m * 30 * DAY_MS);
      const monthsAhead = (Date.parse(future.expiry) - today) / (30 * DAY_MS);
      const startPrice = Number((asset.level * (1 + 0.005 * monthsAhead)).toFixed(asset.decimals + 2));
      listings.set(future.secid, {
        secid: future.secid,
        shortName: future.shortName,
        secName: `Фьючерсный контракт ${future.shortName}`,
        startPrice,
        lotSize: 1,
      });
    }
  }
  return [...listings.values()];
}

/** How many strikes each side of the central strike a series type lists (the board's size: about 30,000 series). */
const STRIKES_EACH_SIDE: Record<SeriesType, number> = { W: 52, M: 70, Q: 88 };

/**
 * Every series of the board on the Moscow date `today` (UTC midnight), around each underlying's
 * settlement price (`settlementOf(underlying)`; undefined: that underlying is not listed, nor its
 * series). Rows in ISS's order: by asset, expiry, strike, calls before puts.
 */
export function optionSeriesOn(
  today: number,
  settlementOf: (underlying: string) => number | undefined,
  assets: readonly OptionAsset[] = OPTION_ASSETS,
): OptionSeries[] {
  const series: OptionSeries[] = [];
  for (const asset of assets) {
    for (const expiry of expiriesOf(asset, today)) {
      const date = new Date(expiry.day);
      const ddmmyy = `${two(date.getUTCDate())}${two(date.getUTCMonth() + 1)}${two(date.getUTCFullYear() % 100)}`;
      const futures = asset.underlyingType === 'F' ? underlyingFutures(asset, expiry.day) : null;
      const underlying = futures?.secid ?? asset.asset;
      const settlement = settlementOf(underlying);
      if (settlement === undefined) continue;
      const step = asset.strikeStep;
      const centralStrike = Number((Math.round(settlement / step) * step).toFixed(6));
      const head = futures ? `${futures.shortName}M${ddmmyy}` : `${asset.asset}P${ddmmyy}`;
      const style = futures ? 'A' : 'E';
      const seriesCode = `${head}X${style}`;
      const years = Math.max(1, (expiry.day - today) / DAY_MS) / 365;
      const each = STRIKES_EACH_SIDE[expiry.type];
      const typeFactor = expiry.type === 'W' ? 0.4 : expiry.type === 'M' ? 1 : 1.6;
      for (let i = -each; i <= each; i++) {
        const strike = Number((centralStrike + i * step).toFixed(6));
        if (strike <= 0) continue;
        // Open interest gathers near the money (in standard deviations of the expiry).
        const x = Math.log(strike / settlement) / (asset.atmVolatility * Math.sqrt(years));
        for (const kind of ['call', 'put'] as const) {
          const letter = (kind === 'call' ? CALL_MONTHS : PUT_MONTHS)[date.getUTCMonth()]!;
          const secid = `${asset.prefix}${strikeText(strike)}${futures ? 'B' : 'C'}${letter}${date.getUTCFullYear() % 10}${expiry.week}`;
          const cp = kind === 'call' ? 'C' : 'P';
          const near = Math.exp((-x * x) / 2);
          const salt = hash01(secid);
          series.push({
            secid,
            shortName: `${head}${cp}${style}${strikeText(strike)}`,
            secName: `${futures ? 'Марж. амер.' : 'Прем. евр.'} ${kind === 'call' ? 'Call' : 'Put'} ${strikeText(strike)} с исп. ${ddmmyy.slice(0, 2)}.${ddmmyy.slice(2, 4)}.${ddmmyy.slice(4)} на ${futures?.shortName ?? asset.asset}`,
            asset,
            kind,
            strike,
            centralStrike,
            expiry: isoDay(expiry.day),
            expiresAt: expiry.day + EXPIRY_TIME_MS,
            seriesType: expiry.type,
            seriesCode,
            underlying,
            prevOpenPosition: Math.round(asset.openInterest * typeFactor * near * (0.3 + 0.7 * salt)) + (near > 0.01 ? 1 : 0),
            salt,
          });
        }
      }
    }
  }
  return series;
}
