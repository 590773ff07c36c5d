import { ALGOPACK_PAGE_ROWS, DATASETS, type AlgopackDataset, type AlgopackMarket } from '../../lib/moex/algopack/datasets';
import { formatMoscowTime } from '../../lib/moex/moscow-time';
import type { SimBoard } from './boards';
import { decimalsFor } from './catalogue';
import { round } from './market';

/**
 * The simulator's ALGOPACK: 5-minute super candles (tradestats, orderstats, obstats) of its
 * boards' instruments and futures open interest (futoi), in the real column sets of MOEX's
 * example answers (test/fixtures/iss/real/algopack/). Every instrument has a bar in every window
 * since the simulator's clock started; a bar's values are a pure function of its instrument and
 * end time, so pages read at different times agree. A bar is published 10 s after its window
 * ends (SYSTIME), as MOEX's are. Rows of a day are ordered by bar end, then instrument, and
 * paged by 1,000 with `data.cursor`, as ISS pages them; `latest=1` gives the newest bar only.
 * A security delisted through the control API (delistings.ts) is in no answer from then on (futoi:
 * an asset once all its contracts are).
 */

const BAR_MS = 5 * 60_000;
const PUBLISH_DELAY_MS = 10_000;

/** The real column order of each served dataset (MOEX's OpenAPI example answers of 2026-01-09). */
const COLUMNS: Readonly<Record<string, readonly string[]>> = {
  'eq/tradestats': [
    'tradedate',
    'tradetime',
    'secid',
    'pr_open',
    'pr_high',
    'pr_low',
    'pr_close',
    'pr_std',
    'vol',
    'val',
    'trades',
    'pr_vwap',
    'pr_change',
    'trades_b',
    'trades_s',
    'val_b',
    'val_s',
    'vol_b',
    'vol_s',
    'disb',
    'pr_vwap_b',
    'pr_vwap_s',
    'SYSTIME',
    'sec_pr_open',
    'sec_pr_high',
    'sec_pr_low',
    'sec_pr_close',
  ],
  'fo/tradestats': [
    'tradedate',
    'tradetime',
    'secid',
    'asset_code',
    'pr_open',
    'pr_high',
    'pr_low',
    'pr_close',
    'pr_std',
    'vol',
    'val',
    'trades',
    'pr_vwap',
    'pr_change',
    'trades_b',
    'trades_s',
    'val_b',
    'val_s',
    'vol_b',
    'vol_s',
    'disb',
    'pr_vwap_b',
    'pr_vwap_s',
    'im',
    'oi_open',
    'oi_high',
    'oi_low',
    'oi_close',
    'sec_pr_open',
    'sec_pr_high',
    'sec_pr_low',
    'sec_pr_close',
    'SYSTIME',
  ],
  'fx/tradestats': [
    'tradedate',
    'tradetime',
    'secid',
    'pr_open',
    'pr_high',
    'pr_low',
    'pr_close',
    'pr_std',
    'vol',
    'val',
    'trades',
    'pr_vwap',
    'pr_change',
    'trades_b',
    'trades_s',
    'val_b',
    'val_s',
    'vol_b',
    'vol_s',
    'disb',
    'pr_vwap_b',
    'pr_vwap_s',
    'sec_pr_open',
    'sec_pr_high',
    'sec_pr_low',
    'sec_pr_close',
    'SYSTIME',
  ],
  'eq/orderstats': [
    'tradedate',
    'tradetime',
    'secid',
    'put_orders_b',
    'put_orders_s',
    'put_val_b',
    'put_val_s',
    'put_vol_b',
    'put_vol_s',
    'put_vwap_b',
    'put_vwap_s',
    'put_vol',
    'put_val',
    'put_orders',
    'cancel_orders_b',
    'cancel_orders_s',
    'cancel_val_b',
    'cancel_val_s',
    'cancel_vol_b',
    'cancel_vol_s',
    'cancel_vwap_b',
    'cancel_vwap_s',
    'cancel_vol',
    'cancel_val',
    'cancel_orders',
    'SYSTIME',
  ],
  'fx/orderstats': [
    'tradedate',
    'tradetime',
    'secid',
    'put_orders_b',
    'put_orders_s',
    'put_val_b',
    'put_val_s',
    'put_vol_b',
    'put_vol_s',
    'put_vwap_b',
    'put_vwap_s',
    'cancel_orders_b',
    'cancel_orders_s',
    'cancel_val_b',
    'cancel_val_s',
    'cancel_vol_b',
    'cancel_vol_s',
    'cancel_vwap_b',
    'cancel_vwap_s',
    'SYSTIME',
  ],
  'eq/obstats': [
    'tradedate',
    'tradetime',
    'secid',
    'spread_bbo',
    'spread_lv10',
    'spread_1mio',
    'levels_b',
    'levels_s',
    'vol_b',
    'vol_s',
    'val_b',
    'val_s',
    'imbalance_vol_bbo',
    'imbalance_val_bbo',
    'imbalance_vol',
    'imbalance_val',
    'vwap_b',
    'vwap_s',
    'vwap_b_1mio',
    'vwap_s_1mio',
    'SYSTIME',
  ],
  'fo/obstats': [
    'tradedate',
    'tradetime',
    'secid',
    'asset_code',
    'mid_price',
    'micro_price',
    'spread_l1',
    'spread_l2',
    'spread_l3',
    'spread_l5',
    'spread_l10',
    'spread_l20',
    'levels_b',
    'levels_s',
    'vol_b_l1',
    'vol_b_l2',
    'vol_b_l3',
    'vol_b_l5',
    'vol_b_l10',
    'vol_b_l20',
    'vol_s_l1',
    'vol_s_l2',
    'vol_s_l3',
    'vol_s_l5',
    'vol_s_l10',
    'vol_s_l20',
    'vwap_b_l3',
    'vwap_b_l5',
    'vwap_b_l10',
    'vwap_b_l20',
    'vwap_s_l3',
    'vwap_s_l5',
    'vwap_s_l10',
    'vwap_s_l20',
    'SYSTIME',
  ],
  'fx/obstats': [
    'tradedate',
    'tradetime',
    'secid',
    'mid_price',
    'micro_price',
    'spread_l1',
    'spread_l2',
    'spread_l3',
    'spread_l5',
    'spread_l10',
    'levels_b',
    'levels_s',
    'vol_b_l1',
    'vol_b_l2',
    'vol_b_l3',
    'vol_b_l5',
    'vol_b_l10',
    'vol_s_l1',
    'vol_s_l2',
    'vol_s_l3',
    'vol_s_l5',
    'vol_s_l10',
    'vol_s_l20',
    'vwap_b_l3',
    'vwap_b_l5',
    'vwap_b_l10',
    'vwap_s_l3',
    'vwap_s_l5',
    'vwap_s_l10',
    'SYSTIME',
  ],
  'fo/futoi': [
    'sess_id',
    'seqnum',
    'tradedate',
    'tradetime',
    'ticker',
    'clgroup',
    'pos',
    'pos_long',
    'pos_short',
    'pos_long_num',
    'pos_short_num',
    'systime',
    'trade_session_date',
  ],
};

