import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import { describe, test } from 'node:test';
import { Gauge, Histogram, Registry } from 'prom-client';
import { CachedExposition, joinText } from '../../lib/exposition';
import { optionLabels } from '../../lib/moex/options';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { NUMERIC_FIELDS, type Quote } from '../../lib/moex/quote';
import { ConfigError, parseConfig } from '../../lib/config';
import { workerShape } from '../../worker-prometheus/src/config';
import { createQuoteMetrics, histogramBoards, PRICE_RATIO_BUCKETS, type QuoteMetricsOptions } from '../../worker-prometheus/src/quote-metrics';
import { issFixture, sharesBoard } from '../support/fixtures';
import { parseExposition } from '../support/services';

const TICKERS = ['SBERP', 'SBER', 'GAZP'];
const quotesOf = (fixture: string) => parseBoardSnapshot(issFixture(fixture), sharesBoard(TICKERS)).quotes;

const tqbrOnly = (more: Partial<QuoteMetricsOptions> = {}) => createQuoteMetrics({ histogramBoards: new Set(['TQBR']), removeAfterPolls: 3, ...more });

async function render(fixtures: string[]) {
  const metrics = tqbrOnly();
  for (const f of fixtures) metrics.update(quotesOf(f), ['TQBR']);
  return parseExposition(metrics.render());
}

/** The quote families as prom-client renders them (what the worker used before rendering them by hand). */
function promClientQuoteMetrics(registry: Registry) {
  const labelNames = ['ticker', 'board', 'engine', 'market', 'underlying', 'option_type', 'strike', 'expiry'];
  const registers = [registry];
  const gauges = [
    ...NUMERIC_FIELDS.map(({ metric, help, field }) => ({ gauge: new Gauge({ name: metric, help, labelNames, registers }), read: (q: Quote) => q[field] })),
    {
      gauge: new Gauge({
        name: 'moex_trading',
        help: '1 while the security trades (TRADINGSTATUS T), else 0; absent where ISS has no status',
        labelNames,
        registers,
      }),
      read: (q: Quote) => (q.trading === null ? null : q.trading ? 1 : 0),
    },
    {
      gauge: new Gauge({
        name: 'moex_option_at_the_money',
        help: 'Option series: 1 when its strike is the central strike of its underlying and expiry (CENTRALSTRIKE), else 0',
        labelNames,
        registers,
      }),
      read: (q: Quote) => (q.option && q.centralStrike !== null ? (Number(q.option.strike) === q.centralStrike ? 1 : 0) : null),
    },
    {
      gauge: new Gauge({
        name: 'moex_quote_timestamp_seconds',
        help: "Exchange time the quote belongs to (UPDATETIME on SYSTIME's date), Unix seconds",
        labelNames,
        registers,
      }),
      read: (q: Quote) => q.time.getTime() / 1000,
    },
    {
      gauge: new Gauge({
        name: 'moex_data_delay_seconds',
        help: "SYSTIME minus the quote time: the feed's delay (about 900 anonymous, about 0 real-time)",
        labelNames,
        registers,
      }),
      read: (q: Quote) => q.delaySeconds,
    },
  ];
  const ratio = new Histogram({
    name: 'moex_price_relative_to_prev_close',
    help: 'Last price divided by the previous close, observed once per poll while the security trades (MOEX_HISTOGRAM boards)',
    labelNames,
    buckets: PRICE_RATIO_BUCKETS,
    registers,
  });
  return (quotes: readonly Quote[]) => {
    for (const q of quotes) {
      const labels = { ticker: q.ticker, board: q.board, engine: q.engine, market: q.market, ...(q.option ? optionLabels(q.option) : {}) };
      for (const { gauge, read } of gauges) {
        const value = read(q);
        if (value === null) gauge.remove(labels);
        else gauge.set(labels, value);
      }
      // Every quote of these polls has a TRADINGSTATUS: observed while it is T.
      if (q.last !== null && q.prevClose !== null && q.trading) ratio.observe(labels, q.last / q.prevClose);
    }
  };
}

