import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { graphitePointsFor, quoteToInfluxPoint } from '../../scraper/src/series';
import { issFixture, sharesBoard } from '../support/fixtures';

const real = (name: string): unknown => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', name), 'utf8'));

describe('push outputs of a quote', () => {
  test('shares: stocks.<TICKER>.<field> and measurement stocks, stamped with the quote time (UPDATETIME)', () => {
    const [sber] = parseBoardSnapshot(real('tqbr-sber-2023-10-18.json'), sharesBoard(['SBER'])).quotes;
    const points = graphitePointsFor(sber!, 'stocks');
    assert.deepEqual(
      points.find((p) => p.path === 'stocks.SBER.last'),
      { path: 'stocks.SBER.last', value: 266.79, timestamp: Date.parse('2023-10-18T13:10:42Z') / 1000 },
    );
    assert.equal(
      quoteToInfluxPoint(sber!, 'stocks')!.toLineProtocol(),
      'stocks,board=TQBR,ticker=SBER bid=266.79,change_percent=-1.1889,high=271.19,last=266.79,low=266.11,offer=266.8,open=270,prev_close=270,trades=70659i,value=7717500748,volume=28693620i,waprice=268.98 1697634642000000000',
    );
  });

  test('other markets: <prefix>.<market>.<TICKER>.<field> and their own measurement', () => {
    const [usd] = parseBoardSnapshot(real('cets-usd-tod-2018-07-28.json'), {
      engine: 'currency',
      market: 'selt',
      board: 'CETS',
      kind: 'currency',
      tickers: ['USD000000TOD'],
    }).quotes;
    assert.ok(graphitePointsFor(usd!, 'stocks').some((p) => p.path === 'stocks.selt.USD000000TOD.last' && p.value === 62.71));
    // The midnight case: 23:50 of the day before the 00:05 snapshot.
    assert.match(quoteToInfluxPoint(usd!, 'stocks')!.toLineProtocol()!, /^currencies,board=CETS,ticker=USD000000TOD .* 1532724600000000000$/);
    const [si] = parseBoardSnapshot(real('rfud-2017-09-22.json'), {
      engine: 'futures',
      market: 'forts',
      board: 'RFUD',
      kind: 'futures',
      tickers: ['SiZ7'],
    }).quotes;
    assert.match(quoteToInfluxPoint(si!, 'stocks')!.toLineProtocol()!, /^futures,board=RFUD,ticker=SiZ7 .*open_interest=3526602i.*settle_price=58358/);
    assert.ok(graphitePointsFor(si!, 'stocks').some((p) => p.path === 'stocks.forts.SiZ7.open_interest'));
    const [rtsi] = parseBoardSnapshot(real('rtsi-2017-09-14.json'), {
      engine: 'stock',
      market: 'index',
      board: 'RTSI',
      kind: 'index',
      tickers: ['RTSI'],
    }).quotes;
    assert.match(quoteToInfluxPoint(rtsi!, 'stocks')!.toLineProtocol()!, /^indices,board=RTSI,ticker=RTSI .*index_value=1125.69/);
  });

  test('a null field is not sent anywhere', () => {
    const [gazp] = parseBoardSnapshot(issFixture('before-first-trade'), sharesBoard(['GAZP'])).quotes;
    assert.ok(!graphitePointsFor(gazp!, 'stocks').some((p) => p.path.endsWith('.last')));
    assert.doesNotMatch(quoteToInfluxPoint(gazp!, 'stocks')!.toLineProtocol()!, /\blast=/);
  });
});
