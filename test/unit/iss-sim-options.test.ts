import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { parseOptionSelection } from '../../lib/moex/options';
import type { BoardSource } from '../../lib/moex/markets';
import { SIM_BOARDS } from '../../iss-sim/src/boards';
import { Market } from '../../iss-sim/src/market';
import { optionCalcAnswer } from '../../iss-sim/src/option-calc';
import { OptionsBook, optionsBoardBeside, underlyingsIn, type OptionQuote } from '../../iss-sim/src/options-book';
import { optionsBoardJson } from '../../iss-sim/src/options-response';
import type { ResponseShape } from '../../iss-sim/src/iss-response';

// A Monday morning in Moscow, the session open: 2026-12-07 10:30 MSK.
const AT = new Date('2026-12-07T07:30:00Z');
const SHAPE: ResponseShape = { reorderColumns: false, dropMarketdata: false, withMetadata: false, only: null, columns: { securities: null, marketdata: null } };
const CALL_MONTHS = 'ABCDEFGHIJKL';
const PUT_MONTHS = 'MNOPQRSTUVWX';

function simulatedOptions() {
  const market = new Market({ walking: false, boards: [...SIM_BOARDS, optionsBoardBeside(SIM_BOARDS, AT)], now: () => AT.getTime() });
  const underlyingOf = underlyingsIn(market);
  return { market, underlyingOf, book: new OptionsBook(underlyingOf) };
}

/** The ROPD answer as ISS JSON text parses (what a client receives). */
function ropdJson(quotes: readonly OptionQuote[], at = AT): unknown {
  return JSON.parse(JSON.stringify(optionsBoardJson(quotes, quotes[0]!, 'ROPD', at, SHAPE, 900)));
}

const ROPD_SOURCE: BoardSource = { engine: 'futures', market: 'options', board: 'ROPD', kind: 'options', tickers: 'ALL' };