/** The boards whose instruments each ALGOPACK market covers. */
const MARKET_KINDS: Readonly<Record<AlgopackMarket, SimBoard['kind']>> = { eq: 'shares', fo: 'futures', fx: 'currency' };

/** `/iss/datashop/algopack/{market}/{dataset}.json` or `/iss/analyticalproducts/futoi/securities.json` → its feed. */
export function algopackRoute(pathname: string): { market: AlgopackMarket; dataset: AlgopackDataset } | null {
  if (pathname === '/iss/analyticalproducts/futoi/securities.json') return { market: 'fo', dataset: 'futoi' };
  const m = /^\/iss\/datashop\/algopack\/(eq|fo|fx)\/(tradestats|orderstats|obstats)\.json$/.exec(pathname);
  if (!m || !COLUMNS[`${m[1]}/${m[2]}`]) return null;
  return { market: m[1] as AlgopackMarket, dataset: m[2] as AlgopackDataset };
}

/** 0 ≤ x < 1 from a string: FNV-1a, so a bar's numbers never change between requests. */
function unit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** One instrument of a feed: the row key, a price level, the futures asset. */
interface Instrument {
  key: string;
  price: number;
  asset: string;
  openInterest: number;
}

/** The cells of one instrument's bar ending at `end`, by column name. */
function barCells(columns: readonly string[], instrument: Instrument, end: number, group: string | null): unknown[] {
  const r = (salt: string) => unit(`${instrument.key}|${end}|${group ?? ''}|${salt}`);
  const decimals = decimalsFor(instrument.price);
  const price = (salt: string, spread = 0.004) => round(instrument.price * (1 + (r(salt) - 0.5) * spread), decimals);
  const volB = 1 + Math.floor(r('vb') * 5000);
  const volS = 1 + Math.floor(r('vs') * 5000);
  const [low, high] = [price('lo', 0.01), price('hi', 0.01)].sort((a, b) => a - b) as [number, number];
  const clamp = (x: number) => Math.min(high, Math.max(low, x));
  const fix = (x: number) => round(x, 2);
  const moscow = formatMoscowTime(new Date(end));
  const futoiLong = 1000 + Math.floor(r('fl') * 500_000);
  const futoiShort = 1000 + Math.floor(r('fs') * 500_000);
  const cell = (column: string): unknown => {
    switch (column) {
      case 'tradedate':
        return moscow.slice(0, 10);
      case 'tradetime':
        return moscow.slice(11);
      case 'secid':
        return instrument.key;
      case 'ticker':
        return instrument.key;
      case 'asset_code':
        return instrument.asset;
      case 'SYSTIME':
      case 'systime':
        return formatMoscowTime(new Date(end + PUBLISH_DELAY_MS));
      case 'clgroup':
        return group;
      case 'sess_id':
        return 7475;
      case 'seqnum':
        return Math.floor((end / BAR_MS) % 288);
      case 'trade_session_date':
        return moscow.slice(0, 10);
      case 'pr_low':
        return low;
      case 'pr_high':
        return high;
      case 'pr_open':
      case 'pr_close':
      case 'pr_vwap':
      case 'pr_vwap_b':
      case 'pr_vwap_s':
        return clamp(price(column, 0.01));
      case 'pr_std':
        return round(r('std') * 0.002, 4);
      case 'pr_change':
        return round((r('chg') - 0.5) * 0.8, 4);
      case 'vol':
        return volB + volS;
      case 'vol_b':
        return volB;
      case 'vol_s':
        return volS;
      case 'val':
        return fix((volB + volS) * instrument.price);
      case 'val_b':
        return fix(volB * instrument.price);
      case 'val_s':
        return fix(volS * instrument.price);
      case 'trades_b':
        return 1 + Math.floor(volB / 40);
      case 'trades_s':
        return 1 + Math.floor(volS / 40);
      case 'trades':
        return 2 + Math.floor(volB / 40) + Math.floor(volS / 40);
      case 'disb':
        return round((volB - volS) / (volB + volS), 2);
      case 'im':
        return fix(instrument.price * 0.12);
      case 'oi_open':
      case 'oi_high':
      case 'oi_low':
      case 'oi_close':
        return instrument.openInterest + Math.floor(r('oi') * 1000);
      case 'pos_long':
        return futoiLong;
      case 'pos_short':
        return -futoiShort;
      case 'pos':
        return futoiLong - futoiShort;
      case 'pos_long_num':
        return 1 + Math.floor(futoiLong / 300);
      case 'pos_short_num':
        return 1 + Math.floor(futoiShort / 300);
      case 'mid_price':
      case 'micro_price':
        return price(column, 0.002);
    }
    if (column.startsWith('sec_pr_')) return Math.floor(r(column) * 300);
    if (column.startsWith('imbalance_')) return round((r(column) - 0.5) * 2, 2);
    if (column.startsWith('spread_')) return round(1 + r(column) * 40, 1);
    if (column.startsWith('levels_')) return 5 + Math.floor(r(column) * 120);
    if (/orders/.test(column)) return Math.floor(r(column) * 400);
    if (/vwap/.test(column)) return price(column);
    if (/(^|_)vol(_|$)/.test(column)) return Math.floor(r(column) * 20_000);
    if (/(^|_)val(_|$)/.test(column)) return fix(r(column) * 20_000 * instrument.price);
    return null;
  };
  return columns.map(cell);
}

