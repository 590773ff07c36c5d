import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALGOPACK_FEEDS, DATASETS, type AlgopackDataset, type AlgopackMarket } from '../../lib/moex/algopack/datasets';
import { parseAlgopackPage } from '../../lib/moex/algopack/parse';
import { AlgopackBook, algopackRoute } from '../../iss-sim/src/algopack';
import { scaleBoards, SIM_BOARDS } from '../../iss-sim/src/boards';
import { Delistings } from '../../iss-sim/src/delistings';
import { issFixture } from '../support/fixtures';

/** 2026-03-02 10:00 Moscow. */
const ORIGIN = Date.parse('2026-03-02T10:00:00+03:00');
const at = (moscow: string) => new Date(`2026-03-02T${moscow}+03:00`);
const query = (q: Record<string, string>) => new URLSearchParams(q);

describe('the simulator’s ALGOPACK', () => {
  const book = new AlgopackBook(SIM_BOARDS, ORIGIN);

  test('every dataset in the columns of MOEX’s example answer, in their order', () => {
    for (const name of ALGOPACK_FEEDS) {
      const [market, dataset] = name.split('/') as [AlgopackMarket, AlgopackDataset];
      const real = issFixture(`real/algopack/${name === 'fo/futoi' ? 'futoi' : name.replace('/', '-')}-2026-01-09`) as Record<string, { columns: string[] }>;
      const block = DATASETS[dataset].block;
      const served = book.json(market, dataset, query({ date: '2026-03-02' }), at('10:20:00')) as Record<string, { columns: string[]; data: unknown[][] }>;
      assert.deepEqual(served[block]!.columns, real[block]!.columns, name);
      assert.deepEqual(Object.keys(served).sort(), Object.keys(real).sort(), `${name}: blocks`);
      const page = parseAlgopackPage(served, { market, dataset });
      assert.equal(page.invalidRows + page.invalidValues.length, 0, name);
      assert.ok(page.bars.length > 0, name);
    }
  });

  test('bars for windows ended and published (10 s after the end); latest=1 is the newest only', () => {
    const ends = (json: unknown) => [...new Set(parseAlgopackPage(json, { market: 'eq', dataset: 'tradestats' }).bars.map((b) => b.end.toISOString()))];
    assert.deepEqual(ends(book.json('eq', 'tradestats', query({ date: '2026-03-02' }), at('10:15:09'))), [
      '2026-03-02T07:05:00.000Z',
      '2026-03-02T07:10:00.000Z',
    ]);
    assert.deepEqual(ends(book.json('eq', 'tradestats', query({ date: '2026-03-02' }), at('10:15:10'))), [
      '2026-03-02T07:05:00.000Z',
      '2026-03-02T07:10:00.000Z',
      '2026-03-02T07:15:00.000Z',
    ]);
    const latest = parseAlgopackPage(book.json('eq', 'tradestats', query({ date: '2026-03-02', latest: '1' }), at('10:15:10')), {
      market: 'eq',
      dataset: 'tradestats',
    });
    assert.deepEqual(
      latest.bars.map((b) => b.end.toISOString()),
      latest.bars.map(() => '2026-03-02T07:15:00.000Z'),
    );
    assert.deepEqual(latest.bars[0]!.published, at('10:15:10'));
    assert.equal(latest.cursor!.total, latest.bars.length);
  });

  test('futoi: a FIZ and a YUR row per asset (2-character code), positions net per group', () => {
    const page = parseAlgopackPage(book.json('fo', 'futoi', query({ date: '2026-03-02', latest: '1' }), at('10:05:10')), { market: 'fo', dataset: 'futoi' });
    assert.deepEqual(
      page.bars.map((b) => `${b.ticker}/${b.group}`),
      ['BR/FIZ', 'BR/YUR', 'CR/FIZ', 'CR/YUR', 'MX/FIZ', 'MX/YUR', 'Si/FIZ', 'Si/YUR'],
    );
    for (const b of page.bars) assert.equal(b.fields.pos, b.fields.pos_long! + b.fields.pos_short!);
  });

  test('pages of 1,000 with the cursor; the same rows whenever asked', () => {
    const big = new AlgopackBook(scaleBoards(SIM_BOARDS, 3000), ORIGIN);
    const first = parseAlgopackPage(big.json('eq', 'tradestats', query({ date: '2026-03-02', latest: '1' }), at('10:05:10')), {
      market: 'eq',
      dataset: 'tradestats',
    });
    const total = first.cursor!.total;
    assert.ok(total > 1000, `total ${total}`);
    assert.deepEqual(first.cursor, { index: 0, total, pageSize: 1000 });
    assert.equal(first.rows, 1000);
    const second = parseAlgopackPage(big.json('eq', 'tradestats', query({ date: '2026-03-02', latest: '1', start: '1000' }), at('10:05:10')), {
      market: 'eq',
      dataset: 'tradestats',
    });
    assert.equal(second.rows, total - 1000);
    const tickers = [...first.bars, ...second.bars].map((b) => b.ticker);
    assert.equal(new Set(tickers).size, total, 'no instrument twice across pages');
    const again = parseAlgopackPage(big.json('eq', 'tradestats', query({ date: '2026-03-02', latest: '1', start: '1000' }), at('10:09:00')), {
      market: 'eq',
      dataset: 'tradestats',
    });
    assert.deepEqual(again.bars, second.bars);
  });

  test('a delisted security is in no dataset answer until it is back; futoi loses an asset with its last contract', () => {
    const delistings = new Delistings();
    const listed = new AlgopackBook(SIM_BOARDS, ORIGIN, (board, secid) => delistings.has(board, secid));
    const tickers = (market: AlgopackMarket, dataset: AlgopackDataset) =>
      parseAlgopackPage(listed.json(market, dataset, query({ latest: '1' }), at('10:05:10')), { market, dataset }).bars.map((b) => b.ticker);
    delistings.control('PUT', { board: 'TQBR', secid: 'GAZP' });
    delistings.control('PUT', { board: 'RFUD', secid: 'SiZ6' });
    assert.ok(tickers('eq', 'tradestats').includes('SBER'));
    assert.equal(tickers('eq', 'tradestats').includes('GAZP'), false);
    assert.equal(tickers('eq', 'obstats').includes('GAZP'), false);
    assert.deepEqual(tickers('fo', 'tradestats'), ['BRF7', 'CRZ6', 'MXZ6']);
    assert.deepEqual([...new Set(tickers('fo', 'futoi'))], ['BR', 'CR', 'MX']);
    delistings.control('DELETE', {});
    assert.ok(tickers('eq', 'tradestats').includes('GAZP'));
    assert.deepEqual([...new Set(tickers('fo', 'futoi'))], ['BR', 'CR', 'MX', 'Si']);
  });

  test('iss.only keeps the blocks asked for; routes', () => {
    assert.deepEqual(Object.keys(book.json('eq', 'obstats', query({ 'iss.only': 'data,data.cursor' }), at('10:05:10')) as object), ['data', 'data.cursor']);
    assert.deepEqual(algopackRoute('/iss/datashop/algopack/fx/orderstats.json'), { market: 'fx', dataset: 'orderstats' });
    assert.deepEqual(algopackRoute('/iss/analyticalproducts/futoi/securities.json'), { market: 'fo', dataset: 'futoi' });
    assert.equal(algopackRoute('/iss/datashop/algopack/fo/orderstats.json'), null);
  });
});