describe('simulated ROPD', () => {
  const { book, underlyingOf } = simulatedOptions();
  const day = book.series(AT);
  const quotes = book.quotes(AT);

  test('lists about 30,000 series, each SECID once, in the real columns (no OPTIONTYPE, no TRADINGSTATUS)', () => {
    assert.ok(day.list.length > 27_000 && day.list.length < 33_000, `${day.list.length} series`);
    assert.equal(new Set(day.list.map((s) => s.secid)).size, day.list.length);
    const json = ropdJson(quotes) as Record<string, { columns: string[]; data: unknown[][] }>;
    assert.equal(json.securities!.data.length, day.list.length);
    assert.deepEqual(json.securities!.columns.slice(0, 4), ['SECID', 'BOARDID', 'SHORTNAME', 'SECNAME']);
    for (const c of ['STRIKE', 'CENTRALSTRIKE', 'UNDERLYINGASSET', 'UNDERLYINGTYPE', 'UNDERLYINGSETTLEPRICE', 'LASTTRADEDATE', 'ASSETCODE'])
      assert.ok(json.securities!.columns.includes(c), c);
    assert.ok(!json.securities!.columns.includes('OPTIONTYPE'));
    for (const c of ['OPENPOSITION', 'OICHANGE', 'LAST', 'BID', 'OFFER', 'SYSTIME', 'UPDATETIME']) assert.ok(json.marketdata!.columns.includes(c), c);
    assert.ok(!json.marketdata!.columns.includes('TRADINGSTATUS'));
  });

  test("SECID's month letter and SHORTNAME's C/P agree with the series' kind and expiry; share options are premium-style", () => {
    for (const s of day.list) {
      const month = Number(s.expiry.slice(5, 7)) - 1;
      const letters = s.kind === 'call' ? CALL_MONTHS : PUT_MONTHS;
      const m = /^(..)(\d+(?:\.\d+)?)([BC])([A-X])(\d)([A-E]?)$/.exec(s.secid);
      assert.ok(m, s.secid);
      assert.equal(m[4], letters[month], s.secid);
      assert.equal(m[5], s.expiry.slice(3, 4), `${s.secid}: year digit`);
      assert.equal(Number(m[2]), s.strike);
      assert.equal(m[6] === '', s.seriesType !== 'W', `${s.secid}: weekly letter only on weeklies`);
      const ddmmyy = `${s.expiry.slice(8, 10)}${s.expiry.slice(5, 7)}${s.expiry.slice(2, 4)}`;
      const cp = s.kind === 'call' ? 'C' : 'P';
      if (s.asset.underlyingType === 'F') {
        assert.equal(m[3], 'B');
        assert.match(s.shortName, new RegExp(`^[A-Za-z]+-\\d{1,2}\\.\\d{2}M${ddmmyy}${cp}A${m[2]!.replace('.', '\\.')}$`));
      } else {
        assert.equal(m[3], 'C');
        assert.equal(s.shortName, `${s.asset.asset}P${ddmmyy}${cp}E${m[2]}`);
      }
    }
  });

  test('expiries lie ahead of the clock, weeklies before and between monthlies, on Thursdays (futures) and Wednesdays (shares)', () => {
    const today = '2026-12-07';
    const byAsset = new Map<string, Map<string, string>>();
    for (const s of day.list) {
      assert.ok(s.expiry > today, `${s.secid} expires ${s.expiry}`);
      assert.equal(new Date(`${s.expiry}T00:00:00Z`).getUTCDay(), s.asset.underlyingType === 'F' ? 4 : 3, s.secid);
      const expiries = byAsset.get(s.asset.asset) ?? new Map<string, string>();
      byAsset.set(s.asset.asset, expiries.set(s.expiry, s.seriesType));
    }
    assert.ok(byAsset.size >= 10);
    for (const [asset, expiries] of byAsset) {
      const dates = [...expiries.keys()];
      assert.deepEqual(dates, [...dates].sort(), `${asset}: rows in expiry order`);
      const types = [...expiries.values()];
      assert.ok(types.includes('W') && types.includes('Q'), `${asset}: ${types.join('')}`);
      assert.equal(types[0], 'W', `${asset}: the nearest expiry is a weekly`);
      // Monthlies and quarterlies are the month's third expiry weekday.
      for (const [date, type] of expiries) if (type !== 'W') assert.ok(Number(date.slice(8)) >= 15 && Number(date.slice(8)) <= 21, `${asset} ${date}`);
    }
  });

  test('strikes step around the central strike; open interest is largest near the money', () => {
    const si = day.list.filter((s) => s.asset.asset === 'Si' && s.expiry === day.list.find((x) => x.asset.asset === 'Si' && x.seriesType === 'M')!.expiry);
    const strikes = [...new Set(si.map((s) => s.strike))];
    assert.ok(strikes.every((k, i) => i === 0 || k - strikes[i - 1]! === 250));
    const central = si[0]!.centralStrike;
    assert.ok(strikes.includes(central));
    assert.equal(central, Math.round(underlyingOf(si[0]!.underlying)!.prevPrice / 250) * 250);
    const oi = (strike: number) => si.filter((s) => s.strike === strike).reduce((sum, s) => sum + s.prevOpenPosition, 0);
    assert.ok(oi(central) > 5 * oi(strikes[0]!) && oi(central) > 5 * oi(strikes.at(-1)!));
  });

  test('prices follow a smile: out-of-the-money puts carry more volatility than the money, and the board trades near it', () => {
    const ofSeries = quotes.filter(
      (q) => q.series.seriesCode === quotes.find((x) => x.series.asset.asset === 'RTS' && x.series.seriesType === 'M')!.series.seriesCode,
    );
    const atm = ofSeries.find((q) => q.series.strike === q.series.centralStrike && q.series.kind === 'put')!;
    const otmPut = ofSeries.find((q) => q.series.kind === 'put' && q.series.strike <= atm.series.strike * 0.85)!;
    const otmCall = ofSeries.find((q) => q.series.kind === 'call' && q.series.strike >= atm.series.strike * 1.15)!;
    assert.ok(otmPut.volatility > atm.volatility, `${otmPut.volatility} > ${atm.volatility}`);
    assert.ok(otmPut.volatility > otmCall.volatility, 'skew: puts over calls at the same distance');
    assert.ok(atm.last > 0 && atm.numTrades > 0 && atm.bid > 0 && atm.bid < atm.offer);
    assert.ok(Math.abs(atm.last - atm.theoretical) <= atm.series.asset.minStep);
    assert.ok(atm.low <= atm.last && atm.last <= atm.high);
  });

  test('the price walk moves option prices and their IV with the underlying', () => {
    const { book: walked, underlyingOf: walkedOf } = simulatedOptions();
    const before = walked.quotes(AT);
    const index = before.findIndex(
      (q) => q.series.asset.asset === 'Si' && q.series.strike === q.series.centralStrike && q.series.kind === 'call' && q.series.seriesType === 'M',
    );
    const si = walkedOf(before[index]!.series.underlying)!;
    const callBefore = before[index]!;
    si.last = si.last * 0.98;
    const after = walked.quotes(AT)[index]!;
    assert.ok(after.theoretical < callBefore.theoretical, 'the call cheapens as the underlying falls');
    assert.ok(after.volatility > callBefore.volatility, 'and its implied volatility rises');
  });

  test('off-hours every price of every series is 0, as ISS sends it; open interest stays', () => {
    for (const session of ['closed', 'pre-open'] as const) {
      const closed = ropdJson(book.quotes(AT, session)) as Record<string, { columns: string[]; data: unknown[][] }>;
      const md = closed.marketdata!;
      const priceColumns = ['LAST', 'BID', 'OFFER', 'OPEN', 'HIGH', 'LOW'].map((c) => md.columns.indexOf(c));
      for (const row of md.data) for (const at of priceColumns) assert.equal(row[at], 0, `${session} ${String(row[0])}`);
      assert.ok(md.data.some((row) => (row[md.columns.indexOf('OPENPOSITION')] as number) > 0));
    }
  });

  const parsedContracts = (json: unknown) => {
    const all = parseBoardSnapshot(json, ROPD_SOURCE);
    const unread = new Set(all.invalidValues.filter((v) => v.field === 'option').map((v) => v.ticker));
    return { all, unread };
  };

  test("the product's parser reads each series' contract as the board means it, and ROPD=Si,RTS@2 keeps Si's and RTS's two nearest expiries", () => {
    const json = ropdJson(quotes);
    const { all, unread } = parsedContracts(json);
    const bySecid = new Map(all.quotes.map((q) => [q.ticker, q.option]));
    for (const s of day.list) {
      assert.ok(!unread.has(s.secid), `${s.secid} (${s.shortName}) read`);
      assert.deepEqual(bySecid.get(s.secid), { underlying: s.asset.asset, type: s.kind, strike: String(s.strike), expiry: s.expiry }, s.secid);
    }
    const picked = parseBoardSnapshot(json, { ...ROPD_SOURCE, optionSelection: parseOptionSelection('Si,RTS@2')! });
    const expected = day.list.filter((s) => {
      if (s.asset.asset !== 'Si' && s.asset.asset !== 'RTS') return false;
      const expiries = [...new Set(day.list.filter((x) => x.asset.asset === s.asset.asset).map((x) => x.expiry))].sort();
      return expiries.slice(0, 2).includes(s.expiry);
    });
    assert.ok(expected.length > 400);
    assert.deepEqual(picked.quotes.map((q) => q.ticker).sort(), expected.map((s) => s.secid).sort());
  });
});

