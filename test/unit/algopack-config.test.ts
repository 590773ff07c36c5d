import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../../lib/config';
import { algopackFilters, algopackShape, isWanted, type AlgopackSelection } from '../../lib/moex/algopack/config';
import type { BoardSource } from '../../lib/moex/markets';

const parse = (value: string | undefined) => parseConfig(algopackShape, value === undefined ? {} : { MOEX_ALGOPACK: value });
const problem = (value: string) => {
  try {
    parse(value);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail(`accepted ${value}`);
};

describe('MOEX_ALGOPACK', () => {
  test('unset or empty: off; the schedule defaults to 20 s past each 5-minute mark', () => {
    assert.equal(parse(undefined).MOEX_ALGOPACK, null);
    assert.equal(parse(' ').MOEX_ALGOPACK, null);
    assert.equal(parse(undefined).MOEX_ALGOPACK_SCHEDULE, '20 */5 * * * *');
  });

  test('the issue’s plain list, and entries with a per-market ticker filter', () => {
    assert.deepEqual(parse('eq/tradestats,eq/obstats,fo/tradestats,fo/futoi').MOEX_ALGOPACK, {
      feeds: [
        { market: 'eq', dataset: 'tradestats' },
        { market: 'eq', dataset: 'obstats' },
        { market: 'fo', dataset: 'tradestats' },
        { market: 'fo', dataset: 'futoi' },
      ],
      tickers: {},
    } satisfies AlgopackSelection);
    assert.deepEqual(parse(' eq/tradestats, eq/orderstats = sber,GAZP ; fo/futoi=all;fx/obstats').MOEX_ALGOPACK, {
      feeds: [
        { market: 'eq', dataset: 'tradestats' },
        { market: 'eq', dataset: 'orderstats' },
        { market: 'fo', dataset: 'futoi' },
        { market: 'fx', dataset: 'obstats' },
      ],
      tickers: { eq: ['SBER', 'GAZP'], fo: 'ALL' },
    } satisfies AlgopackSelection);
  });

  test('bad entries are refused, naming the entry', () => {
    assert.match(problem('eq/tradestats;fo/orderstats'), /^MOEX_ALGOPACK: entry "fo\/orderstats": "fo\/orderstats" is not an ALGOPACK dataset/);
    assert.match(problem('eq/candles'), /entry "eq\/candles": "eq\/candles" is not an ALGOPACK dataset \(one of eq\/tradestats, fo\/tradestats/);
    assert.match(problem('eq/futoi'), /"eq\/futoi" is not an ALGOPACK dataset/);
    assert.match(problem('tradestats'), /entry "tradestats"/);
    assert.match(problem('eq/tradestats,fo/tradestats=SBER'), /entry "eq\/tradestats,fo\/tradestats=SBER": a ticker filter belongs to one market/);
    assert.match(problem('eq/tradestats=SBER;eq/obstats=GAZP'), /entry "eq\/obstats=GAZP": market eq already has a ticker filter/);
    assert.match(problem('eq/tradestats;eq/tradestats'), /eq\/tradestats is listed twice/);
    assert.match(problem('eq/tradestats='), /entry "eq\/tradestats=": must list at least one ticker/);
    assert.match(problem('eq/tradestats=SB-ER'), /"SB-ER" is not a SECID/);
    assert.match(problem('=SBER'), /names no market\/dataset/);
  });

  test('a bad schedule is refused', () => {
    assert.throws(() => parseConfig(algopackShape, { MOEX_ALGOPACK_SCHEDULE: 'every 5 minutes' }), /MOEX_ALGOPACK_SCHEDULE: must be a node-cron expression/);
  });
});

describe('algopackFilters', () => {
  const boards: BoardSource[] = [
    { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: ['SBER', 'GAZP'] },
    { engine: 'stock', market: 'index', board: 'SNDX', kind: 'index', tickers: ['IMOEX'] },
    { engine: 'futures', market: 'forts', board: 'RFUD', kind: 'futures', tickers: ['SiH6', 'BRF6'] },
  ];
  const filters = (value: string, polled = boards) => algopackFilters(parse(value).MOEX_ALGOPACK!, polled);

  test('default: the polled tickers of the market; futoi by asset code of the polled futures', () => {
    const f = filters('eq/tradestats,fo/tradestats,fo/futoi');
    const eq = f.get('eq/tradestats')!;
    assert.deepEqual([isWanted(eq, 'SBER'), isWanted(eq, 'GAZP'), isWanted(eq, 'LKOH'), isWanted(eq, 'IMOEX')], [true, true, false, false]);
    assert.deepEqual([isWanted(f.get('fo/tradestats')!, 'SIH6'), isWanted(f.get('fo/tradestats')!, 'Si')], [true, false]);
    const futoi = f.get('fo/futoi')!;
    assert.deepEqual([isWanted(futoi, 'Si'), isWanted(futoi, 'BR'), isWanted(futoi, 'YD')], [true, true, false]);
  });

  test('a given filter or ALL wins; a polled ALL board means ALL', () => {
    const f = filters('eq/tradestats=LKOH;fx/tradestats=ALL');
    assert.deepEqual([isWanted(f.get('eq/tradestats')!, 'LKOH'), isWanted(f.get('eq/tradestats')!, 'SBER')], [true, false]);
    assert.equal(f.get('fx/tradestats'), 'ALL');
    assert.equal(filters('eq/obstats', [{ ...boards[0]!, tickers: 'ALL' }]).get('eq/obstats'), 'ALL');
  });

  test('a market the stack does not poll, without a filter: a config error naming the feed', () => {
    assert.throws(
      () => filters('fx/tradestats'),
      (err: unknown) => err instanceof ConfigError && /^MOEX_ALGOPACK: fx\/tradestats: the stack polls no fx tickers/.test(err.message),
    );
  });
});
