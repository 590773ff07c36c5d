import dgram from 'node:dgram';
import type { Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { graphitePointsFor, type GraphitePoint } from './series';
import type { Sink, SinkStats } from './sink';

/** A UDP payload that fits one Ethernet frame (1500 - IP and UDP headers), as StatsD clients usually batch. */
export const MTU_PAYLOAD = 1432;

/** StatsD's gauge line `<path>:<value>|g`; `:`, `|` and line breaks would end the name early, so they become `_`. */
export function statsdGaugeLine(point: Pick<GraphitePoint, 'path' | 'value'>): string {
  return `${point.path.replace(/[:|\n\r]/g, '_')}:${point.value}|g`;
}

/**
 * Lines joined by `\n` into as few datagrams of at most `maxBytes` as their order allows (a line
 * longer than that goes alone: StatsD may still take it over loopback).
 */
export function packDatagrams(lines: readonly string[], maxBytes = MTU_PAYLOAD): Array<{ payload: Buffer; lines: number }> {
  const datagrams: Array<{ payload: Buffer; lines: number }> = [];
  let current: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(line);
    if (current.length > 0 && bytes + 1 + size > maxBytes) {
      datagrams.push({ payload: Buffer.from(current.join('\n')), lines: current.length });
      current = [];
      bytes = 0;
    }
    bytes += (current.length > 0 ? 1 : 0) + size;
    current.push(line);
  }
  if (current.length > 0) datagrams.push({ payload: Buffer.from(current.join('\n')), lines: current.length });
  return datagrams;
}

/**
 * Graphite through StatsD: one gauge per quote field, each cycle's gauges packed into MTU-sized
 * datagrams and sent at once. Nothing is buffered for retry: StatsD stamps a gauge with its own
 * flush time, so a value resent later would land at the wrong time. Use the plaintext transport for
 * lossless delivery.
 *
 * The UDP socket is connected, so that the kernel reports ICMP "port unreachable" for a datagram
 * StatsD did not take: a StatsD that is down shows up as counted errors instead of silence. UDP has
 * no acknowledgement, so "written" means handed to the kernel; the refusal of a datagram arrives
 * afterwards, as an 'error' event on the socket.
 */
export function createStatsdSink(options: { host: string; port: number; prefix: string }, stats: SinkStats, log: Logger): Sink {
  let lastError = '';
  let socket: dgram.Socket | null = null;
  let connecting: Promise<dgram.Socket> | null = null;
  /** Sends in flight, so close() can wait for them. */
  const sending = new Set<Promise<void>>();

  function failed(err: NodeJS.ErrnoException) {
    stats.failed('network');
    // By code: a refusal is reported by both send and recvmsg, with different messages.
    const kind = err.code ?? err.message;
    if (kind !== lastError) log.warn({ err: err.message, host: options.host, port: options.port }, 'StatsD write failed');
    lastError = kind;
  }

  function reset() {
    socket?.close();
    socket = null;
  }

  function connected(): Promise<dgram.Socket> {
    if (socket) return Promise.resolve(socket);
    connecting ??= new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.connect(options.port, options.host, () => {
        s.off('error', reject);
        s.on('error', (err: NodeJS.ErrnoException) => {
          failed(err);
          // A refused datagram leaves the socket usable; anything else gets a new socket (and a new DNS lookup).
          if (err.code !== 'ECONNREFUSED' && socket === s) reset();
        });
        socket = s;
        resolve(s);
      });
    }).finally(() => (connecting = null));
    return connecting;
  }

  async function send(datagrams: ReturnType<typeof packDatagrams>): Promise<void> {
    let s: dgram.Socket;
    try {
      s = await connected();
    } catch (err) {
      return failed(err as Error);
    }
    for (const { payload, lines } of datagrams) {
      const err = await new Promise<Error | null>((resolve) => s.send(payload, (e) => resolve(e ?? null)));
      if (err) {
        failed(err);
        if (socket === s) reset();
        return;
      }
      stats.written(lines);
    }
  }

  return {
    name: 'graphite',
    write(quotes: readonly Quote[]) {
      const lines = quotes.flatMap((q) => graphitePointsFor(q, options.prefix).map(statsdGaugeLine));
      if (lines.length === 0) return true;
      const done = send(packDatagrams(lines)).finally(() => sending.delete(done));
      sending.add(done);
      return true;
    },
    // UDP is best effort by design: a StatsD that is down shows as counted errors, not as a problem of ours.
    problem: () => null,
    async close() {
      await Promise.all(sending);
      reset();
    },
  };
}
