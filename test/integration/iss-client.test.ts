import { sharesBoard } from '../support/fixtures';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PollError } from '../../lib/moex/errors';
import { createIssTransport, retryAfterMs, type IssTransportOptions } from '../../lib/moex/iss-client';
import { algopackRequest, boardSnapshotRequest, candlesRequest, engineCalendarRequest, futoiRequest } from '../../lib/moex/iss-requests';
import { createRequestLimiter } from '../../lib/moex/request-limiter';
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

  const transport = (extra: Partial<IssTransportOptions> = {}) =>
    createIssTransport({ timeoutMs: 1000, backoffMs: 50, limiter: createRequestLimiter(100), ...extra });
  const client = (extra: Partial<IssTransportOptions> = {}) => {
    const board = boardSnapshotRequest(location(sim.issUrl), ['SBER', 'GAZP']);
    const t = transport(extra);
    return { fetchBoardSnapshot: async () => (await t.get(board)).json };
  };

  const failure = async (promise: Promise<unknown>): Promise<PollError> => {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof PollError, String(err));
      return err;
    }
    assert.fail('expected the fetch to fail');
  };

  test('fetches one board snapshot that parses into the requested quotes; says the answer is simulated', async () => {
    const { json, simulated } = await transport().get(boardSnapshotRequest(location(sim.issUrl), ['SBER', 'GAZP']));
    assert.equal(simulated, true, 'the simulator marks its answers');
    const { quotes } = parseBoardSnapshot(json, sharesBoard(['SBER', 'GAZP']));
    assert.deepEqual(
      quotes.map((q) => q.ticker),
      ['SBER', 'GAZP'],
    );
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

  test('abandon() (a shutdown): the request in flight fails at once, unretried, and no later request is made', async () => {
    await sim.control.setFault('timeout', 1); // held for SIM_DELAY_MS, 1.5 s
    const t = transport({ timeoutMs: 5_000 });
    const board = boardSnapshotRequest(location(sim.issUrl), ['SBER']);
    const started = Date.now();
    const inFlight = failure(t.get(board));
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.abandon();
    const error = await inFlight;
    assert.match(error.message, /abandoned: the service is stopping/);
    assert.ok(Date.now() - started < 1000, `ended after ${Date.now() - started} ms, not at the answer or the timeout`);
    assert.match((await failure(t.get(board))).message, /abandoned/);
    assert.equal((await sim.control.requests()).length, 1, 'neither a retry nor the later request reached ISS');
  });

  test('a reset connection is a network error, retried', async () => {
    await sim.control.setFault('reset', 1);
    await client().fetchBoardSnapshot();
    assert.equal((await sim.control.requests()).length, 2);
  });

  test('an HTML page with status 200 is an entitlement answer naming the URL, not retried; broken JSON is a parse error', async () => {
    for (const [fault, reason] of [
      ['html', 'entitlement'],
      ['malformed-json', 'parse'],
    ] as const) {
      await sim.control.clearRequests();
      await sim.control.setFault(fault, 1);
      const err = await failure(client().fetchBoardSnapshot());
      assert.equal(err.reason, reason);
      assert.match(err.message, /\/boards\/TQBR\/securities\.json\?/, 'names the URL');
      assert.equal((await sim.control.requests()).length, 1);
    }
  });

  test('JSON without any requested block is an entitlement answer', async () => {
    // The candles of a board's snapshot URL: the answer has securities and marketdata, no candles.
    const board = boardSnapshotRequest(location(sim.issUrl), ['SBER']);
    const err = await failure(transport().get({ ...board, blocks: ['candles'] }));
    assert.equal(err.reason, 'entitlement');
  });

  test('the URL in an error carries no credentials', async () => {
    const url = new URL(sim.issUrl);
    url.username = 'user';
    url.password = 'secret';
    await sim.control.setFault('html', 1);
    const err = await failure(transport().get(boardSnapshotRequest(location(url.toString().replace(/\/$/, '')), ['SBER'])));
    assert.doesNotMatch(err.message, /secret|user@/);
  });

  test('the token goes as Authorization: Bearer, also when the URL carries a user and password', async () => {
    const url = new URL(sim.issUrl);
    url.username = 'user';
    url.password = 'secret';
    await transport({ token: 'the-token' }).get(boardSnapshotRequest(location(url.toString().replace(/\/$/, '')), ['SBER']));
    await transport().get(boardSnapshotRequest(location(sim.issUrl), ['SBER']));
    assert.deepEqual(
      (await sim.control.requests()).map((r) => r.bearer),
      [true, false],
    );
  });

  test('every attempt waits for the limiter and is counted with its kind and result', async () => {
    const made: string[] = [];
    const waits: string[] = [];
    const metrics = { requestMade: (kind: string, result: string) => made.push(`${kind}:${result}`), limiterWaited: (kind: string) => waits.push(kind) };
    await sim.control.setFault('http500', 1);
    await transport({ metrics }).get(boardSnapshotRequest(location(sim.issUrl), ['SBER']));
    assert.deepEqual(made, ['board:http', 'board:ok']);
    assert.deepEqual(waits, ['board', 'board']);
  });

  test('nothing listening is a network error', async () => {
    const err = await failure(transport({ timeoutMs: 500, backoffMs: 10 }).get(boardSnapshotRequest(location('http://127.0.0.1:9'), ['SBER'])));
    assert.equal(err.reason, 'network');
  });
});

