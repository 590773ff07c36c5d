import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, moexShape } from '../../lib/config';
import { PollError } from '../../lib/moex/errors';
import { parseOptionBoard, parseOptionSeriesList } from '../../lib/moex/option-greeks';
import { optionContractOf, parseOptionSelection, selectOptionSeries, type OptionContract } from '../../lib/moex/options';

/** A row's cells by column name, as the board's reader hands them over. */
const row =
  (cells: Record<string, unknown>) =>
  (column: string): unknown =>
    cells[column];

describe('optionContractOf', () => {
  // Real SECID and SHORTNAME pairs of 2025 weekly RTS options (alor-broker/Astras-Trading-UI issue #2059).
  test('SHORTNAME alone (answers without STRIKE or underlying columns): call, put, strike, expiry, asset', () => {
    assert.deepEqual(optionContractOf('RI102500BJ5B', row({ SHORTNAME: 'RTS-12.25M091025CA102500' })), {
      underlying: 'RTS',
      type: 'call',
      strike: '102500',
      expiry: '2025-10-09',
    });
    assert.deepEqual(optionContractOf('RI100000BV5', row({ SHORTNAME: 'RTS-12.25M161025PA100000' })), {
      underlying: 'RTS',
      type: 'put',
      strike: '100000',
      expiry: '2025-10-16',
    });
  });

  test('the columns win over SHORTNAME where the answer has them; call/put from the SECID month letter without either', () => {
    const cells = { SHORTNAME: 'odd name', STRIKE: 0.925, LASTTRADEDATE: '2026-03-19', ASSETCODE: 'CNY' };
    assert.deepEqual(optionContractOf('CR0.925BC6', row(cells)), { underlying: 'CNY', type: 'call', strike: '0.925', expiry: '2026-03-19' });
    assert.equal(optionContractOf('CR0.925BO6', row(cells))?.type, 'put', 'O (March, put range M–X)');
    assert.equal(optionContractOf('CR0.925BO6', row({ ...cells, OPTIONTYPE: 'C' }))?.type, 'call', 'an OPTIONTYPE column is read first');
    // Weekly series carry a week letter after the year digit (RI102500BJ5B above).
    assert.equal(optionContractOf('RI102500BJ5B', row(cells))?.type, 'call');
    assert.equal(optionContractOf('RI100000BV5', row(cells))?.type, 'put');
    assert.equal(optionContractOf('SR40CX6D', row(cells))?.type, 'put');
  });

  test('a series whose contract cannot be told is null, never a guess', () => {
    assert.equal(optionContractOf('XX', row({ SHORTNAME: 'no pattern', STRIKE: 100, LASTTRADEDATE: '2026-03-19', ASSETCODE: 'Si' })), null, 'no call/put');
    assert.equal(optionContractOf('Si80000BL6', row({ STRIKE: 0, LASTTRADEDATE: '2026-12-17', ASSETCODE: 'Si' })), null, 'strike 0');
    assert.equal(optionContractOf('Si80000BL6', row({ STRIKE: 80000, LASTTRADEDATE: '17.12.2026', ASSETCODE: 'Si' })), null, 'not a date');
    assert.equal(optionContractOf('Si80000BL6', row({ STRIKE: 80000, LASTTRADEDATE: '2026-12-17' })), null, 'no asset');
  });
});

