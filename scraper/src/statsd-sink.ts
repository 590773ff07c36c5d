import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import StatsD from 'hot-shots';
import type { Logger } from '../../lib/log';
import type { Quote } from '../../lib/moex/quote';
import { graphitePointsFor } from './series';
import type { Sink, SinkStats } from './sink';

/** A UDP payload that fits one Ethernet frame (1500 - IP and UDP headers), as StatsD clients usually batch. */
const MTU_PAYLOAD = 1432;

/**
 * A connected UDP socket as a stream, one datagram per write. Connected, so that the kernel reports
 * ICMP "port unreachable" for a datagram StatsD did not take: a StatsD that is down shows up as
 * counted errors instead of silence. UDP has no acknowledgement, so "written" means handed to the
 * kernel; the refusal of a datagram arrives afterwards, as an 'error' event on the socket.
 */
class ConnectedUdpStream extends Writable {
  private socket: dgram.Socket | null = null;
  private connecting: Promise<dgram.Socket> | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly events: { sent(lines: number): void; failed(err: Error): void },
  ) {
    super({ decodeStrings: true });
  }

  private connected(): Promise<dgram.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', reject);
      socket.connect(this.port, this.host, () => {
        socket.off('error', reject);
        socket.on('error', (err: NodeJS.ErrnoException) => {
          this.events.failed(err);
          // A refused datagram leaves the socket usable; anything else gets a new socket (and a new DNS lookup).
          if (err.code !== 'ECONNREFUSED') this.reset();
        });
        this.socket = socket;
        resolve(socket);
      });
    }).finally(() => (this.connecting = null));
    return this.connecting;
  }

  private reset(): void {
    this.socket?.close();
    this.socket = null;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const lines = chunk.toString('utf8').split('\n').filter(Boolean).length;
    this.connected().then(
      (socket) =>
        socket.send(chunk, (err) => {
          if (err) {
            this.events.failed(err);
            this.reset();
          } else {
            this.events.sent(lines);
          }
          done();
        }),
      (err: Error) => {
        this.events.failed(err);
        this.reset();
        done();
      },
    );
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.reset();
    done(err);
  }
}

/**
 * Graphite through StatsD: one gauge per quote field, batched into MTU-sized datagrams.
 * Nothing is buffered for retry: StatsD stamps a gauge with its own flush time, so a value
 * resent later would land at the wrong time. Use the plaintext transport for lossless delivery.
 */
export function createStatsdSink(options: { host: string; port: number; prefix: string }, stats: SinkStats, log: Logger): Sink {
  let lastError = '';
  const stream = new ConnectedUdpStream(options.host, options.port, {
    sent(lines) {
      stats.written(lines);
    },
    failed(err) {
      stats.failed();
      // By code: a refusal is reported by both send and recvmsg, with different messages.
      const kind = (err as NodeJS.ErrnoException).code ?? err.message;
      if (kind !== lastError) log.warn({ err: err.message, host: options.host, port: options.port }, 'StatsD write failed');
      lastError = kind;
    },
  });
  const client = new StatsD({
    protocol: 'stream',
    stream,
    prefix: `${options.prefix}.`,
    maxBufferSize: MTU_PAYLOAD,
    // A cycle's gauges are queued at once, so full datagrams go out immediately; this only bounds how
    // long the last, partly filled one waits (hot-shots' default of 1 s would add up to a second).
    bufferFlushInterval: 100,
    // Errors are counted by the stream; this only keeps hot-shots from throwing or printing.
    errorHandler: () => {},
  });
  return {
    name: 'graphite',
    write(quotes: readonly Quote[]) {
      for (const quote of quotes) {
        for (const point of graphitePointsFor(quote, options.prefix)) client.gauge(point.path.slice(options.prefix.length + 1), point.value);
      }
    },
    close: () => new Promise<void>((resolve) => client.close(() => resolve())),
  };
}
