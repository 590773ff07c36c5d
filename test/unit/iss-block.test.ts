import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PollError } from '../../lib/moex/errors';
import { findIssBlock, readIssBlock } from '../../lib/moex/iss-block';
import { issFixture } from '../support/fixtures';

const validation = (pattern: RegExp) => (err: unknown) => err instanceof PollError && err.reason === 'validation' && pattern.test(err.message);

describe('the ISS block reader', () => {
  test('a real board answer: cells by column name, whatever the position', () => {
    const json = issFixture('real/tqbr-sber-2023-10-18');
    const marketdata = readIssBlock(json, 'marketdata', { required: ['SECID', 'SYSTIME'] });
    const [row] = marketdata.rows;
    assert.equal(marketdata.rows.length, 1);
    assert.equal(marketdata.cell(row!, 'SECID'), 'SBER');
    assert.equal(marketdata.cell(row!, 'BOARDID'), 'TQBR');
    assert.equal(marketdata.cell(row!, 'SYSTIME'), row![marketdata.index.get('SYSTIME')!]);
    assert.equal(marketdata.cell(row!, 'NO_SUCH_COLUMN'), undefined);
    // An empty block is a block: ISS sends marketdata_yields with no rows for a share.
    assert.equal(readIssBlock(json, 'marketdata_yields').rows.length, 0);
  });

  test('a real engine answer with metadata: the metadata is not a column', () => {
    const timetable = readIssBlock(issFixture('real/engine-stock-2018'), 'timetable');
    assert.deepEqual(timetable.columns, ['week_day', 'is_work_day', 'start_time', 'stop_time']);
  });

  test('anyCase: a real ALGOPACK answer read in lower case, its cursor in capitals too', () => {
    const json = issFixture('real/algopack/eq-tradestats-2026-01-09');
    const data = readIssBlock(json, 'data', { anyCase: true });
    const [row] = data.rows;
    assert.equal(data.cell(row!, 'secid'), 'AFKS');
    assert.equal(data.cell(row!, 'SECID'), undefined, 'lookups are by the lower-case name');
    const cursor = findIssBlock(json, 'data.cursor', { anyCase: true })!;
    assert.deepEqual(cursor.columns, ['index', 'total', 'pagesize']);
    assert.equal(readIssBlock(json, 'data.cursor').index.get('INDEX'), 0, 'without anyCase the names are as sent');
  });

  test('a name sent twice: the last position, as a map of the row would keep', () => {
    const block = readIssBlock({ b: { columns: ['A', 'B', 'a'], data: [[1, 2, 3]] } }, 'b', { anyCase: true });
    assert.equal(block.cell(block.rows[0]!, 'a'), 3);
    assert.deepEqual(
      [...block.index],
      [
        ['a', 2],
        ['b', 1],
      ],
    );
  });

  test('an optional block that is absent is null; one that is there must be well formed', () => {
    assert.equal(findIssBlock({ data: { columns: [], data: [] } }, 'data.cursor'), null);
    assert.throws(() => findIssBlock({ 'data.cursor': { columns: ['INDEX'] } }, 'data.cursor'), validation(/no "data.cursor" block/));
  });

  test('what is not an ISS block is a validation error naming the block', () => {
    assert.throws(() => readIssBlock('<html>', 'securities'), validation(/not a JSON object/));
    assert.throws(() => readIssBlock([], 'securities'), validation(/not a JSON object/));
    assert.throws(() => readIssBlock({}, 'securities'), validation(/no "securities" block with columns and data/));
    assert.throws(() => readIssBlock({ securities: { columns: ['SECID'], data: {} } }, 'securities'), validation(/no "securities" block/));
    assert.throws(() => readIssBlock({ securities: { columns: ['SECID', 7], data: [] } }, 'securities'), validation(/"securities" block is malformed/));
    assert.throws(() => readIssBlock({ securities: { columns: ['SECID'], data: [['SBER'], 'GAZP'] } }, 'securities'), validation(/malformed/));
    assert.throws(
      () => readIssBlock({ timetable: { columns: ['week_day'], data: [] } }, 'timetable', { required: ['week_day', 'is_work_day', 'start_time'] }),
      validation(/"timetable" block lacks is_work_day, start_time/),
    );
  });
});