describe('quote metrics', () => {
  test('a trading-day quote becomes the docs/metrics.md gauges, exactly', async () => {
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

describe('series of securities that are gone', () => {
  const key = (ticker: string) => `{ticker="${ticker}",board="TQBR",engine="stock",market="shares"}`;

  test('a security its board stops returning loses every series after 3 successful polls; failed polls do not count', () => {
    const removed: string[] = [];
    const metrics = tqbrOnly({ onSeriesRemoved: (board) => removed.push(board) });
    const gazpSeries = () =>
      metrics
        .render()
        .split('\n')
        .filter((line) => line.includes('ticker="GAZP"'));
    metrics.update(quotesOf('trading-day'), ['TQBR']);
    const before = gazpSeries();
    assert.ok(
      before.some((l) => l.startsWith(`moex_last_price${key('GAZP')}`)) && before.some((l) => l.startsWith('moex_price_relative_to_prev_close_bucket')),
    );
    metrics.update(quotesOf('ticker-missing'), ['TQBR']);
    metrics.update(quotesOf('ticker-missing'), ['TQBR']);
    metrics.update([], []); // the board's poll failed: no evidence either way
    metrics.update(quotesOf('ticker-missing'), ['TQOB']); // another board answered
    assert.deepEqual(gazpSeries(), before, 'two successful polls without it: every series kept as it was');
    metrics.update(quotesOf('ticker-missing'), ['TQBR']);
    assert.deepEqual(gazpSeries(), [], 'the third: every gauge and histogram series gone');
    assert.deepEqual(removed, ['TQBR'], 'counted once, for its board');
    assert.ok(metrics.render().includes(`moex_last_price${key('SBER')} 315.56`), 'the others stay');
  });

  test('a security that comes back before the third poll starts counting again', () => {
    const metrics = tqbrOnly();
    for (const fixture of ['trading-day', 'ticker-missing', 'ticker-missing', 'trading-day', 'ticker-missing', 'ticker-missing'])
      metrics.update(quotesOf(fixture), ['TQBR']);
    assert.ok(metrics.render().includes(`moex_last_price${key('GAZP')} 127.52`));
  });

  test('forgetAll drops every series (a shard taken over by another replica)', () => {
    const metrics = tqbrOnly();
    metrics.update(quotesOf('trading-day'), ['TQBR']);
    metrics.forgetAll();
    assert.doesNotMatch(metrics.render(), /ticker=/);
  });
});

describe('relative-price histogram', () => {
  const countOf = (metrics: ReturnType<typeof tqbrOnly>, ticker: string, board = 'TQBR', market = 'shares') =>
    parseExposition(metrics.render()).get(`moex_price_relative_to_prev_close_count{ticker="${ticker}",board="${board}",engine="stock",market="${market}"}`);

  test('observed only while TRADINGSTATUS is T: a closed session adds no sample', () => {
    const metrics = tqbrOnly();
    metrics.update(quotesOf('trading-day'), ['TQBR']);
    for (let i = 0; i < 5; i++) metrics.update(quotesOf('after-close'), ['TQBR']);
    assert.equal(countOf(metrics, 'SBER'), 1);
    metrics.update(quotesOf('trading-day'), ['TQBR']);
    assert.equal(countOf(metrics, 'SBER'), 2);
  });

  test('without TRADINGSTATUS: observed when NUMTRADES or VOLTODAY rose since the last poll', () => {
    const metrics = createQuoteMetrics({ histogramBoards: new Set(['RFUD']), removeAfterPolls: 3 });
    const base = { ...quotesOf('trading-day')[1]!, ticker: 'SiZ6', board: 'RFUD', market: 'forts', trading: null };
    const poll = (trades: number, volume: number) => metrics.update([{ ...base, trades, volume }], ['RFUD']);
    poll(100, 1000); // nothing to compare with yet
    poll(100, 1000); // no trade since
    assert.equal(countOf(metrics, 'SiZ6', 'RFUD', 'forts'), undefined);
    poll(101, 1000);
    poll(101, 1010);
    poll(101, 1010);
    assert.equal(countOf(metrics, 'SiZ6', 'RFUD', 'forts'), 2);
  });

  test('MOEX_HISTOGRAM: listed tickers only by default, off, or every board', () => {
    const sources = [
      { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: ['SBER'] },
      { engine: 'stock', market: 'bonds', board: 'TQOB', kind: 'bonds', tickers: 'ALL' },
    ] as const satisfies Parameters<typeof histogramBoards>[1];
    assert.deepEqual([...histogramBoards('listed', sources)], ['TQBR']);
    assert.deepEqual([...histogramBoards('off', sources)], []);
    assert.deepEqual([...histogramBoards('all', sources)], ['TQBR', 'TQOB']);
    const metrics = createQuoteMetrics({ histogramBoards: histogramBoards('off', sources), removeAfterPolls: 3 });
    metrics.update(quotesOf('trading-day'), ['TQBR']);
    assert.doesNotMatch(metrics.render(), /moex_price_relative_to_prev_close_(bucket|count)\{/);
  });

  test('config: MOEX_HISTOGRAM and MOEX_REMOVE_AFTER_POLLS are checked at start', () => {
    const config = parseConfig(workerShape, {});
    assert.equal(config.MOEX_HISTOGRAM, 'listed');
    assert.equal(config.MOEX_REMOVE_AFTER_POLLS, 3);
    assert.equal(parseConfig(workerShape, { MOEX_HISTOGRAM: 'all', MOEX_REMOVE_AFTER_POLLS: '5' }).MOEX_REMOVE_AFTER_POLLS, 5);
    for (const [variable, bad] of [
      ['MOEX_HISTOGRAM', 'some'],
      ['MOEX_REMOVE_AFTER_POLLS', '0'],
      ['MOEX_REMOVE_AFTER_POLLS', 'x'],
    ]) {
      assert.throws(
        () => parseConfig(workerShape, { [variable!]: bad }),
        (e: unknown) => e instanceof ConfigError && e.variable === variable,
        `${variable}=${bad}`,
      );
    }
  });
});

describe('quote metrics rendered by hand', () => {
  test('the same text as prom-client for the same polls: every family, sample and HELP line', async () => {
    const registry = new Registry();
    const reference = promClientQuoteMetrics(registry);
    const ours = createQuoteMetrics({ histogramBoards: new Set(['TQBR', 'TQOB']), removeAfterPolls: 3 });
    // Values that turn null and back, a closed session, a ratio above every bucket, another board and market.
    const polls = [quotesOf('trading-day'), quotesOf('before-first-trade'), quotesOf('after-close'), quotesOf('trading-day')];
    const above = { ...polls[0]![0]!, ticker: 'HIGH"\\X', last: 500, prevClose: 100 };
    const bond = { ...polls[0]![1]!, board: 'TQOB', market: 'bonds', bondYield: 14.25, last: null };
    const option: Quote = {
      ...polls[0]![2]!,
      ticker: 'Si80000BL5',
      board: 'ROPD',
      engine: 'futures',
      market: 'options',
      trading: null,
      optionOpenInterest: 1250,
      optionOpenInterestChange: -40,
      centralStrike: 80000,
      option: { underlying: 'Si', type: 'call', strike: '80000', expiry: '2025-12-18' },
    };
    for (const quotes of [...polls, [above, bond, option]]) {
      reference(quotes);
      ours.update(quotes, ['TQBR', 'TQOB', 'ROPD']);
    }
    const theirs = await registry.metrics();
    const mine = ours.render();
    // Series order within a family may differ (prom-client moves a removed series to the end).
    const sorted = (text: string) => text.split('\n').sort();
    assert.deepEqual(sorted(mine), sorted(theirs));
    assert.equal(mine.split('\n\n').length, theirs.split('\n\n').length, 'families separated as prom-client separates them');
    assert.ok(mine.includes('moex_price_relative_to_prev_close_bucket{le="+Inf",ticker="HIGH\\"\\\\X"'), 'label values escaped');
    assert.ok(
      mine.includes(
        'moex_option_open_interest{ticker="Si80000BL5",board="ROPD",engine="futures",market="options",underlying="Si",option_type="call",strike="80000",expiry="2025-12-18"} 1250',
      ),
      'an option series carries its contract labels',
    );
    assert.ok(
      mine.includes(
        'moex_option_at_the_money{ticker="Si80000BL5",board="ROPD",engine="futures",market="options",underlying="Si",option_type="call",strike="80000",expiry="2025-12-18"} 1',
      ),
    );
  });
});

describe('CachedExposition', () => {
  test('a cycle is rendered when it ends, before any scrape asks for it', async () => {
    let renders = 0;
    const exposition = new CachedExposition({ metrics: () => `q ${++renders}\n` }, new Registry());
    exposition.cycleChanged();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(renders, 1, 'rendered without a scrape');
    assert.match((await serveOnce(exposition)).body.toString(), /^q 1$/m, 'the scrape gets that render, not another');
  });

  test('texts of a cycle are served as joinText joins them, then the live registry; the same bytes gzipped', async () => {
    const live = new Registry();
    new Gauge({ name: 'live_gauge', help: 'live', registers: [live] }).set(1);
    const texts = ['# HELP a A\n# TYPE a gauge\na 1', '', '# HELP b B\n# TYPE b gauge\nb 2\n'];
    const exposition = new CachedExposition({ metrics: () => texts }, live);
    exposition.cycleChanged();
    const plain = (await serveOnce(exposition)).body.toString();
    assert.equal(plain, joinText(...texts) + (await live.metrics()));
    const gzipped = await serveOnce(exposition, { 'Accept-Encoding': 'gzip' });
    assert.equal(gunzipSync(gzipped.body).toString(), plain);
  });

  test('a large cycle (streamed deflate) and a live part refreshed after it: one gzip member that gzip(1) reads whole', async () => {
    const live = new Registry();
    const counter = new Gauge({ name: 'live_refreshes', help: 'changes between scrapes', registers: [live] });
    const family = ['# HELP big B', '# TYPE big gauge', ...Array.from({ length: 20_000 }, (_, i) => `big{ticker="T${i}",board="TQBR"} ${i * 1.25}`)].join('\n');
    const exposition = new CachedExposition({ metrics: () => [family, family.replace(/big/g, 'other')] }, live, 0);
    exposition.cycleChanged();
    for (let scrape = 1; scrape <= 3; scrape++) {
      counter.set(scrape);
      // liveMaxAgeMs 0: each scrape starts a live refresh that the next one is served.
      const gzipped = await serveOnce(exposition, { 'Accept-Encoding': 'gzip' });
      const plain = (await serveOnce(exposition)).body.toString();
      assert.ok(gzipped.body.length < plain.length / 3, 'compressed');
      assert.equal(execFileSync('gzip', ['-dc'], { input: gzipped.body, maxBuffer: 64 * 1024 * 1024 }).toString(), gunzipSync(gzipped.body).toString());
      assert.ok(plain.startsWith(joinText(family, family.replace(/big/g, 'other'))), 'the cycle first, unchanged');
      assert.match(plain, /^live_refreshes \d$/m);
    }
  });

  async function serveOnce(exposition: CachedExposition, headers: Record<string, string> = {}) {
    const server = http.createServer((req, res) => void exposition.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      return await new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http
          .get({ port, path: '/metrics', headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
          })
          .on('error', reject);
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
