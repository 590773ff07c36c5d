import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PollError } from '../../lib/moex/errors';
import { ALGOPACK_FEEDS, DATASETS } from '../../lib/moex/algopack/datasets';
import { parseAlgopackPage, type AlgopackBar } from '../../lib/moex/algopack/parse';
import { issFixture } from '../support/fixtures';

const real = (name: string) => issFixture(`real/algopack/${name}-2026-01-09`);
/** Moscow wall time → the instant (UTC+3). */
const msk = (text: string) => new Date(`${text.replace(' ', 'T')}+03:00`);

describe('parseAlgopackPage on MOEX OpenAPI example answers', () => {
  test('eq/tradestats: every numeric column by name, null cells absent, cursor and times', () => {
    const page = parseAlgopackPage(real('eq-tradestats'), { market: 'eq', dataset: 'tradestats' });
    assert.deepEqual(page.cursor, { index: 0, total: 28840, pageSize: 1000 });
    assert.equal(page.rows, 5);
    assert.equal(page.invalidRows, 0);
    assert.deepEqual(page.invalidValues, []);
    assert.deepEqual(
      page.bars.map((b) => b.ticker),
      ['AFKS', 'AFLT', 'ALRS', 'AQUA', 'ASTR'],
    );
    assert.deepEqual(page.bars[0], {
      market: 'eq',
      dataset: 'tradestats',
      ticker: 'AFKS',
      group: null,
      end: msk('2026-01-09 07:00:00'),
      published: msk('2026-01-09 07:00:10'),
      fields: {
        pr_open: 12.766,
        pr_high: 12.766,
        pr_low: 12.766,
        pr_close: 12.766,
        pr_std: 0,
        vol: 25,
        val: 31915,
        trades: 4,
        pr_vwap: 12.766,
        pr_change: 0,
        trades_b: 0,
        trades_s: 4,
        val_b: 0,
        val_s: 31915,
        vol_b: 0,
        vol_s: 25,
        disb: -1,
        pr_vwap_s: 12.766,
        sec_pr_open: 285,
        sec_pr_high: 285,
        sec_pr_low: 285,
        sec_pr_close: 285,
      },
    } satisfies AlgopackBar);
    assert.equal(page.bars[1]!.fields.disb, 0.49);
    assert.equal(page.bars[1]!.fields.vol_b, 123);
    assert.equal('pr_vwap_s' in page.bars[3]!.fields, false, 'a null cell is left out, not 0');
  });

  test('fo/tradestats: asset_code is not a field; open interest and margin are', () => {
    const page = parseAlgopackPage(real('fo-tradestats'), { market: 'fo', dataset: 'tradestats' });
    assert.deepEqual(page.cursor, { index: 0, total: 18150, pageSize: 1000 });
    assert.deepEqual(page.bars[0], {
      market: 'fo',
      dataset: 'tradestats',
      ticker: 'ALH6',
      group: null,
      end: msk('2026-01-09 09:00:00'),
      published: msk('2026-01-09 09:00:07'),
      fields: {
        pr_open: 4215,
        pr_high: 4215,
        pr_low: 4215,
        pr_close: 4215,
        vol: 1,
        val: 4215,
        trades: 1,
        pr_vwap: 4215,
        pr_change: 0,
        trades_b: 1,
        trades_s: 0,
        val_b: 4215,
        val_s: 0,
        vol_b: 1,
        vol_s: 0,
        disb: 1,
        pr_vwap_b: 4215,
        im: 1108,
        oi_open: 118478,
        oi_high: 118478,
        oi_low: 118478,
        oi_close: 118478,
        sec_pr_open: 288,
        sec_pr_high: 288,
        sec_pr_low: 288,
        sec_pr_close: 288,
      },
    } satisfies AlgopackBar);
  });

  test('fx/tradestats: sec_pr_* before SYSTIME reads the same', () => {
    const page = parseAlgopackPage(real('fx-tradestats'), { market: 'fx', dataset: 'tradestats' });
    assert.deepEqual(page.cursor, { index: 0, total: 685, pageSize: 1000 });
    const bar = page.bars[0]!;
    assert.equal(bar.ticker, 'BYNRUB_TMS');
    assert.deepEqual(bar.end, msk('2026-01-09 10:05:00'));
    assert.deepEqual(bar.published, msk('2026-01-09 10:05:10'));
    assert.deepEqual(bar.fields, {
      pr_open: 25.2475,
      pr_high: 25.2475,
      pr_low: 25.07,
      pr_close: 25.2475,
      pr_std: 0.0035,
      vol: 80000,
      val: 20078,
      trades: 2,
      pr_vwap: 0.251,
      pr_change: 0,
      trades_b: 0,
      trades_s: 2,
      val_b: 0,
      val_s: 20078,
      vol_b: 0,
      vol_s: 80000,
      disb: -1,
      pr_vwap_s: 0.251,
      sec_pr_open: 170,
      sec_pr_high: 170,
      sec_pr_low: 170,
      sec_pr_close: 170,
    });
  });

  test('eq/orderstats and fx/orderstats: placed and cancelled orders; null VWAP absent', () => {
    const eq = parseAlgopackPage(real('eq-orderstats'), { market: 'eq', dataset: 'orderstats' });
    assert.deepEqual(eq.cursor, { index: 0, total: 48132, pageSize: 1000 });
    assert.deepEqual(eq.bars[0]!.end, msk('2026-01-09 06:55:00'));
    assert.deepEqual(eq.bars[0]!.published, msk('2026-01-09 06:55:11'));
    assert.deepEqual(eq.bars[0]!.fields, {
      put_orders_b: 128,
      put_orders_s: 217,
      put_val_b: 1145123,
      put_val_s: 3528281,
      put_vol_b: 1743,
      put_vol_s: 4919,
      put_vwap_b: 65.7,
      put_vwap_s: 71.73,
      put_vol: 6662,
      put_val: 4673404,
      put_orders: 345,
      cancel_orders_b: 1,
      cancel_orders_s: 2,
      cancel_val_b: 4063,
      cancel_val_s: 19087,
      cancel_vol_b: 6,
      cancel_vol_s: 27,
      cancel_vwap_b: 67.72,
      cancel_vwap_s: 70.69,
      cancel_vol: 33,
      cancel_val: 23150,
      cancel_orders: 3,
    });
    assert.equal('cancel_vwap_b' in eq.bars[1]!.fields, false);
    const fx = parseAlgopackPage(real('fx-orderstats'), { market: 'fx', dataset: 'orderstats' });
    assert.deepEqual(fx.cursor, { index: 0, total: 1039, pageSize: 1000 });
    assert.deepEqual(fx.bars[0]!.fields, {
      put_orders_b: 6,
      put_orders_s: 4,
      put_val_b: 185807599,
      put_val_s: 137116450,
      put_vol_b: 903,
      put_vol_s: 644,
      put_vwap_b: 20.5767,
      put_vwap_s: 21.2914,
      cancel_orders_b: 3,
      cancel_orders_s: 1,
      cancel_val_b: 123670775,
      cancel_val_s: 63285000,
      cancel_vol_b: 601,
      cancel_vol_s: 300,
      cancel_vwap_b: 20.5775,
      cancel_vwap_s: 21.095,
    });
  });

  test('eq, fo and fx obstats: the three column sets', () => {
    const eq = parseAlgopackPage(real('eq-obstats'), { market: 'eq', dataset: 'obstats' });
    assert.deepEqual(eq.cursor, { index: 0, total: 49661, pageSize: 1000 });
    assert.deepEqual(eq.bars[0]!.fields, {
      spread_bbo: 14.8,
      spread_lv10: 71.1,
      spread_1mio: 180.5,
      levels_b: 92,
      levels_s: 132,
      vol_b: 4450,
      vol_s: 7981,
      val_b: 2931985,
      val_s: 5649679,
      imbalance_vol_bbo: 0.72,
      imbalance_val_bbo: 0.72,
      imbalance_vol: -0.3,
      imbalance_val: -0.33,
      vwap_b: 65.87,
      vwap_s: 70.82,
      vwap_b_1mio: 67.11,
      vwap_s_1mio: 68.32,
    });
    const fo = parseAlgopackPage(real('fo-obstats'), { market: 'fo', dataset: 'obstats' });
    assert.deepEqual(fo.cursor, { index: 0, total: 67549, pageSize: 1000 });
    assert.equal(fo.bars[0]!.ticker, 'AAH6');
    assert.deepEqual(fo.bars[0]!.fields, {
      mid_price: 71.28,
      micro_price: 71.28,
      spread_l1: 467.1,
      spread_l2: 731,
      spread_l3: 793.6,
      spread_l5: 1158.5,
      levels_b: 7,
      levels_s: 7,
      vol_b_l1: 1,
      vol_b_l2: 1,
      vol_b_l3: 1,
      vol_b_l5: 15,
      vol_b_l10: 0,
      vol_b_l20: 0,
      vol_s_l1: 1,
      vol_s_l2: 1,
      vol_s_l3: 1,
      vol_s_l5: 1,
      vol_s_l10: 0,
      vol_s_l20: 0,
      vwap_b_l3: 69.35,
      vwap_b_l5: 67.61,
      vwap_s_l3: 73.95,
      vwap_s_l5: 74.31,
    });
    const fx = parseAlgopackPage(real('fx-obstats'), { market: 'fx', dataset: 'obstats' });
    assert.deepEqual(fx.cursor, { index: 0, total: 1296, pageSize: 1000 });
    assert.deepEqual(fx.bars[0]!.fields, {
      mid_price: 20.8412,
      micro_price: 20.8183,
      spread_l1: 247.7,
      spread_l2: 266.6,
      spread_l3: 284.9,
      spread_l5: 310.5,
      spread_l10: 1385.6,
      levels_b: 14,
      levels_s: 10,
      vol_b_l1: 100,
      vol_b_l2: 232,
      vol_b_l3: 433,
      vol_b_l5: 805,
      vol_b_l10: 1505,
      vol_s_l1: 25,
      vol_s_l2: 170,
      vol_s_l3: 326,
      vol_s_l5: 423,
      vol_s_l10: 582,
      vwap_b_l3: 20.5744,
      vwap_b_l5: 20.5688,
      vwap_b_l10: 20.4596,
      vwap_s_l3: 21.152,
      vwap_s_l5: 21.1611,
      vwap_s_l10: 21.344,
    });
  });

  test('futoi: block "futoi", no cursor, a bar per asset and client group, identifiers are not fields', () => {
    const page = parseAlgopackPage(real('futoi'), { market: 'fo', dataset: 'futoi' });
    assert.equal(page.cursor, null);
    assert.deepEqual(
      page.bars.map((b) => `${b.ticker}/${b.group}`),
      ['YD/YUR', 'YD/FIZ', 'X5/YUR', 'X5/FIZ', 'W4/YUR'],
    );
    assert.deepEqual(page.bars[1], {
      market: 'fo',
      dataset: 'futoi',
      ticker: 'YD',
      group: 'FIZ',
      end: msk('2026-01-09 23:50:00'),
      published: msk('2026-01-09 23:50:09'),
      fields: { pos: 102402, pos_long: 126650, pos_short: -24248, pos_long_num: 942, pos_short_num: 274 },
    } satisfies AlgopackBar);
  });
});

