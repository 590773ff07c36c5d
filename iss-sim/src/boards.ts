import type { MarketKind } from '../../lib/moex/markets';
import { CATALOGUE, type Listing } from './catalogue';

/**
 * Every board the simulator serves, by market, with instruments at realistic levels: the rouble
 * rates near 90 (USD) and 12 (CNY), IMOEX near 3000, OFZ at 60-95 % of face with 13-16 % yields,
 * futures with open interest, funds near their NAV. Column sets per market: iss-response.ts.
 */
export interface SimBoard {
  engine: string;
  market: string;
  board: string;
  kind: MarketKind;
  listings: readonly Listing[];
  /** Bonds: coupon, maturity, face value. */
  bonds?: Readonly<Record<string, { coupon: number; couponRate: number; maturity: string; nextCoupon: string }>>;
  /** Futures: open interest at the start of the day, last trading day. */
  futures?: Readonly<Record<string, { openInterest: number; lastTradeDate: string; asset: string }>>;
}

const listing = (secid: string, shortName: string, secName: string, startPrice: number, lotSize: number): Listing => ({
  secid,
  shortName,
  secName,
  startPrice,
  lotSize,
});

export const SIM_BOARDS: readonly SimBoard[] = [
  { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', listings: CATALOGUE },
  {
    engine: 'stock',
    market: 'shares',
    board: 'TQTF',
    kind: 'shares',
    listings: [
      listing('LQDT', 'ВИМ - Ликв.', 'БПИФ "ВИМ - Ликвидность"', 1.78, 1),
      listing('TMOS', 'Т-Капитал IMOEX', 'БПИФ "Т-Капитал Индекс МосБиржи"', 6.52, 1),
      listing('SBMX', 'Первая - Топ Рос. акций', 'БПИФ "Первая - Топ Российских акций"', 15.3, 1),
    ],
  },
  {
    engine: 'currency',
    market: 'selt',
    board: 'CETS',
    kind: 'currency',
    listings: [
      listing('USD000UTSTOM', 'USDRUB_TOM', 'USD/РУБ', 90.52, 1000),
      listing('CNYRUB_TOM', 'CNYRUB_TOM', 'CNY/РУБ', 12.41, 1000),
      listing('EUR_RUB__TOM', 'EURRUB_TOM', 'EUR/РУБ', 98.35, 1000),
    ],
  },
  {
    engine: 'stock',
    market: 'index',
    board: 'SNDX',
    kind: 'index',
    listings: [
      listing('IMOEX', 'Индекс МосБиржи', 'Индекс МосБиржи', 3012.4, 1),
      listing('MOEXBC', 'Индекс голубых фишек', 'Индекс голубых фишек', 20150.2, 1),
      listing('RGBI', 'Индекс гособлигаций', 'Индекс RGBI', 112.35, 1),
    ],
  },
  {
    engine: 'stock',
    market: 'bonds',
    board: 'TQOB',
    kind: 'bonds',
    listings: [
      listing('SU26243RMFS4', 'ОФЗ 26243', 'ОФЗ-ПД 26243 17/05/2038', 72.35, 1),
      listing('SU26238RMFS4', 'ОФЗ 26238', 'ОФЗ-ПД 26238 15/05/2041', 61.2, 1),
      listing('SU26240RMFS0', 'ОФЗ 26240', 'ОФЗ-ПД 26240 30/07/2036', 66.8, 1),
      listing('SU26233RMFS5', 'ОФЗ 26233', 'ОФЗ-ПД 26233 18/07/2035', 64.1, 1),
      listing('SU26226RMFS9', 'ОФЗ 26226', 'ОФЗ-ПД 26226 06/10/2027', 97.6, 1),
      listing('SU26228RMFS5', 'ОФЗ 26228', 'ОФЗ-ПД 26228 10/04/2030', 84.9, 1),
    ],
    bonds: {
      SU26243RMFS4: { coupon: 48.87, couponRate: 9.8, maturity: '2038-05-19', nextCoupon: '2027-05-26' },
      SU26238RMFS4: { coupon: 35.4, couponRate: 7.1, maturity: '2041-05-15', nextCoupon: '2027-05-27' },
      SU26240RMFS0: { coupon: 34.9, couponRate: 7.0, maturity: '2036-07-30', nextCoupon: '2027-02-10' },
      SU26233RMFS5: { coupon: 30.42, couponRate: 6.1, maturity: '2035-07-18', nextCoupon: '2027-01-27' },
      SU26226RMFS9: { coupon: 39.64, couponRate: 7.95, maturity: '2027-10-06', nextCoupon: '2027-04-07' },
      SU26228RMFS5: { coupon: 38.15, couponRate: 7.65, maturity: '2030-04-10', nextCoupon: '2027-04-14' },
    },
  },
  {
    engine: 'futures',
    market: 'forts',
    board: 'RFUD',
    kind: 'futures',
    listings: [
      listing('SiZ6', 'Si-12.26', 'Фьючерсный контракт Si-12.26', 91250, 1),
      listing('BRF7', 'BR-1.27', 'Фьючерсный контракт BR-1.27', 74.35, 1),
      listing('MXZ6', 'MIX-12.26', 'Фьючерсный контракт MIX-12.26', 3015.5, 1),
      listing('CRZ6', 'CNY-12.26', 'Фьючерсный контракт CNY-12.26', 12.52, 1),
    ],
    futures: {
      SiZ6: { openInterest: 3_296_352, lastTradeDate: '2026-12-17', asset: 'Si' },
      BRF7: { openInterest: 612_480, lastTradeDate: '2026-12-30', asset: 'BR' },
      MXZ6: { openInterest: 48_214, lastTradeDate: '2026-12-17', asset: 'MIX' },
      CRZ6: { openInterest: 1_104_233, lastTradeDate: '2026-12-17', asset: 'CNY' },
    },
  },
];

export function simBoard(engine: string, market: string, board: string, boards: readonly SimBoard[] = SIM_BOARDS): SimBoard | undefined {
  return boards.find((b) => b.engine === engine && b.market === market && b.board === board.toUpperCase());
}

/** ISS_SIM_SCALE's ceiling: the whole of MOEX's boards together list fewer securities than this. */
export const MAX_SIM_SECURITIES = 50_000;

/** A generated instrument: its listing and, for bonds and futures, its terms. */
interface Generated {
  listing: Listing;
  bond?: NonNullable<SimBoard['bonds']>[string];
  future?: NonNullable<SimBoard['futures']>[string];
}

/** Deterministic 0..1 of an index, so every run generates the same instruments. */
const spread = (i: number, salt: number) => (((i + 1) * 2654435761 + salt * 40503) % 1_000_003) / 1_000_003;
const two = (n: number) => String(n).padStart(2, '0');

/** Per board (by id; by market kind otherwise): how the i-th generated instrument looks. */
function generator(board: SimBoard): (i: number) => Generated {
  const n = (i: number) => String(i + 1).padStart(5, '0');
  switch (board.board) {
    case 'TQTF':
      return (i) => ({ listing: listing(`EX${n(i)}`, `Фонд ${n(i)}`, `БПИФ "Симулятор ${n(i)}"`, Math.round((1 + spread(i, 1) * 30) * 1000) / 1000, 1) });
    case 'CETS':
      return (i) => ({ listing: listing(`CX${n(i)}_TOM`, `CX${n(i)}_TOM`, `Валюта ${n(i)}/РУБ`, Math.round((0.5 + spread(i, 2) * 120) * 1e4) / 1e4, 1000) });
  }
  switch (board.kind) {
    case 'index':
      return (i) => ({ listing: listing(`IX${n(i)}`, `Индекс ${n(i)}`, `Индекс-симулятор ${n(i)}`, Math.round((100 + spread(i, 3) * 30_000) * 100) / 100, 1) });
    case 'bonds':
      return (i) => {
        const year = 2027 + Math.floor(spread(i, 4) * 20);
        const couponRate = Math.round((5 + spread(i, 5) * 10) * 100) / 100;
        return {
          listing: listing(
            `SU${String(90_000 + i).slice(-5)}RMFS${i % 10}`,
            `ОФЗ ${n(i)}`,
            `ОФЗ-ПД ${n(i)} ${year}`,
            Math.round((60 + spread(i, 6) * 40) * 100) / 100,
            1,
          ),
          bond: {
            coupon: Math.round(couponRate * 5 * 100) / 100,
            couponRate,
            maturity: `${year}-${two(1 + (i % 12))}-15`,
            nextCoupon: `2027-${two(1 + (i % 6))}-15`,
          },
        };
      };
    case 'futures':
      return (i) => ({
        listing: listing(`FX${n(i)}`, `FX-${n(i)}`, `Фьючерсный контракт FX-${n(i)}`, Math.round((10 + spread(i, 7) * 100_000) * 100) / 100, 1),
        future: { openInterest: 1000 + Math.floor(spread(i, 8) * 2_000_000), lastTradeDate: '2026-12-17', asset: `FX${n(i)}` },
      });
    default:
      return (i) => ({ listing: listing(`SX${n(i)}`, `Акция ${n(i)}`, `Simulated share ${n(i)}`, Math.round((1 + spread(i, 9) * 5000) * 100) / 100, 10) });
  }
}

/**
 * ISS_SIM_SCALE: the boards with generated instruments added after their own, spread evenly, until
 * they list `total` securities together (at most MAX_SIM_SECURITIES). Each generated instrument is
 * of its board's market (a bond has a coupon and a maturity, a future its open interest), so every
 * market answers in its real columns at any scale. A total at or below the boards' own count
 * changes nothing.
 */
export function scaleBoards(boards: readonly SimBoard[], total: number): readonly SimBoard[] {
  const own = boards.reduce((sum, b) => sum + b.listings.length, 0);
  const extra = Math.max(0, Math.min(total, MAX_SIM_SECURITIES) - own);
  if (extra === 0) return boards;
  return boards.map((board, at) => {
    const count = Math.floor(extra / boards.length) + (at < extra % boards.length ? 1 : 0);
    const make = generator(board);
    const generated = Array.from({ length: count }, (_, i) => make(i));
    const terms = <T>(pick: (g: Generated) => T | undefined) =>
      Object.fromEntries(
        generated.flatMap((g) => {
          const t = pick(g);
          return t ? [[g.listing.secid, t] as const] : [];
        }),
      );
    return {
      ...board,
      listings: [...board.listings, ...generated.map((g) => g.listing)],
      ...(board.bonds ? { bonds: { ...board.bonds, ...terms((g) => g.bond) } } : {}),
      ...(board.futures ? { futures: { ...board.futures, ...terms((g) => g.future) } } : {}),
    };
  });
}
