import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, test } from 'node:test';
import { HttpError } from '@influxdata/influxdb-client';
import { createLogger } from '../../lib/log';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import type { Quote } from '../../lib/moex/quote';
import { createInfluxSink, influxWritePath, isRetryable, type InfluxOptions } from '../../scraper/src/influx-sink';
import type { SinkStats } from '../../scraper/src/sink';
import { sharesBoard } from '../support/fixtures';
import { eventually, sleep } from '../support/services';

const log = createLogger('test', 'silent');
const real = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', 'tqbr-sber-2023-10-18.json'), 'utf8')) as unknown;
const [sber] = parseBoardSnapshot(real, sharesBoard(['SBER'])).quotes as [Quote];
const at = (unixSeconds: number): Quote => ({ ...sber, time: new Date(unixSeconds * 1000) });
const stampOf = (line: string) => Number(line.split(' ').at(-1));

/** An InfluxDB stand-in: every write request it gets, answered with `status` (204 when the store is up). */
function fakeInflux() {
  const requests: Array<{ url: string; authorization: string | undefined; gzip: boolean; lines: string[]; status: number }> = [];
  let status = 204;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const gzip = req.headers['content-encoding'] === 'gzip';
      const body = (gzip ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks)).toString();
      requests.push({ url: req.url ?? '', authorization: req.headers.authorization, gzip, lines: body.split('\n').filter(Boolean), status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 204 ? undefined : JSON.stringify({ code: 'invalid', message: `answered ${status}` }));
    });
  });
  return {
    requests,
    answer: (next: number) => (status = next),
    /** The lines InfluxDB took (2xx), in the order they arrived. */
    stored: () => requests.filter((r) => r.status < 300).flatMap((r) => r.lines),
    listen: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function countingStats() {
  const counts = { written: 0, failed: 0, dropped: 0, buffered: 0 };
  const stats: SinkStats = {
    written: (n) => (counts.written += n),
    failed: () => counts.failed++,
    dropped: (n) => (counts.dropped += n),
    buffered: (n) => (counts.buffered = n),
    resent: () => assert.fail('InfluxDB answers every write: nothing is resent blind'),
  };
  return { counts, stats };
}

const v1 = (url: string, more: Partial<Extract<InfluxOptions, { api: 'v1' }>> = {}): InfluxOptions => ({
  api: 'v1',
  url,
  database: 'pyexample',
  retentionPolicy: '',
  username: '',
  password: '',
  measurement: 'stocks',
  maxBufferedLines: 1000,
  ...more,
});
const v2 = (url: string): InfluxOptions => ({
  api: 'v2',
  url,
  token: 's3cret',
  org: 'moex',
  bucket: 'quotes/autogen',
  measurement: 'stocks',
  maxBufferedLines: 1000,
});
const fast = { minRetryMs: 50, maxRetryMs: 100 };

describe('InfluxDB write path: v1 and v2 requests', () => {
  test('v1: /write with db, rp, u and p in the query; no Authorization header', () => {
    assert.equal(influxWritePath(v1('http://x')), '/write?db=pyexample&precision=s');
    const path = new URL(influxWritePath(v1('http://x', { retentionPolicy: 'week', username: 'scraper', password: 'p&w' })), 'http://x');
    assert.equal(path.pathname, '/write');
    assert.deepEqual(Object.fromEntries(path.searchParams), { db: 'pyexample', precision: 's', rp: 'week', u: 'scraper', p: 'p&w' });
  });

  test('v2: /api/v2/write with org and bucket', () => {
    const path = new URL(influxWritePath(v2('http://x')), 'http://x');
    assert.equal(path.pathname, '/api/v2/write');
    assert.deepEqual(Object.fromEntries(path.searchParams), { org: 'moex', bucket: 'quotes/autogen', precision: 's' });
  });

  test('which failures are retried: network, 408, 429, 5xx; not other 4xx', () => {
    assert.equal(isRetryable(new Error('ECONNREFUSED')), true);
    for (const status of [408, 429, 500, 503]) assert.equal(isRetryable(new HttpError(status, 'x')), true, String(status));
    for (const status of [400, 401, 403, 404, 413]) assert.equal(isRetryable(new HttpError(status, 'x')), false, String(status));
  });
});

describe('InfluxDB sink against a stand-in store', () => {
  const influx = fakeInflux();
  let url: string;
  before(async () => (url = await influx.listen()));
  after(() => influx.close());
  beforeEach(() => {
    influx.requests.length = 0;
    influx.answer(204);
  });

  test('v2: the token in the Authorization header, the lines at second precision', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v2(url), stats, log);
    sink.write([at(1_700_000_000)]);
    await eventually(async () => counts.written === 1, 5000, 'the point written');
    const [request] = influx.requests;
    assert.equal(request!.authorization, 'Token s3cret');
    assert.match(request!.url, /^\/api\/v2\/write\?org=moex&bucket=quotes%2Fautogen&precision=s$/);
    assert.match(request!.lines[0]!, /^stocks,board=TQBR,ticker=SBER .* 1700000000$/);
    assert.equal(counts.buffered, 0);
    await sink.close();
  });

  test('v1: /write with credentials in the query, no token header', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(url, { username: 'scraper', password: 'pw' }), stats, log);
    sink.write([at(1_700_000_000)]);
    await eventually(async () => counts.written === 1, 5000, 'the point written');
    assert.equal(influx.requests[0]!.url, '/write?db=pyexample&precision=s&u=scraper&p=pw');
    assert.equal(influx.requests[0]!.authorization, undefined);
    await sink.close();
  });

  test('a large batch goes gzipped in one request, a small one plain', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(url), stats, log);
    sink.write([at(1_700_000_000)]);
    await eventually(async () => counts.written === 1, 5000, 'the small write');
    sink.write(Array.from({ length: 100 }, (_, i) => ({ ...sber, ticker: `T${i}` })));
    await eventually(async () => counts.written === 101, 5000, 'the large write');
    assert.deepEqual(
      influx.requests.map((r) => [r.gzip, r.lines.length]),
      [
        [false, 1],
        [true, 100],
      ],
    );
    await sink.close();
  });

  test('4xx: the lines are dropped and counted, not sent again; later lines still go', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(url), stats, log, fast);
    influx.answer(400);
    sink.write([at(1_700_000_000)]);
    await eventually(async () => counts.dropped === 1, 5000, 'the refused point dropped');
    assert.equal(counts.failed, 1);
    influx.answer(204);
    sink.write([at(1_700_000_060)]);
    await eventually(async () => counts.written === 1, 5000, 'the next point written');
    await sleep(200); // past a retry's backoff: the refused line must not come back
    assert.deepEqual(
      influx.requests.map((r) => r.lines.map(stampOf)),
      [[1_700_000_000], [1_700_000_060]],
    );
    assert.equal(counts.buffered, 0);
    await sink.close();
  });

  test('5xx: retried with backoff until the store takes them, in order, nothing dropped', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(url), stats, log, fast);
    influx.answer(503);
    sink.write([at(1_700_000_000)]);
    sink.write([at(1_700_000_060)]);
    await eventually(async () => counts.failed >= 3, 5000, 'three failed attempts');
    assert.equal(counts.buffered, 2);
    influx.answer(204);
    await eventually(async () => counts.written === 2, 5000, 'both points written');
    assert.deepEqual(influx.stored().map(stampOf), [1_700_000_000, 1_700_000_060]);
    assert.equal(counts.dropped, 0);
    assert.equal(counts.buffered, 0);
    await sink.close();
  });

  test('a network error is retried like a 5xx', async () => {
    const closed = fakeInflux();
    const closedUrl = await closed.listen();
    await closed.close(); // nothing listens there now
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(closedUrl), stats, log, fast);
    sink.write([at(1_700_000_000)]);
    await eventually(async () => counts.failed >= 2, 5000, 'two failed attempts');
    assert.equal(counts.dropped, 0);
    assert.equal(counts.buffered, 1);
    await sink.close();
  });

  test('bounded buffer: while the store is down the oldest lines beyond the bound are dropped and counted', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink({ ...v1(url), maxBufferedLines: 3 }, stats, log, { minRetryMs: 300, maxRetryMs: 300 });
    influx.answer(500);
    for (let i = 0; i < 6; i++) sink.write([at(1_700_000_000 + 60 * i)]);
    await eventually(async () => counts.dropped >= 2, 5000, 'the oldest dropped');
    assert.ok(counts.buffered <= 3, `buffered ${counts.buffered}`);
    influx.answer(204);
    await eventually(async () => counts.buffered === 0, 5000, 'the rest written');
    const stored = influx.stored().map(stampOf);
    assert.equal(stored.length, 3, 'the bound');
    assert.equal(counts.dropped, 3);
    // The write in flight is settled by its answer; of the rest the newest survive, all in order.
    assert.deepEqual(stored, [1_700_000_000, 1_700_000_240, 1_700_000_300]);
    await sink.close();
  });
});
