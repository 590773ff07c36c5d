import { sharesBoard } from '../support/fixtures';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PollError } from '../../lib/moex/errors';
import { boardSnapshotUrl, createIssClient, retryAfterMs } from '../../lib/moex/iss-client';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { startIssSim, type IssSim } from '../support/services';

const location = (issUrl: string) => ({ issUrl, engine: 'stock', market: 'shares', board: 'TQBR' });

describe('ISS client against the simulator', () => {
  let sim: IssSim;
  before(async () => {
    sim = await startIssSim({ SIM_DELAY_MS: '1500', SIM_RETRY_AFTER: '1' });
  });
  after(() => sim.stop());
  beforeEach(async () => {
    await sim.control.clearFault();
    await sim.control.clearRequests();
  });

  const client = (extra: Partial<Parameters<typeof createIssClient>[0]> = {}) =>
    createIssClient({ ...location(sim.issUrl), tickers: ['SBER', 'GAZP'], timeoutMs: 1000, backoffMs: 50, ...extra });

  const failure = async (promise: Promise<unknown>): Promise<PollError> => {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof PollError, String(err));
      return err;
    }
    assert.fail('expected the fetch to fail');
  };

  test('fetches one board snapshot that parses into the requested quotes', async () => {
    const json = await client().fetchBoardSnapshot();
    const { quotes } = parseBoardSnapshot(json, sharesBoard(['SBER', 'GAZP']));
    assert.deepEqual(quotes.map((q) => q.ticker), ['SBER', 'GAZP']);
    const [request] = await sim.control.requests();
    assert.equal(request?.securities, 'SBER,GAZP');
    assert.equal(request?.gzip, true, 'asks for gzip, which ISS answers with');
  });

  test('retries 5xx at most twice, then succeeds or gives up with reason http', async () => {
    await sim.control.setFault('http500', 2);
    await client().fetchBoardSnapshot();
    assert.equal((await sim.control.requests()).length, 3);

    await sim.control.clearRequests();
    await sim.control.setFault('http500', 5);
    assert.equal((await failure(client().fetchBoardSnapshot())).reason, 'http');
    assert.equal((await sim.control.requests()).length, 3);
  });

  test('429 waits for Retry-After before trying again', async () => {
    await sim.control.setFault('http429', 1);
    await client().fetchBoardSnapshot();
    const [first, second] = await sim.control.requests();
    assert.ok(Date.parse(second!.at) - Date.parse(first!.at) >= 950, 'waited about a second');
  });

  test('a Retry-After beyond the limit is not waited for', async () => {
    await sim.control.setFault('http429', 1);
    assert.equal((await failure(client({ maxRetryAfterMs: 500 }).fetchBoardSnapshot())).reason, 'http');
    assert.equal((await sim.control.requests()).length, 1);
  });

  test('a timeout is reported as such and not retried', async () => {
    await sim.control.setFault('timeout', 1);
    const started = Date.now();
    assert.equal((await failure(client({ timeoutMs: 300 }).fetchBoardSnapshot())).reason, 'timeout');
    assert.ok(Date.now() - started < 1000);
    assert.equal((await sim.control.requests()).length, 1);
  });

  test('a reset connection is a network error, retried', async () => {
    await sim.control.setFault('reset', 1);
    await client().fetchBoardSnapshot();
    assert.equal((await sim.control.requests()).length, 2);
  });

  test('HTML and broken JSON are parse errors, not retried', async () => {
    for (const fault of ['html', 'malformed-json']) {
      await sim.control.clearRequests();
      await sim.control.setFault(fault, 1);
      const err = await failure(client().fetchBoardSnapshot());
      assert.equal(err.reason, 'parse');
      assert.equal((await sim.control.requests()).length, 1);
    }
  });

  test('nothing listening is a network error', async () => {
    const err = await failure(createIssClient({ ...location('http://127.0.0.1:9'), tickers: ['SBER'], timeoutMs: 500, backoffMs: 10 }).fetchBoardSnapshot());
    assert.equal(err.reason, 'network');
  });
});

describe('ISS request shape', () => {
  test('one URL for every ticker; no securities filter for ALL', () => {
    assert.equal(
      boardSnapshotUrl(location('https://iss.moex.com/iss'), ['SBERP', 'SBER', 'GAZP']),
      'https://iss.moex.com/iss/engines/stock/markets/shares/boards/TQBR/securities.json?iss.meta=off&iss.only=securities,marketdata&securities=SBERP,SBER,GAZP',
    );
    assert.equal(
      boardSnapshotUrl(location('https://iss.moex.com/iss'), 'ALL'),
      'https://iss.moex.com/iss/engines/stock/markets/shares/boards/TQBR/securities.json?iss.meta=off&iss.only=securities,marketdata',
    );
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 5000);
    assert.equal(retryAfterMs('soon'), null);
    assert.equal(retryAfterMs(undefined), null);
  });
});
