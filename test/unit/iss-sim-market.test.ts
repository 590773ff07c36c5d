import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CATALOGUE } from '../../iss-sim/src/catalogue';
import { Market } from '../../iss-sim/src/market';

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
