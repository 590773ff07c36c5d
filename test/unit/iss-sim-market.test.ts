import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CATALOGUE } from '../../iss-sim/src/catalogue';
import { MAX_SIM_SECURITIES, scaleBoards, SIM_BOARDS } from '../../iss-sim/src/boards';
import { boardSecuritiesJson } from '../../iss-sim/src/iss-response';
import { Market } from '../../iss-sim/src/market';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { TICKER_PATTERN } from '../../lib/moex/quote';

/** A deterministic random source, so the walk is the same on every run. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('ISS simulator market', () => {
  test('ALL is a whole board: 250+ securities, the default tickers at realistic prices', () => {
    assert.ok(CATALOGUE.length >= 250);
    const start = Object.fromEntries(CATALOGUE.map((l) => [l.secid, l.startPrice]));
    assert.ok(Math.abs(start.SBER! - 300) < 30 && Math.abs(start.SBERP! - 300) < 30 && Math.abs(start.GAZP! - 130) < 15);
    assert.equal(new Set(CATALOGUE.map((l) => l.secid)).size, CATALOGUE.length, 'unique SECIDs');
  });

  test('an hour of walking keeps every day range consistent and prices on the tick grid', () => {
    let now = 0;
    const market = new Market({ random: seeded(7), now: () => now });
    for (let minute = 0; minute < 60; minute++) {
      now += 60_000;
      market.advance();
    }
    for (const s of market.securities.values()) {
      assert.ok(s.low <= s.open && s.open <= s.high, `${s.listing.secid}: open ${s.open} within [${s.low}, ${s.high}]`);
      assert.ok(s.low <= s.last && s.last <= s.high, `${s.listing.secid}: last within the day range`);
      assert.ok(s.bid < s.offer && s.bid > 0, `${s.listing.secid}: bid below offer`);
      assert.ok(Math.abs(Math.round(s.last * 10 ** s.decimals) - s.last * 10 ** s.decimals) < 1e-6, `${s.listing.secid}: ${s.last} on the tick grid`);
      assert.ok(s.volume > 0 && Number.isInteger(s.volume) && Number.isInteger(s.trades));
    }
  });

  test('a stopped walk holds prices still', () => {
    let now = 0;
    const market = new Market({ walking: false, random: seeded(1), now: () => now });
    const before = market.securities.get('SBER')!.last;
    now += 600_000;
    market.advance();
    assert.equal(market.securities.get('SBER')!.last, before);
  });
});

describe('ISS simulator at exchange scale (ISS_SIM_SCALE)', () => {
  const own = SIM_BOARDS.reduce((sum, b) => sum + b.listings.length, 0);

  test("0 or a total at or below the boards' own count leaves the boards as they are", () => {
    assert.equal(scaleBoards(SIM_BOARDS, 0), SIM_BOARDS);
    assert.equal(scaleBoards(SIM_BOARDS, own), SIM_BOARDS);
    assert.equal(SIM_BOARDS.find((b) => b.board === 'TQBR')!.listings.length, 272);
  });

  test('30,000: every board holds thousands, the total is exact, SECIDs unique and tickers, terms for every bond and future', () => {
    const boards = scaleBoards(SIM_BOARDS, 30_000);
    assert.equal(
      boards.reduce((sum, b) => sum + b.listings.length, 0),
      30_000,
    );
    const secids = boards.flatMap((b) => b.listings.map((l) => l.secid));
    assert.equal(new Set(secids.map((s) => s.toUpperCase())).size, secids.length, 'unique SECIDs');
    for (const b of boards) {
      assert.ok(b.listings.length >= 4000, `${b.board}: ${b.listings.length}`);
      assert.deepEqual(
        b.listings.slice(0, SIM_BOARDS.find((o) => o.board === b.board)!.listings.length),
        [...SIM_BOARDS.find((o) => o.board === b.board)!.listings],
        `${b.board} keeps its own first`,
      );
      for (const l of b.listings) {
        assert.match(l.secid, TICKER_PATTERN);
        assert.ok(l.startPrice > 0);
        if (b.kind === 'bonds') assert.ok(b.bonds![l.secid], `${l.secid} has bond terms`);
        if (b.kind === 'futures') assert.ok(b.futures![l.secid], `${l.secid} has futures terms`);
      }
    }
    assert.equal(
      scaleBoards(SIM_BOARDS, 80_000).reduce((sum, b) => sum + b.listings.length, 0),
      MAX_SIM_SECURITIES,
    );
  });

  test("generated instruments answer in their market's real columns: the parser reads each market's fields", () => {
    const boards = scaleBoards(SIM_BOARDS, 3_000);
    const market = new Market({ boards, random: seeded(3), now: () => 0 });
    const expected: Record<string, string> = { shares: 'last', currency: 'last', index: 'indexValue', bonds: 'bondYield', futures: 'openInterest' };
    for (const b of boards) {
      const generated = b.listings.at(-1)!.secid;
      const json = boardSecuritiesJson([market.boards.get(b.board)!.get(generated)!], b, b.board, new Date(Date.UTC(2026, 10, 30, 9)), {
        reorderColumns: false,
        dropMarketdata: false,
        withMetadata: false,
        only: null,
        columns: { securities: null, marketdata: null },
      });
      const source = { engine: b.engine, market: b.market, board: b.board, kind: b.kind, tickers: [generated] };
      const { quotes, invalidValues } = parseBoardSnapshot(JSON.parse(JSON.stringify(json)), source);
      assert.deepEqual(invalidValues, [], b.board);
      assert.equal(quotes.length, 1, b.board);
      const field = expected[b.kind] as keyof (typeof quotes)[number];
      assert.equal(typeof quotes[0]![field], 'number', `${b.board} ${generated}.${field}`);
    }
  });

  test('a board walks when it is asked for; the others wait', () => {
    let now = 0;
    const market = new Market({ random: seeded(5), now: () => now });
    const sber = market.securities.get('SBER')!;
    const si = market.boards.get('RFUD')!.get('SiZ6')!;
    const [sberBefore, siBefore] = [sber.trades, si.trades];
    now += 30_000;
    market.advance('TQBR');
    assert.ok(sber.trades > sberBefore, 'TQBR walked');
    assert.equal(si.trades, siBefore, 'RFUD not yet');
    market.advance('RFUD');
    assert.ok(si.trades > siBefore, 'RFUD walked once asked for');
  });
});