describe('ISS request shape', () => {
  const ISS = 'https://iss.moex.com/iss';
  test('one URL for every ticker; no securities filter for ALL', () => {
    assert.equal(
      boardSnapshotRequest(location(ISS), ['SBERP', 'SBER', 'GAZP']).url,
      'https://iss.moex.com/iss/engines/stock/markets/shares/boards/TQBR/securities.json?iss.meta=off&iss.only=securities,marketdata&securities=SBERP,SBER,GAZP',
    );
    assert.equal(
      boardSnapshotRequest(location(ISS), 'ALL').url,
      'https://iss.moex.com/iss/engines/stock/markets/shares/boards/TQBR/securities.json?iss.meta=off&iss.only=securities,marketdata',
    );
  });

  test('calendar, ALGOPACK and FUTOI requests: paths, blocks, kinds', () => {
    const calendar = engineCalendarRequest(ISS, 'stock');
    assert.equal(calendar.url, 'https://iss.moex.com/iss/engines/stock.json?iss.meta=off&iss.only=timetable,dailytable');
    assert.deepEqual([calendar.kind, calendar.blocks], ['calendar', ['timetable', 'dailytable']]);
    assert.equal(
      algopackRequest(ISS, 'eq', 'tradestats').url,
      'https://iss.moex.com/iss/datashop/algopack/eq/tradestats.json?iss.meta=off&iss.only=data,data.cursor',
    );
    const one = algopackRequest(ISS, 'fo', 'obstats', 'SiZ6', { date: '2026-01-09', start: 1000 });
    assert.equal(one.url, 'https://iss.moex.com/iss/datashop/algopack/fo/obstats/SiZ6.json?iss.meta=off&iss.only=data,data.cursor&date=2026-01-09&start=1000');
    assert.deepEqual([one.kind, one.blocks], ['dataset', ['data']]);
    assert.equal(
      futoiRequest(ISS, 'Si', { latest: true }).url,
      'https://iss.moex.com/iss/analyticalproducts/futoi/securities/Si.json?iss.meta=off&iss.only=futoi&latest=1',
    );
    assert.equal(futoiRequest(ISS).url, 'https://iss.moex.com/iss/analyticalproducts/futoi/securities.json?iss.meta=off&iss.only=futoi');
    assert.equal(candlesRequest(location(ISS), 'SBER', new Date(0), 0).kind, 'candles');
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 5000);
    assert.equal(retryAfterMs('soon'), null);
    assert.equal(retryAfterMs(undefined), null);
  });
});
