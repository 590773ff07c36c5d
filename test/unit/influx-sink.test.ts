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
import { classifyInfluxError, createInfluxSink, influxWritePath, type InfluxOptions } from '../../scraper/src/influx-sink';
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
  /** Per request: an answer decided from its lines (a store that finds one of them bad), else `status`. */
  let judge: ((lines: string[]) => { status: number; error: string } | null) | null = null;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const gzip = req.headers['content-encoding'] === 'gzip';
      const body = (gzip ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks)).toString();
      const lines = body.split('\n').filter(Boolean);
      const verdict = judge?.(lines) ?? (status === 204 ? null : { status, error: `answered ${status}` });
      requests.push({ url: req.url ?? '', authorization: req.headers.authorization, gzip, lines, status: verdict?.status ?? 204 });
      res.writeHead(verdict?.status ?? 204, { 'content-type': 'application/json' });
      // InfluxDB 1.x's error body: {"error": "..."}.
      res.end(verdict ? JSON.stringify({ error: verdict.error }) : undefined);
    });
  });
  return {
    requests,
    answer: (next: number) => (status = next),
    judgeBy: (next: typeof judge) => (judge = next),
    /** The lines InfluxDB took (2xx), in the order they arrived. */
    stored: () => requests.filter((r) => r.status < 300).flatMap((r) => r.lines),
    listen: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function countingStats() {
  const counts = { written: 0, failed: 0, dropped: 0, buffered: 0, reasons: [] as string[] };
  const stats: SinkStats = {
    written: (n) => (counts.written += n),
    failed: (reason) => (counts.failed++, counts.reasons.push(reason)),
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

  test('every answer is classified: only lines the store names as bad are ever given up on', () => {
    // Bodies as InfluxDB 1.x (services/httpd/handler.go) and 2.x write them.
    const answer = (status: number, error: string) => classifyInfluxError(new HttpError(status, 'x', JSON.stringify({ error })));
    assert.deepEqual(classifyInfluxError(new Error('ECONNREFUSED')), { action: 'retry', reason: 'network' });
    assert.deepEqual(answer(401, 'authorization failed'), { action: 'retry', reason: 'auth' });
    assert.deepEqual(answer(403, 'user is not authorized to write to database pyexample'), { action: 'retry', reason: 'auth' });
    assert.deepEqual(answer(404, 'database not found: "pyexample"'), { action: 'retry', reason: 'not_found' });
    assert.deepEqual(answer(400, 'retention policy not found: week'), { action: 'retry', reason: 'not_found' });
    assert.deepEqual(answer(408, 'timeout'), { action: 'retry', reason: 'throttled' });
    assert.deepEqual(answer(429, 'too many requests'), { action: 'retry', reason: 'throttled' });
    assert.deepEqual(answer(500, 'timeout'), { action: 'retry', reason: 'server' });
    assert.deepEqual(answer(503, 'engine: cache-max-memory-size exceeded'), { action: 'retry', reason: 'server' });
    assert.deepEqual(answer(405, 'method not allowed'), { action: 'retry', reason: 'rejected' });
    assert.deepEqual(answer(400, 'something else entirely'), { action: 'retry', reason: 'rejected' });
    assert.deepEqual(answer(400, "unable to parse 'stocks x=': missing fields"), { action: 'split', reason: 'malformed' });
    assert.deepEqual(answer(413, 'Request Entity Too Large'), { action: 'split', reason: 'too_large' });
    assert.deepEqual(
      answer(400, 'partial write: field type conflict: input field "last" on measurement "stocks" is type integer, already exists as type float dropped=2'),
      { action: 'partial', reason: 'malformed', dropped: 2 },
    );
    assert.deepEqual(answer(400, "partial write: unable to parse 'a b': invalid field format\nunable to parse 'c d': invalid field format"), {
      action: 'partial',
      reason: 'malformed',
      dropped: 2,
    });
    assert.deepEqual(answer(422, 'failure writing points to database: partial write: points beyond retention policy dropped=1'), {
      action: 'partial',
      reason: 'malformed',
      dropped: 1,
    });
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
    influx.judgeBy(null);
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

  for (const [status, reason] of [
    [401, 'auth'],
    [403, 'auth'],
    [404, 'not_found'],
  ] as const) {
    test(`${status} (a rotated password, a missing database): every line kept and retried until the store takes it; counted as ${reason}, named as the sink's problem`, async () => {
      const { counts, stats } = countingStats();
      const sink = createInfluxSink(v1(url), stats, log, fast);
      influx.answer(status);
      for (let i = 0; i < 5; i++) sink.write([at(1_700_000_000 + 60 * i)]);
      await eventually(async () => counts.failed >= 3, 5000, 'three refused attempts');
      assert.deepEqual([...new Set(counts.reasons)], [reason]);
      assert.equal(counts.dropped, 0);
      assert.match(sink.problem()!, new RegExp(`InfluxDB write failing \\(${reason}: .*\\); 5 points held`));
      influx.answer(204);
      await eventually(async () => counts.written === 5, 5000, 'every point written once the store accepts');
      assert.deepEqual(
        influx.stored().map(stampOf),
        [0, 1, 2, 3, 4].map((i) => 1_700_000_000 + 60 * i),
      );
      assert.equal(sink.problem(), null);
      await sink.close();
    });
  }

  test('400 naming an unparseable line: the batch is split until that line stands alone; it alone is dropped, the rest stored in order', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(url), stats, log, fast);
    const bad = 1_700_000_000 + 60 * 5;
    // InfluxDB 2.x and a 1.x that parsed nothing: the whole request refused.
    influx.judgeBy((lines) => (lines.some((l) => stampOf(l) === bad) ? { status: 400, error: `unable to parse 'stocks ${bad}': invalid field format` } : null));
    sink.write(Array.from({ length: 8 }, (_, i) => at(1_700_000_000 + 60 * i)));
    await eventually(async () => counts.written + counts.dropped === 8, 5000, 'every line settled');
    assert.equal(counts.dropped, 1);
    assert.deepEqual(
      influx.stored().map(stampOf),
      [0, 1, 2, 3, 4, 6, 7].map((i) => 1_700_000_000 + 60 * i),
    );
    assert.ok(counts.reasons.every((r) => r === 'malformed'));
    assert.ok(influx.requests.length <= 1 + 2 * Math.ceil(Math.log2(8)), `${influx.requests.length} requests`);
    // Splitting ends with the bad line: the next cycle goes in one request again.
    const before = influx.requests.length;
    sink.write(Array.from({ length: 3 }, (_, i) => at(1_700_001_000 + 60 * i)));
    await eventually(async () => counts.written === 10, 5000, 'the next cycle');
    assert.equal(influx.requests.length, before + 1);
    await sink.close();
  });

  test('a partial write (1.x: the store wrote the rest): the batch is settled, the named lines counted as dropped, nothing sent again', async () => {
    const { counts, stats } = countingStats();
    const sink = createInfluxSink(v1(url), stats, log, fast);
    influx.judgeBy(() => ({ status: 400, error: 'partial write: field type conflict: input field "last" on measurement "stocks" is type integer dropped=1' }));
    sink.write([at(1_700_000_000), at(1_700_000_060)]);
    await eventually(async () => counts.dropped === 1, 5000, 'the named line dropped');
    await sleep(200); // past a retry's backoff: nothing comes back
    assert.equal(influx.requests.length, 1);
    assert.equal(counts.written, 1);
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
    assert.ok(counts.buffered <= 4, `buffered ${counts.buffered}: 3 waiting and 1 in flight`);
    influx.answer(204);
    await eventually(async () => counts.buffered === 0, 5000, 'the rest written');
    const stored = influx.stored().map(stampOf);
    // The write in flight is settled by its answer and does not count; of the rest the newest 3 survive, all in order.
    assert.equal(counts.dropped, 2);
    assert.deepEqual(stored, [1_700_000_000, 1_700_000_180, 1_700_000_240, 1_700_000_300]);
    await sink.close();
  });
});
