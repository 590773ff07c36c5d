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
import { createStatsdSink, MTU_PAYLOAD } from '../../scraper/src/statsd-sink';
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

/** A UDP listener in place of StatsD, keeping every datagram it receives. */
async function statsdStandIn() {
  const server = dgram.createSocket('udp4');
  const received: string[] = [];
  server.on('message', (m) => received.push(m.toString()));
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received, close: () => server.close() };
}

/** The gauge lines in the datagrams received: each datagram's lines end with a newline. */
const linesOf = (datagrams: readonly string[]) => datagrams.flatMap((d) => d.split('\n').slice(0, -1));

const gaugeLines = (quotes: readonly Quote[]) => quotes.flatMap((q) => graphitePointsFor(q, 'stocks').map((p) => `${p.path}:${p.value}|g`));

describe('StatsD sink over UDP (hot-shots)', () => {
  test("one cycle's gauges arrive in order, packed greedily into datagrams of at most 1432 bytes, and are counted written", async () => {
    const statsd = await statsdStandIn();
    const { counts, stats } = countingStats();
    const sink = createStatsdSink({ host: '127.0.0.1', port: statsd.port, prefix: 'stocks' }, stats, log);
    const quotes = Array.from({ length: 40 }, (_, i) => ({ ...sber, ticker: `T${i}` }));
    const expected = gaugeLines(quotes);
    sink.write(quotes);
    await eventually(async () => counts.written === expected.length, 5000, 'every gauge sent');
    await eventually(async () => linesOf(statsd.received).length === expected.length, 5000, 'every gauge received');
    assert.deepEqual(linesOf(statsd.received), expected);
    for (const d of statsd.received) assert.ok(Buffer.byteLength(d) <= MTU_PAYLOAD && d.endsWith('\n'), `${Buffer.byteLength(d)} bytes`);
    // Greedy: each datagram is full enough that the next line (and its newline) would not have fitted.
    for (let i = 0; i + 1 < statsd.received.length; i++) {
      const next = statsd.received[i + 1]!.split('\n')[0]!;
      assert.ok(Buffer.byteLength(statsd.received[i]!) + Buffer.byteLength(next) + 1 > MTU_PAYLOAD);
    }
    assert.ok(statsd.received.length < expected.length / 10, `${statsd.received.length} datagrams for ${expected.length} gauges`);
    await sink.close();
    statsd.close();
  });

  test('characters that would end a name early (: | line breaks) arrive as _', async () => {
    const statsd = await statsdStandIn();
    const sink = createStatsdSink({ host: '127.0.0.1', port: statsd.port, prefix: 'stocks' }, countingStats().stats, log);
    sink.write([{ ...sber, ticker: 'A:B|C\nD' }]);
    await eventually(async () => linesOf(statsd.received).length > 0, 5000, 'the gauges received');
    assert.ok(linesOf(statsd.received).includes(`stocks.A_B_C_D.last:${sber.last}|g`), linesOf(statsd.received)[0]);
    await sink.close();
    statsd.close();
  });

  test('close sends what was written before it, then releases the socket', async () => {
    const statsd = await statsdStandIn();
    const { counts, stats } = countingStats();
    const sink = createStatsdSink({ host: '127.0.0.1', port: statsd.port, prefix: 'stocks' }, stats, log);
    const quotes = Array.from({ length: 40 }, (_, i) => ({ ...sber, ticker: `T${i}` }));
    sink.write(quotes);
    await sink.close();
    assert.equal(counts.written, gaugeLines(quotes).length, 'every datagram handed to the kernel before close resolved');
    await eventually(async () => linesOf(statsd.received).length === counts.written, 5000, 'every gauge received');
    statsd.close();
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
