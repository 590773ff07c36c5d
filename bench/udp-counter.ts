import dgram from 'node:dgram';

export interface UdpCounter {
  host: string;
  port: number;
  datagrams: number;
  bytes: number;
  /** StatsD lines (metrics) across all datagrams. */
  lines: number;
  close(): Promise<void>;
}

/** A UDP listener in place of StatsD that counts what arrives: datagrams, bytes, metric lines. */
export async function startUdpCounter(): Promise<UdpCounter> {
  const socket = dgram.createSocket('udp4');
  const counter: UdpCounter = {
    host: '127.0.0.1',
    port: 0,
    datagrams: 0,
    bytes: 0,
    lines: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg) => {
    counter.datagrams += 1;
    counter.bytes += msg.length;
    for (const line of msg.toString('utf8').split('\n')) if (line) counter.lines += 1;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  counter.port = socket.address().port;
  return counter;
}
