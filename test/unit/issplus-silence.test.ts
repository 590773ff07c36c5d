import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameImpl, Parser } from '@stomp/stompjs';
import { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { createLogger } from '../../lib/log';
import { registerStreamMetrics, startIssPlusStream } from '../../lib/moex/issplus';
import type { BoardSource } from '../../lib/moex/markets';
import { parseExposition } from '../support/services';

const TQBR: BoardSource = { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: ['SBER'] };

/**
 * A STOMP server whose CONNECTED carries no heart-beat header (STOMP 1.2 allows it: no heart-beats
 * promised; nothing documents that ISS+ promises any) and which then says nothing, as a stalled
 * server does: stompjs' own heart-beat check never starts on such a connection. With
 * `stuckBeforeConnected`, it never answers CONNECT but sends heart-beats (the simulator's stream
 * after its silent fault is cleared on a connection opened during it).
 */
async function startMuteServer({ stuckBeforeConnected = false } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'STOMP' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const connects: string[] = [];
  wss.on('connection', (ws: WebSocket) => {
    const parser = new Parser(
      (raw) => {
        const frame = FrameImpl.fromRawFrame(raw, true);
        if (frame.command !== 'CONNECT') return; // SUBSCRIBE is taken and never answered
        connects.push(frame.headers['heart-beat'] ?? '');
        if (stuckBeforeConnected) {
          const beats = setInterval(() => ws.send(Buffer.from('\n')), 20);
          ws.on('close', () => clearInterval(beats));
          return;
        }
        const connected = new FrameImpl({ command: 'CONNECTED', headers: { version: '1.2' }, body: '{"structure": {}}', escapeHeaderValues: false });
        ws.send(Buffer.from(connected.serialize() as string));
      },
      () => {},
    );
    ws.on('message', (data: Buffer) => parser.parseChunk(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer));
  });
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/infocx/v3/websocket`, connects, close: () => new Promise((resolve) => wss.close(resolve)) };
}

test('ISS+ client: a connection silent for three heart-beat intervals is dropped and counted as silent, even with no heart-beats agreed', async () => {
  const server = await startMuteServer();
  const registry = new Registry();
  const metrics = registerStreamMetrics(registry, [TQBR]);
  const heartbeatMs = 100;
  const stream = startIssPlusStream({
    url: server.url,
    credentials: { domain: 'DEMO', login: 'guest', passcode: 'guest' },
    sources: [TQBR],
    metrics,
    log: createLogger('test', 'silent'),
    onQuotes: () => assert.fail('the mute server sends no quotes'),
    reconnectDelayMs: { first: 50, max: 50 },
    heartbeatMs,
  });
  const sample = async (key: string) => parseExposition(await registry.metrics()).get(key);
  try {
    const startedAt = Date.now();
    while (server.connects.length < 1 || (await sample('moex_stream_up')) !== 1) await sleep(10);
    assert.equal(server.connects[0], `${heartbeatMs},${heartbeatMs}`, 'the client asks for heart-beats both ways');
    assert.equal(await sample('moex_stream_reconnects_total{reason="silent"}'), 0);
    // Up, then nothing: dropped after 3 intervals (checked every half interval), then connected again.
    while ((await sample('moex_stream_reconnects_total{reason="silent"}')) === 0 && Date.now() - startedAt < 5_000) await sleep(10);
    const droppedAfterMs = Date.now() - startedAt;
    assert.equal(await sample('moex_stream_reconnects_total{reason="silent"}'), 1, 'the silence is counted');
    assert.ok(droppedAfterMs >= 3 * heartbeatMs && droppedAfterMs < 3 * heartbeatMs + 1_000, `dropped after ${droppedAfterMs} ms`);
    assert.equal(await sample('moex_stream_reconnects_total{reason="closed"}'), 0, 'the server closed nothing');
    while (server.connects.length < 2 && Date.now() - startedAt < 5_000) await sleep(10);
    assert.equal(server.connects.length, 2, 'the stream connects again by itself');
  } finally {
    await stream.stop();
    await server.close();
  }
});

test('ISS+ client: a connection whose CONNECT is never answered is dropped as silent, heart-beats or not', async () => {
  const server = await startMuteServer({ stuckBeforeConnected: true });
  const registry = new Registry();
  const stream = startIssPlusStream({
    url: server.url,
    credentials: { domain: 'DEMO', login: 'guest', passcode: 'guest' },
    sources: [TQBR],
    metrics: registerStreamMetrics(registry, [TQBR]),
    log: createLogger('test', 'silent'),
    onQuotes: () => assert.fail('the server sends no quotes'),
    reconnectDelayMs: { first: 50, max: 50 },
    heartbeatMs: 100,
  });
  try {
    const startedAt = Date.now();
    while (server.connects.length < 2 && Date.now() - startedAt < 5_000) await sleep(10);
    const metrics = parseExposition(await registry.metrics());
    assert.equal(server.connects.length, 2, 'dropped and connected again');
    assert.equal(metrics.get('moex_stream_reconnects_total{reason="silent"}'), 1);
    assert.equal(metrics.get('moex_stream_up'), 0, 'never up');
  } finally {
    await stream.stop();
    await server.close();
  }
});