describe('option selection', () => {
  const contract = (underlying: string, expiry: string, strike = '100'): { contract: OptionContract } => ({
    contract: { underlying, type: 'call', strike, expiry },
  });
  const board = [
    contract('Si', '2026-12-17'),
    contract('Si', '2026-12-10'),
    contract('Si', '2027-03-18'),
    contract('Si', '2026-12-10', '200'),
    contract('RTS', '2026-12-24'),
    contract('BR', '2026-12-10'),
  ];

  test('ASSET,ASSET@N keeps those assets nearest N expiries, each asset on its own', () => {
    const kept = selectOptionSeries(board, parseOptionSelection('Si,RTS@2')!);
    assert.deepEqual(
      kept.map((s) => `${s.contract.underlying} ${s.contract.expiry} ${s.contract.strike}`),
      ['Si 2026-12-17 100', 'Si 2026-12-10 100', 'Si 2026-12-10 200', 'RTS 2026-12-24 100'],
    );
    assert.equal(selectOptionSeries(board, parseOptionSelection('ALL@1')!).length, 4, 'Si 12-10 twice, RTS, BR');
    assert.equal(selectOptionSeries(board, parseOptionSelection('si@ALL')!).length, 4, 'asset codes match whatever the case');
  });

  test('the syntax: no @ is a SECID list; a malformed selection names what is wrong', () => {
    assert.equal(parseOptionSelection('Si80000BL6,SiP'), null);
    assert.deepEqual(parseOptionSelection(' Si , RTS@ALL'), { assets: ['SI', 'RTS'], nearestExpiries: 'ALL' });
    for (const bad of ['Si@', '@2', 'Si@0', 'Si@-1', 'Si@two', 'Si-Z@2', 'Si@2@3']) assert.throws(() => parseOptionSelection(bad), /e\.g\./, bad);
  });

  test('MOEX_SOURCES: an options entry takes the selection; a bad one, or @ on another board, exits naming the entry', () => {
    const config = parseConfig(moexShape, { MOEX_SOURCES: 'stock/shares/TQBR=SBER;futures/options/ROPD=Si,RTS@2' });
    assert.deepEqual(config.MOEX_SOURCES?.[1], {
      engine: 'futures',
      market: 'options',
      board: 'ROPD',
      kind: 'options',
      tickers: 'ALL',
      optionSelection: { assets: ['SI', 'RTS'], nearestExpiries: 2 },
    });
    assert.deepEqual(parseConfig(moexShape, { MOEX_SOURCES: 'futures/options/ROPD=Si80000BL6' }).MOEX_SOURCES?.[0]?.tickers, ['SI80000BL6']);
    for (const entry of ['futures/options/ROPD=Si,RTS@x', 'stock/shares/TQBR=SBER@2']) {
      assert.throws(
        () => parseConfig(moexShape, { MOEX_SOURCES: entry }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'MOEX_SOURCES' && e.message.includes(entry),
        entry,
      );
    }
  });
});

describe('Options Calculator answers', () => {
  // A real optionboard row: SBER series SBERP200526XE, from a forum attachment
  // (https://c.mql5.com/3/489/calc-optionseries-board-sber_json.txt); last/offer 0 there mean "no price".
  const sberRow = {
    delta: 0.999903,
    gamma: 0.000024,
    vega: 0.00013,
    theta: -0.00076,
    rho: 0.029586,
    secid: 'SR270CE6',
    theorprice: 53.570371,
    theorprice_rub: 53.57,
    last: 0,
    offer: 0,
    bid: 10.15,
    numtrades: 0,
    strike: 270,
    volatility: 46.7,
    intrinsic_value: 53.57,
    timed_value: 0,
  };
  // A real 2024 row quoted in a public connector's docstring: prices may be null, not only 0.
  const nullPrices = { ...sberRow, secid: 'IS76CJ4D', last: null, offer: null, bid: null, volatility: 124.75, delta: 0.993319 };

  test('optionboard: every figure by SECID, IV in percent; nulls stay null; a figure out of range is left out and counted', () => {
    const { greeks, invalid } = parseOptionBoard({
      call: [sberRow, nullPrices],
      put: [{ ...sberRow, secid: 'SR270CQ6', delta: -1.5, volatility: 0, gamma: null }],
    });
    assert.deepEqual(greeks.get('SR270CE6'), {
      impliedVolatility: 46.7,
      theoreticalPrice: 53.570371,
      delta: 0.999903,
      gamma: 0.000024,
      vega: 0.00013,
      theta: -0.00076,
    });
    assert.equal(greeks.get('IS76CJ4D')?.impliedVolatility, 124.75);
    assert.deepEqual(greeks.get('SR270CQ6'), {
      impliedVolatility: null,
      theoreticalPrice: 53.570371,
      delta: null,
      gamma: null,
      vega: 0.00013,
      theta: -0.00076,
    });
    assert.deepEqual(
      invalid.map((v) => `${v.secid}.${v.field}=${String(v.value)}`),
      ['SR270CQ6.impliedVolatility=0', 'SR270CQ6.delta=-1.5'],
    );
    assert.throws(
      () => parseOptionBoard({ detail: 'Not Found' }),
      (e: unknown) => e instanceof PollError && e.reason === 'validation',
    );
  });

  test('optionseries: code and expiry of each series; entries without them left out', () => {
    const list = parseOptionSeriesList([
      { optionseries_code: 'SBERP200526XE', asset_code: 'SBER', expiration_date: '2026-05-20', central_strike: 300, series_type: 'M' },
      { optionseries_code: '', expiration_date: '2026-05-20' },
      { optionseries_code: 'X', expiration_date: '20.05.2026' },
    ]);
    assert.deepEqual(list, [{ code: 'SBERP200526XE', expiry: '2026-05-20' }]);
    assert.throws(
      () => parseOptionSeriesList({}),
      (e: unknown) => e instanceof PollError && e.reason === 'validation',
    );
  });
});