describe('simulated Options Calculator', () => {
  const { book } = simulatedOptions();
  const day = book.series(AT);
  const quotes = book.quotes(AT);
  const calc = (path: string, query = '') => optionCalcAnswer(path, new URLSearchParams(query), day, (i) => quotes[i]!, AT);
  const siMonthly = day.list.find((s) => s.asset.asset === 'Si' && s.seriesType === 'M')!;

  test("assets and option series: the board's assets, each expiry a series with its central strike and totals", () => {
    const assets = calc('/assets').body as Array<{ asset_code: string; asset_type: string }>;
    assert.ok(assets.some((a) => a.asset_code === 'Si' && a.asset_type === 'futures'));
    assert.ok(assets.some((a) => a.asset_code === 'SBER' && a.asset_type === 'share'));
    assert.deepEqual((calc('/assets', 'query=sb').body as Array<{ asset_code: string }>).map((a) => a.asset_code).sort(), ['SBER', 'SBRF']);
    const series = calc('/assets/si/optionseries').body as Array<Record<string, unknown> & { call: Record<string, number> }>;
    const one = series.find((s) => s.optionseries_code === siMonthly.seriesCode)!;
    assert.equal(one.asset_code, 'Si');
    assert.equal(one.futures_code, siMonthly.underlying);
    assert.equal(one.series_type, 'M');
    assert.equal(one.expiration_date, siMonthly.expiry);
    assert.equal(one.central_strike, siMonthly.centralStrike);
    const ofSeries = quotes.filter((q) => q.series.seriesCode === siMonthly.seriesCode && q.series.kind === 'call');
    assert.equal(
      one.call.openposition,
      ofSeries.reduce((sum, q) => sum + q.openPosition, 0),
    );
    assert.deepEqual(Object.keys(one), [
      'optionseries_code',
      'asset_code',
      'asset_type',
      'futures_code',
      'series_type',
      'expiration_date',
      'central_strike',
      'call',
      'put',
      'updatetime',
    ]);
  });

  test("optionboard rows are the board's series: same SECIDs and strikes, theorprice and volatility the board's model, greeks in the calculator's units", () => {
    const answer = calc(`/assets/Si/optionseries/${siMonthly.seriesCode}/optionboard`, 'rows=5');
    assert.equal(answer.status, 200);
    const board = answer.body as { call: Array<Record<string, number | string>>; put: Array<Record<string, number | string>> };
    assert.equal(board.call.length, 11);
    assert.equal(board.put.length, 11);
    assert.deepEqual(Object.keys(board.call[0]!), [
      'delta',
      'gamma',
      'vega',
      'theta',
      'rho',
      'secid',
      'theorprice',
      'theorprice_rub',
      'last',
      'offer',
      'bid',
      'numtrades',
      'strike',
      'volatility',
      'intrinsic_value',
      'timed_value',
    ]);
    for (const kind of ['call', 'put'] as const) {
      for (const row of board[kind]) {
        const q = quotes[day.bySecid.get(String(row.secid).toUpperCase())!]!;
        assert.equal(q.series.kind, kind);
        assert.equal(q.series.seriesCode, siMonthly.seriesCode);
        assert.equal(row.strike, q.series.strike);
        assert.equal(row.theorprice, Number(q.theoretical.toFixed(6)));
        assert.equal(row.volatility, Number((q.volatility * 100).toFixed(2)));
        assert.equal(row.last, q.last);
        assert.ok((row.gamma as number) > 0 && (row.vega as number) > 0 && (row.theta as number) < 0);
        assert.ok(kind === 'call' ? (row.delta as number) > 0 && (row.delta as number) < 1 : (row.delta as number) < 0 && (row.delta as number) > -1);
        assert.ok(Math.abs((row.intrinsic_value as number) + (row.timed_value as number) - (row.theorprice as number)) < 0.02);
      }
    }
    const central = board.call[5]!;
    assert.equal(central.strike, siMonthly.centralStrike);
    // Vega per vol point and theta per day: an at-the-money Si call a month or so out moves by tens of roubles, not thousands.
    assert.ok((central.vega as number) > 10 && (central.vega as number) < 300, String(central.vega));
    assert.ok((central.theta as number) < -1 && (central.theta as number) > -200, String(central.theta));
  });

  test('volatility_graph: one point per strike, the smile of the board', () => {
    const points = calc(`/assets/Si/optionseries/${siMonthly.seriesCode}/volatility_graph`).body as Array<{ strike: number; volatility: number }>;
    assert.equal(points.length, new Set(day.list.filter((s) => s.seriesCode === siMonthly.seriesCode).map((s) => s.strike)).size);
    const atm = points.find((p) => p.strike === siMonthly.centralStrike)!;
    assert.ok(points[0]!.volatility > atm.volatility);
  });

  test('unknown assets and series are 404 {detail}; bad parameters 422 as FastAPI words them', () => {
    assert.deepEqual(calc('/assets/XYZ/optionseries'), { status: 404, body: { detail: 'Asset XYZ not found' } });
    assert.equal(calc('/assets/Si/optionseries/Si-1.99M010199XA/optionboard').status, 404);
    assert.equal(calc('/nothing').status, 404);
    const rows = calc(`/assets/Si/optionseries/${siMonthly.seriesCode}/optionboard`, 'rows=many');
    assert.equal(rows.status, 422);
    assert.deepEqual(
      (rows.body as { detail: Array<{ loc: unknown; type: string }> }).detail.map((d) => [d.loc, d.type]),
      [[['query', 'rows'], 'int_parsing']],
    );
    const type = calc('/assets', 'asset_type=bond');
    assert.equal(type.status, 422);
    assert.match(JSON.stringify(type.body), /Input should be 'commodity', 'currency', 'futures', 'index' or 'share'/);
    assert.equal(calc('/assets/ABCDEFGHIJKLM').status, 422);
  });

  test('off-hours the calculator still prices every series, with no quotes (0)', () => {
    const closed = optionCalcAnswer(
      `/assets/Si/optionseries/${siMonthly.seriesCode}/optionboard`,
      new URLSearchParams('rows=2'),
      day,
      book.quoteReader(AT, 'closed'),
      AT,
    );
    const rows = (closed.body as { call: Array<Record<string, number>> }).call;
    assert.ok(rows.every((r) => r.last === 0 && r.bid === 0 && r.offer === 0 && r.theorprice! > 0));
  });
});