describe('parseAlgopackPage on hand-made edge cases', () => {
  const feed = { market: 'eq', dataset: 'tradestats' } as const;

  test('reordered, upper-case and unknown columns; bad rows and cells counted and left out', () => {
    const page = parseAlgopackPage(
      {
        data: {
          columns: ['SECID', 'NEW_NUMBER', 'disb', 'TRADETIME', 'new_text', 'tradedate', 'vol_b'],
          data: [
            ['SBER', 7, 0.5, '10:05:00', 'x', '2026-03-02', 10],
            ['GAZP', 1, 'high', '10:05:00', 'x', '2026-03-02', -5],
            ['', 1, 0.5, '10:05:00', 'x', '2026-03-02', 1],
            ['LKOH', 1, 0.5, '10:05', 'x', '2026-03-02', 1],
          ],
        },
      },
      feed,
    );
    assert.equal(page.rows, 4);
    assert.equal(page.invalidRows, 2);
    assert.equal(page.cursor, null);
    assert.deepEqual(
      page.bars.map((b) => [b.ticker, b.end.toISOString(), b.published, b.fields]),
      [
        ['SBER', '2026-03-02T07:05:00.000Z', null, { new_number: 7, disb: 0.5, vol_b: 10 }],
        ['GAZP', '2026-03-02T07:05:00.000Z', null, { new_number: 1 }],
      ],
    );
    assert.deepEqual(page.invalidValues, [
      { ticker: 'GAZP', field: 'disb', value: 'high' },
      { ticker: 'GAZP', field: 'vol_b', value: -5 },
    ]);
  });

  test('a later page: the cursor says where it starts', () => {
    const page = parseAlgopackPage(
      { data: { columns: ['secid'], data: [] }, 'data.cursor': { columns: ['INDEX', 'TOTAL', 'PAGESIZE'], data: [[2000, 2500, 1000]] } },
      feed,
    );
    assert.deepEqual(page.cursor, { index: 2000, total: 2500, pageSize: 1000 });
  });

  test('a broken block or cursor: validation', () => {
    const reason = (json: unknown) => {
      try {
        parseAlgopackPage(json, feed);
      } catch (err) {
        return err instanceof PollError ? err.reason : 'other';
      }
      return 'none';
    };
    assert.equal(reason({ 'data.dates': { columns: ['from', 'till'], data: [] } }), 'validation');
    assert.equal(reason({ data: { columns: ['secid'] } }), 'validation');
    assert.equal(reason([]), 'validation');
    assert.equal(
      reason({ data: { columns: ['secid'], data: [] }, 'data.cursor': { columns: ['INDEX', 'TOTAL', 'PAGESIZE'], data: [[0, 'many', 1000]] } }),
      'validation',
    );
  });
});

