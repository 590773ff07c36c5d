import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Delistings } from '../../iss-sim/src/delistings';

test('simulator delistings: PUT takes a security off one board, DELETE brings it (or all) back, bad bodies are 400', () => {
  const delistings = new Delistings();
  assert.deepEqual(delistings.control('PUT', { board: 'tqbr', secid: 'gazp' }), { status: 200, body: { delisted: ['TQBR/GAZP'] } });
  assert.equal(delistings.has('TQBR', 'GAZP'), true);
  assert.equal(delistings.has('TQBR', 'SBER'), false);
  assert.equal(delistings.has('TQTF', 'GAZP'), false, 'only on the board named');
  delistings.control('PUT', { board: 'TQBR', secid: 'SBER' });
  assert.deepEqual(delistings.control('DELETE', { board: 'TQBR', secid: 'SBER' }).body, { delisted: ['TQBR/GAZP'] });
  assert.deepEqual(delistings.control('GET', {}).body, { delisted: ['TQBR/GAZP'] });
  assert.deepEqual(delistings.control('DELETE', {}).body, { delisted: [] });
  assert.equal(delistings.has('TQBR', 'GAZP'), false);
  assert.equal(delistings.control('PUT', { board: 'TQBR' }).status, 400);
  assert.equal(delistings.control('POST', {}).status, 405);
});
