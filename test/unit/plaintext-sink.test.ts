import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../lib/log';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import type { Quote } from '../../lib/moex/quote';
import { createMemoryQueue, type LineQueue } from '../../scraper/src/line-queue';
import { createPlaintextSink } from '../../scraper/src/plaintext-sink';
import type { SinkStats } from '../../scraper/src/sink';
import { sharesBoard } from '../support/fixtures';
import { eventually, sleep } from '../support/services';

const real = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'iss', 'real', 'tqbr-sber-2023-10-18.json'), 'utf8')) as unknown;
const [sber] = parseBoardSnapshot(real, sharesBoard(['SBER'])).quotes as [Quote];
const at = (unixSeconds: number): Quote => ({ ...sber, time: new Date(unixSeconds * 1000) });
const stampOf = (line: string) => Number(line.split(' ')[2]);

/** A carbon stand-in: every line it reads, per connection; `dropConnections` is carbon going away. */
function fakeCarbon() {
  const connections: string[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const lines: string[] = [];
    connections.push(lines);
    sockets.add(socket);
    let rest = '';
    socket.on('data', (d) => {
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop()!;
      lines.push(...parts);
    });
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    connections,
    server,
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))),
    dropConnections: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function countingStats() {
  const counts = { written: 0, resent: 0, buffered: 0 };
  const stats: SinkStats = {
    written: (n) => (counts.written += n),
    failed: () => {},
    dropped: () => {},
    buffered: (n) => (counts.buffered = n),
    resent: (n) => (counts.resent += n),
  };
  return { counts, stats };
}

describe('carbon plaintext sink: no acknowledgement, so the last seconds are sent again after a disconnect', () => {
  const carbon = fakeCarbon();
  let port: number;
  before(async () => (port = await carbon.listen()));
  after(() => carbon.close());

  test('lines written within GRAPHITE_RESEND_SECONDS before carbon went away come again, first and in order; older ones do not', async () => {
    const { counts, stats } = countingStats();
    const sink = createPlaintextSink(
      { host: '127.0.0.1', port, prefix: 'stocks', maxBufferedLines: 10_000, resendSeconds: 2, minBackoffMs: 50, maxBackoffMs: 200 },
      stats,
      createLogger('test', 'silent'),
    );
    try {
      sink.write([at(1_700_000_000)]);
      await eventually(async () => carbon.connections[0]?.some((l) => stampOf(l) === 1_700_000_000));
      const perQuote = carbon.connections[0]!.length;
      await eventually(async () => counts.buffered === 0 && counts.written === perQuote);
      await sleep(2_500); // the first quote's lines leave the resend window
      sink.write([at(1_700_000_010)]);
      await eventually(async () => carbon.connections[0]!.length === 2 * perQuote);

      // carbon dies with the second quote perhaps still in its cache: the next connection gets it first.
      carbon.dropConnections();
      sink.write([at(1_700_000_020)]);
      await eventually(async () => (carbon.connections[1]?.length ?? 0) >= 2 * perQuote, 10_000, 'lines on the new connection');
      const again = carbon.connections[1]!.map(stampOf);
      assert.deepEqual(again, [...Array(perQuote).fill(1_700_000_010), ...Array(perQuote).fill(1_700_000_020)]);
      // The third quote may have gone into the dying connection too.
      assert.ok(counts.resent >= perQuote, `${counts.resent} resent`);
    } finally {
      await sink.close();
    }
  });

  test('GRAPHITE_RESEND_SECONDS=0 (the sink before the resend): a quote written into a connection carbon has just closed is counted as written and lost', async () => {
    const { counts, stats } = countingStats();
    const first = carbon.connections.length;
    const sink = createPlaintextSink(
      { host: '127.0.0.1', port, prefix: 'stocks', maxBufferedLines: 10_000, resendSeconds: 0, minBackoffMs: 50, maxBackoffMs: 200 },
      stats,
      createLogger('test', 'silent'),
    );
    try {
      sink.write([at(1_700_000_100)]);
      await eventually(async () => counts.written > 0 && counts.buffered === 0);
      const perQuote = counts.written;
      carbon.dropConnections();
      // Before the sink has seen carbon's close: the kernel takes the write into the half-closed connection.
      sink.write([at(1_700_000_110)]);
      await eventually(async () => carbon.connections.length > first + 1, 10_000, 'the new connection');
      await sleep(500);
      assert.equal(counts.written, 2 * perQuote, 'the second quote counted as written');
      assert.equal(counts.resent, 0);
      const seen = carbon.connections.slice(first).flat().map(stampOf);
      assert.ok(!seen.includes(1_700_000_110), 'and never reached carbon');
    } finally {
      await sink.close();
    }
  });
});

describe('carbon plaintext sink: a backlog goes out in step with the socket', () => {
  test(
    'a carbon that stops reading: the sink takes lines from its queue only while the socket takes them, then sends the rest in order once carbon reads again',
    { timeout: 60_000 },
    async () => {
      const sockets: net.Socket[] = [];
      let received = 0;
      let last = -1;
      let inOrder = true;
      const server = net.createServer((socket) => {
        socket.pause(); // a carbon whose cache is full: it reads nothing for now
        sockets.push(socket);
        let rest = '';
        socket.on('data', (d) => {
          const parts = (rest + d.toString()).split('\n');
          rest = parts.pop()!;
          for (const line of parts) {
            const n = Number(line.split(' ')[1]);
            inOrder &&= n === last + 1;
            last = n;
            received++;
          }
        });
      });
      const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
      // The queue the sink takes from, counting what it hands to the socket.
      let taken = 0;
      const memory = createMemoryQueue(1_000_000, { dropped: () => assert.fail('nothing dropped') });
      const queue: LineQueue = {
        ...memory,
        push: (l) => memory.push(l),
        take: (n) => {
          const out = memory.take(n);
          taken += out.length;
          return out;
        },
        accepted: (n) => memory.accepted(n),
        rewind: () => memory.rewind(),
        problem: () => null,
        close: () => memory.close(),
        get length() {
          return memory.length;
        },
        get unsent() {
          return memory.unsent;
        },
      };
      const { stats } = countingStats();
      const sink = createPlaintextSink(
        { host: '127.0.0.1', port, prefix: 'stocks', maxBufferedLines: 1_000_000, queue, resendSeconds: 60 },
        stats,
        createLogger('test', 'silent'),
      );
      try {
        const total = 400_000; // about 12 MB of lines: far beyond what loopback's socket buffers hold
        const lines = Array.from({ length: total }, (_, i) => `stocks.T.last ${i} 1700000000`);
        queue.push(lines);
        await eventually(async () => sockets.length === 1 && taken > 0, 5000, 'connected and writing');
        await sleep(500);
        assert.ok(taken < total / 2, `${taken} of ${total} lines taken while carbon reads nothing`);
        sockets[0]!.resume();
        await eventually(
          async () => received === total,
          30_000,
          () => `${received} of ${total} received`,
        );
        assert.ok(inOrder, 'in order');
      } finally {
        await sink.close();
        sockets.forEach((s) => s.destroy());
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  );
});