describe('the dataset table', () => {
  test('every market/dataset pair ISS publishes, and no futures orderstats', () => {
    assert.deepEqual([...ALGOPACK_FEEDS].sort(), [
      'eq/obstats',
      'eq/orderstats',
      'eq/tradestats',
      'fo/futoi',
      'fo/obstats',
      'fo/tradestats',
      'fx/obstats',
      'fx/orderstats',
      'fx/tradestats',
    ]);
  });

  test('requests: all instruments of a date, latest bar, next page; the block each answer must carry', () => {
    const trades = DATASETS.tradestats.request('http://h/iss', 'eq', { date: '2026-01-09', latest: true });
    assert.equal(trades.url, 'http://h/iss/datashop/algopack/eq/tradestats.json?iss.meta=off&iss.only=data,data.cursor&date=2026-01-09&latest=1');
    assert.deepEqual(trades.blocks, [DATASETS.tradestats.block]);
    const futoi = DATASETS.futoi.request('http://h/iss', 'fo', { date: '2026-01-09', start: 1000 });
    assert.equal(futoi.url, 'http://h/iss/analyticalproducts/futoi/securities.json?iss.meta=off&iss.only=futoi&date=2026-01-09&start=1000');
    assert.deepEqual(futoi.blocks, [DATASETS.futoi.block]);
  });
});
