import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import StatsD from 'hot-shots';
import type { Logger } from '../../lib/log';
import { logOnChange } from '../../lib/log-once';
import type { Quote } from '../../lib/moex/quote';
import { graphitePointsFor } from './series';
import type { Sink, SinkStats } from './sink';

/** A UDP payload that fits one Ethernet frame (1500 - IP and UDP headers), as StatsD clients usually batch. */
export const MTU_PAYLOAD = 1432;

/** StatsD lines in a datagram as hot-shots' stream transport writes it: each line ends with `\n`. */
const linesIn = (datagram: Buffer) => {
  let lines = 0;
  for (let at = datagram.indexOf(0x0a); at !== -1; at = datagram.indexOf(0x0a, at + 1)) lines++;
  return lines;
};

/**
 * hot-shots' transport (its `stream` protocol): each chunk hot-shots writes goes out as one datagram
 * on a UDP socket connected to StatsD. hot-shots' own UDP transport sends from an unconnected socket,
 * and the kernel reports ICMP "port unreachable" only to a connected one: a StatsD that is down would
 * be silence instead of counted errors.
 *
 * UDP has no acknowledgement, so "sent" means handed to the kernel; the refusal of a datagram arrives
 * afterwards, as an 'error' event on the socket. Every failure is emitted as 'error' (hot-shots
 * hands it to its errorHandler) while the write itself completes: a failed write would end the
 * stream, and with it every later cycle. A refused datagram leaves the socket usable; any other
 * error gets a new socket (and a new DNS lookup) for the next datagram.
 */
class ConnectedDatagramStream extends Writable {
  private socket: dgram.Socket | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly sent: (datagram: Buffer) => void,
  ) {
    super();
  }

  private reset(socket: dgram.Socket) {
    if (this.socket !== socket) return;
    socket.close();
    this.socket = null;
  }

  private connected(): Promise<dgram.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', reject);
      socket.connect(this.port, this.host, () => {
        socket.off('error', reject);
        socket.on('error', (err: NodeJS.ErrnoException) => {
          this.emit('error', err);
          if (err.code !== 'ECONNREFUSED') this.reset(socket);
        });
        this.socket = socket;
        resolve(socket);
      });
    });
  }

  override _write(datagram: Buffer, _encoding: BufferEncoding, done: () => void) {
    this.connected().then(
      (socket) =>
        socket.send(datagram, (err) => {
          if (err) {
            this.emit('error', err);
            this.reset(socket);
          } else this.sent(datagram);
          done();
        }),
      (err: Error) => {
        this.emit('error', err);
        done();
      },
    );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void) {
    this.socket?.close();
    this.socket = null;
    done(error);
  }
}

/**
 * Graphite through StatsD, with hot-shots: one gauge per quote field, packed by hot-shots' buffer
 * into datagrams of at most MTU_PAYLOAD bytes, and each cycle's last, partly filled datagram
 * flushed when the cycle's gauges are in, so a cycle leaves at once. Nothing is kept for retry:
 * StatsD stamps a gauge with its own flush time, so a value resent later would land at the wrong
 * time. Use the plaintext transport for lossless delivery.
 *
 * Errors reach hot-shots' errorHandler, never a throw from a socket callback: each is counted in
 * scraper_write_errors_total, and logged once per kind until another kind occurs.
 */
export function createStatsdSink(options: { host: string; port: number; prefix: string }, stats: SinkStats, log: Logger): Sink {
  const failures = logOnChange(log, { failed: 'StatsD write failed' });
  function failed(err: NodeJS.ErrnoException) {
    stats.failed('network');
    // By code: a refusal is reported by both send and recvmsg, with different messages.
    failures.failed(err.code ?? err.message, { err: err.message, host: options.host, port: options.port });
  }

  const client = new StatsD({
    protocol: 'stream',
    stream: new ConnectedDatagramStream(options.host, options.port, (datagram) => stats.written(linesIn(datagram))),
    // The stream transport ends each datagram with a newline (StatsD skips the empty line after it).
    maxBufferSize: MTU_PAYLOAD - 1,
    errorHandler: failed,
    // Plain StatsD: no tags or client telemetry, whatever DD_* variables the environment holds.
    datadog: false,
    includeDataDogTags: false,
  });

  return {
    name: 'graphite',
    write(quotes: readonly Quote[]) {
      // The series paths carry GRAPHITE_PREFIX already (shared with the plaintext sink); hot-shots
      // turns the characters that would end a name early (`:`, `|`, line breaks) into `_`.
      for (const quote of quotes) for (const point of graphitePointsFor(quote, options.prefix)) client.gauge(point.path, point.value);
      client.flush();
      return true;
    },
    // UDP is best effort by design: a StatsD that is down shows as counted errors, not as a problem of ours.
    problem: () => null,
    close() {
      // hot-shots flushes its buffer, waits for the datagrams in flight, then destroys the stream.
      return new Promise((resolve) =>
        client.close((err) => {
          if (err) failed(err);
          resolve();
        }),
      );
    },
  };
}
