import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import { describe, test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { CachedExposition } from '../../lib/exposition';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { registerQuoteMetrics } from '../../worker-prometheus/src/quote-metrics';
import { issFixture, sharesBoard } from '../support/fixtures';
import { parseExposition } from '../support/services';

const TICKERS = ['SBERP', 'SBER', 'GAZP'];
const quotesOf = (fixture: string) => parseBoardSnapshot(issFixture(fixture), sharesBoard(TICKERS)).quotes;

async function render(fixtures: string[]) {
  const registry = new Registry();
  const metrics = registerQuoteMetrics(registry);
  for (const f of fixtures) metrics.update(quotesOf(f));
  return parseExposition(await registry.metrics());
}

describe('quote metrics', () => {
  test('a trading-day quote becomes the CONTRACT §4 gauges, exactly', async () => {
    const s = await render(['trading-day']);
    const at = (name: string) => s.get(`${name}{ticker="SBER",board="TQBR",engine="stock",market="shares"}`);
    assert.equal(at('moex_last_price'), 315.56);
    assert.equal(at('moex_bid_price'), 315.55);
    assert.equal(at('moex_offer_price'), 315.57);
    assert.equal(at('moex_open_price'), 312.9);
    assert.equal(at('moex_high_price'), 316.2);
    assert.equal(at('moex_low_price'), 311.1);
    assert.equal(at('moex_waprice'), 314.02);
    assert.equal(at('moex_prev_close_price'), 312.5);
    assert.equal(at('moex_change_percent'), 0.9792);
    assert.equal(at('moex_volume_today'), 25678900);
    assert.equal(at('moex_value_today'), 8063687123);
    assert.equal(at('moex_trades_today'), 120456);
    assert.equal(at('moex_trading'), 1);
    assert.equal(at('moex_quote_timestamp_seconds'), Date.parse('2024-03-15T11:35:12Z') / 1000);
    // 315.56 / 312.5 = 1.0098 falls in the 1.01 bucket, not the 1.005 one.
    assert.equal(s.get('moex_price_relative_to_prev_close_bucket{le="1.005",ticker="SBER",board="TQBR",engine="stock",market="shares"}'), 0);
    assert.equal(s.get('moex_price_relative_to_prev_close_bucket{le="1.01",ticker="SBER",board="TQBR",engine="stock",market="shares"}'), 1);
  });

  test('a field that turns null removes its series instead of exporting 0', async () => {
    const s = await render(['trading-day', 'before-first-trade']);
    assert.equal(s.has('moex_last_price{ticker="GAZP",board="TQBR",engine="stock",market="shares"}'), false);
    assert.equal(s.has('moex_bid_price{ticker="GAZP",board="TQBR",engine="stock",market="shares"}'), false);
    assert.equal(s.get('moex_trades_today{ticker="GAZP",board="TQBR",engine="stock",market="shares"}'), 0);
    assert.equal(s.get('moex_trading{ticker="GAZP",board="TQBR",engine="stock",market="shares"}'), 0);
    // No last price, no ratio: the histogram saw only the trading-day poll.
    assert.equal(s.get('moex_price_relative_to_prev_close_count{ticker="GAZP",board="TQBR",engine="stock",market="shares"}'), 1);
  });
});

describe('CachedExposition', () => {
  async function serveOnce(exposition: CachedExposition, headers: Record<string, string> = {}) {
    const server = http.createServer((req, res) => void exposition.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      return await new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http.get({ port, path: '/metrics', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    } finally {
      server.close();
    }
  }

  test('serves the cycle text until the cycle changes, joined with the live registry', async () => {
    const cycle = new Registry();
    const live = new Registry();
    const quote = new Gauge({ name: 'q', help: 'h', registers: [cycle] });
    new Gauge({ name: 'live', help: 'h', registers: [live] }).set(7);
    const exposition = new CachedExposition(cycle, live);
    const scraped = async () => (await serveOnce(exposition)).body.toString();
    quote.set(1);
    assert.match(await scraped(), /^q 1$/m);
    quote.set(2);
    assert.match(await scraped(), /^q 1$/m, 'not re-rendered before the cycle ends');
    exposition.cycleChanged();
    const text = await scraped();
    assert.match(text, /^q 2$/m);
    assert.match(text, /^live 7$/m);
  });

  test('answers gzip when asked, identical to the plain text', async () => {
    const cycle = new Registry();
    new Gauge({ name: 'q', help: 'h', registers: [cycle] }).set(3);
    const exposition = new CachedExposition(cycle, new Registry());
    const plain = await serveOnce(exposition);
    const gz = await serveOnce(exposition, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(gunzipSync(gz.body).toString(), plain.body.toString());
    assert.match(String(plain.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  });
});