/**
 * Serves the datasets of `boards` (the simulator's, scaled): bars for every 5-minute window that
 * ended after `origin` (the simulator's start, history included) and was published by `now`.
 */
export class AlgopackBook {
  constructor(
    private readonly boards: readonly SimBoard[],
    private readonly origin: number,
    private readonly isDelisted: (board: string, secid: string) => boolean = () => false,
  ) {}

  private instruments(market: AlgopackMarket, dataset: AlgopackDataset): Instrument[] {
    const boards = this.boards.filter((b) => b.kind === MARKET_KINDS[market]);
    const listed = boards.flatMap((b) =>
      b.listings
        .filter((l) => !this.isDelisted(b.board, l.secid))
        .map((l) => ({
          key: l.secid,
          price: l.startPrice,
          asset: b.futures?.[l.secid]?.asset ?? l.secid.slice(0, 2),
          openInterest: b.futures?.[l.secid]?.openInterest ?? 0,
        })),
    );
    if (dataset !== 'futoi') return listed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // futoi is per asset, by its 2-character code (SiZ6 → Si).
    const assets = new Map(listed.map((i) => [i.key.slice(0, 2), { ...i, key: i.key.slice(0, 2) }] as const));
    return [...assets.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** The ends of the published bars of a Moscow date, oldest first. */
  private barEnds(date: string, now: number): number[] {
    const dayStart = Date.parse(`${date}T00:00:00+03:00`);
    const first = Math.max(Math.floor(this.origin / BAR_MS) * BAR_MS + BAR_MS, dayStart);
    const last = Math.min(Math.floor((now - PUBLISH_DELAY_MS) / BAR_MS) * BAR_MS, dayStart + 24 * 3600_000 - BAR_MS);
    const ends: number[] = [];
    for (let end = Math.ceil(first / BAR_MS) * BAR_MS; end <= last; end += BAR_MS) ends.push(end);
    return ends;
  }

  /** The answer to one dataset request (`date`, `latest`, `start`, `limit`, `iss.only`, `iss.meta`). */
  json(market: AlgopackMarket, dataset: AlgopackDataset, params: URLSearchParams, now: Date): unknown {
    const spec = DATASETS[dataset];
    const columns = COLUMNS[`${market}/${dataset}`]!;
    const date = params.get('date') ?? formatMoscowTime(now).slice(0, 10);
    const groups = dataset === 'futoi' ? ['FIZ', 'YUR'] : [null];
    const instruments = /^\d{4}-\d{2}-\d{2}$/.test(date) ? this.instruments(market, dataset) : [];
    let ends = instruments.length > 0 ? this.barEnds(date, now.getTime()) : [];
    if (params.get('latest') === '1') ends = ends.slice(-1);
    const perBar = instruments.length * groups.length;
    const total = ends.length * perBar;
    const start = Math.max(0, Number(params.get('start') ?? 0) || 0);
    const limit = Math.min(ALGOPACK_PAGE_ROWS, Math.max(1, Number(params.get('limit') ?? ALGOPACK_PAGE_ROWS) || ALGOPACK_PAGE_ROWS));
    const data: unknown[][] = [];
    // Only the page's rows are built: a day of a scaled board is hundreds of thousands.
    for (let i = start; i < Math.min(total, start + limit); i++) {
      const within = i % perBar;
      data.push(barCells(columns, instruments[Math.floor(within / groups.length)]!, ends[Math.floor(i / perBar)]!, groups[within % groups.length] ?? null));
    }
    const firstDate = formatMoscowTime(new Date(this.origin)).slice(0, 10);
    const blocks: Record<string, { columns: readonly string[]; data: unknown[][] }> = { [spec.block]: { columns, data } };
    if (dataset === 'futoi') blocks['futoi.dates'] = { columns: ['from', 'till', 'prev', 'next'], data: [[firstDate, date, null, null]] };
    else {
      blocks['data.cursor'] = { columns: ['INDEX', 'TOTAL', 'PAGESIZE'], data: [[start, total, ALGOPACK_PAGE_ROWS]] };
      blocks['data.dates'] = { columns: ['from', 'till'], data: [[firstDate, date]] };
    }
    const only = params
      .get('iss.only')
      ?.split(',')
      .map((b) => b.trim());
    return Object.fromEntries(Object.entries(blocks).filter(([name]) => !only || only.includes(name)));
  }
}
