import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createLogger } from '../../lib/log';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import type { Quote } from '../../lib/moex/quote';
import { graphitePointsFor } from '../../scraper/src/series';
import type { SinkStats } from '../../scraper/src/sink';
import { createStatsdSink, MTU_PAYLOAD, packDatagrams, statsdGaugeLine } from '../../scraper/src/statsd-sink';
import { sharesBoard } from '../support/fixtures';
import { eventually } from '../support/services';

const log = createLogger('test', 'silent');
const real = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', 'tqbr-sber-2023-10-18.json'), 'utf8')) as unknown;
const [sber] = parseBoardSnapshot(real, sharesBoard(['SBER'])).quotes as [Quote];

function countingStats() {
  const counts = { written: 0, failed: 0 };
  const stats: SinkStats = {
    written: (n) => (counts.written += n),
    failed: () => counts.failed++,
    dropped: () => assert.fail('StatsD drops nothing it was given: it never buffers'),
    buffered: () => {},
    resent: () => {},
  };
  return { counts, stats };
}

describe('StatsD packing', () => {
  test('a gauge line; characters that would end the name become _', () => {
    assert.equal(statsdGaugeLine({ path: 'stocks.SBER.last', value: 265.5 }), 'stocks.SBER.last:265.5|g');
    assert.equal(statsdGaugeLine({ path: 'a:b|c\nd', value: 1 }), 'a_b_c_d:1|g');
  });

  test('lines packed in order into datagrams of at most 1432 bytes, none split, none empty', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `stocks.T${i}.field_${'x'.repeat(i % 40)}:${i}.5|g`);
    const datagrams = packDatagrams(lines);
    assert.deepEqual(
      datagrams.flatMap((d) => d.payload.toString().split('\n')),
      lines,
    );
    assert.equal(
      datagrams.reduce((n, d) => n + d.lines, 0),
      lines.length,
    );
    for (const d of datagrams) assert.ok(d.payload.length <= MTU_PAYLOAD && d.payload.length > 0);
    // Greedy: each datagram is full enough that the next line would not have fitted.
    for (let i = 0; i + 1 < datagrams.length; i++) {
      const next = datagrams[i + 1]!.payload.toString().split('\n')[0]!;
      assert.ok(datagrams[i]!.payload.length + 1 + Buffer.byteLength(next) > MTU_PAYLOAD);
    }
  });

  test('a line longer than a datagram goes alone', () => {
    const long = `${'x'.repeat(2000)}:1|g`;
    assert.deepEqual(
      packDatagrams(['a:1|g', long, 'b:2|g']).map((d) => d.payload.toString()),
      ['a:1|g', long, 'b:2|g'],
    );
  });
});

describe('StatsD sink over UDP', () => {
  test("one cycle's gauges arrive as packed datagrams and are counted written", async () => {
    const server = dgram.createSocket('udp4');
    const received: string[] = [];
    server.on('message', (m) => received.push(m.toString()));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const { counts, stats } = countingStats();
    const sink = createStatsdSink({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, prefix: 'stocks' }, stats, log);
    const quotes = Array.from({ length: 40 }, (_, i) => ({ ...sber, ticker: `T${i}` }));
    const expected = quotes.flatMap((q) => graphitePointsFor(q, 'stocks').map(statsdGaugeLine));
    sink.write(quotes);
    await eventually(async () => counts.written === expected.length, 5000, 'every gauge sent');
    await eventually(async () => received.flatMap((d) => d.split('\n')).length === expected.length, 5000, 'every gauge received');
    assert.deepEqual(
      received.flatMap((d) => d.split('\n')),
      expected,
    );
    assert.equal(received.length, packDatagrams(expected).length);
    assert.ok(received.length < expected.length / 10, `${received.length} datagrams for ${expected.length} gauges`);
    await sink.close();
    server.close();
  });

  test('StatsD down: the refused datagrams are counted as errors, not silence', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    probe.close(); // nothing listens there now: the kernel answers ICMP port unreachable
    const { counts, stats } = countingStats();
    const sink = createStatsdSink({ host: '127.0.0.1', port, prefix: 'stocks' }, stats, log);
    sink.write([sber]);
    await eventually(async () => counts.written > 0, 5000, 'handed to the kernel');
    sink.write([sber]);
    await eventually(async () => counts.failed > 0, 5000, 'the refusal counted');
    await sink.close();
  });
});
