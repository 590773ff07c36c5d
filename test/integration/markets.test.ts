import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, scrape, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const SOURCES = [
  'stock/shares/TQBR=SBERP,SBER,GAZP',
  'currency/selt/CETS=USD000UTSTOM,CNYRUB_TOM',
  'stock/index/SNDX=IMOEX',
  'stock/bonds/TQOB=ALL',
  'futures/forts/RFUD=ALL',
].join(';');
const BOARDS = ['TQBR', 'CETS', 'SNDX', 'TQOB', 'RFUD'];

describe('worker over every market (MOEX_SOURCES) against the simulator', () => {
  let sim: IssSim;
  let worker: RunningService;

  before(async () => {
    sim = await startIssSim();
    await sim.control.walk(false);
    worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_SOURCES: SOURCES, POLL_SCHEDULE: '* * * * * *' }, { waitFor: 'readyz' });
  });
  after(async () => {
    await worker?.stop();
    await sim?.stop();
  });

  test("each market's own series, with engine and market labels; none for fields a market lacks", async () => {
    const s = await eventually(async () => {
      const x = await scrape(worker.url);
      return x.get('moex_up') === 1 && x.has('moex_futures_open_interest{ticker="SiZ6",board="RFUD",engine="futures",market="forts"}') ? x : null;
    });
    const usd = (await sim.control.securities(['USD000UTSTOM'], 'CETS'))[0]!;
    assert.equal(s.get('moex_last_price{ticker="USD000UTSTOM",board="CETS",engine="currency",market="selt"}'), usd.last);
    const imoex = (await sim.control.securities(['IMOEX'], 'SNDX'))[0]!;
    assert.equal(s.get('moex_index_value{ticker="IMOEX",board="SNDX",engine="stock",market="index"}'), imoex.last);
    assert.equal(s.get('moex_index_prev_close{ticker="IMOEX",board="SNDX",engine="stock",market="index"}'), imoex.prevPrice);
    assert.ok(s.get('moex_index_capitalization{ticker="IMOEX",board="SNDX",engine="stock",market="index"}')! > 0);
    const ofz = s.get('moex_bond_yield_percent{ticker="SU26238RMFS4",board="TQOB",engine="stock",market="bonds"}')!;
    assert.ok(ofz > 5 && ofz < 30, `OFZ yield ${ofz}`);
    assert.ok(s.get('moex_bond_days_to_maturity{ticker="SU26238RMFS4",board="TQOB",engine="stock",market="bonds"}')! > 3000);
    assert.ok(s.get('moex_futures_open_interest{ticker="SiZ6",board="RFUD",engine="futures",market="forts"}')! > 1_000_000);
    // Shares keep every name and label value they had.
    assert.ok(s.has('moex_last_price{ticker="SBER",board="TQBR",engine="stock",market="shares"}'));
    const keys = [...s.keys()];
    assert.ok(!keys.some((k) => k.startsWith('moex_bid_price{ticker="IMOEX"')), 'an index has no bid');
    assert.ok(!keys.some((k) => k.startsWith('moex_trading{ticker="IMOEX"')), 'an index has no trading status');
    assert.ok(!keys.some((k) => k.startsWith('moex_bond_yield_percent{ticker="SBER"')), 'a share has no yield');
    assert.equal(s.get('moex_data_delay_seconds{ticker="IMOEX",board="SNDX",engine="stock",market="index"}'), 0, 'indices are not delayed');
    assert.equal(s.get('moex_simulated_feed'), 1, 'the simulator says so');
    for (const board of BOARDS) assert.equal(s.get(`moex_board_up{board="${board}"}`), 1, board);
  });

  test('one ISS request per board per cycle', async () => {
    await sim.control.clearRequests();
    // Board polls only: the worker also asks for each engine's trading calendar.
    const boardPolls = async () => (await sim.control.requests()).filter((r) => r.path.endsWith('/securities.json'));
    await eventually(async () => (await boardPolls()).length >= 3 * BOARDS.length, 10_000, 'three cycles');
    const requests = await boardPolls();
    const perBoard = new Map<string, number[]>();
    for (const r of requests) {
      const board = /boards\/([^/]+)\//.exec(r.path)![1]!;
      perBoard.set(board, [...(perBoard.get(board) ?? []), Date.parse(r.at)]);
    }
    assert.deepEqual([...perBoard.keys()].sort(), [...BOARDS].sort());
    const counts = [...perBoard.values()].map((t) => t.length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `requests per board ${counts.join(',')}`);
  });

  test('a 500 on SNDX: moex_board_up{board="SNDX"} 0 and moex_up 0, every other board stays fresh', async () => {
    await sim.control.setFault('http500', undefined, 'SNDX');
    try {
      const before = await scrape(worker.url);
      const s = await eventually(
        async () => {
          const x = await scrape(worker.url);
          return x.get('moex_board_up{board="SNDX"}') === 0 &&
            x.get('moex_polls_total{result="ok",board="TQBR"}')! > before.get('moex_polls_total{result="ok",board="TQBR"}')! + 1
            ? x
            : null;
        },
        20_000,
        'SNDX down, TQBR still polled',
      );
      assert.equal(s.get('moex_up'), 0);
      for (const board of BOARDS.filter((b) => b !== 'SNDX')) assert.equal(s.get(`moex_board_up{board="${board}"}`), 1, board);
      assert.ok(s.get('moex_poll_errors_total{reason="http",board="SNDX"}')! >= 1);
      assert.equal(s.get('moex_poll_errors_total{reason="http",board="TQBR"}'), 0);
      assert.ok(s.has('moex_index_value{ticker="IMOEX",board="SNDX",engine="stock",market="index"}'), 'the last good index value stays');
    } finally {
      await sim.control.clearFault();
    }
    await eventually(async () => (await scrape(worker.url)).get('moex_up') === 1, 15_000, 'recovery');
  });
});
