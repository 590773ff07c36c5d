import { Client, ReconnectionTimeMode, Versions, type IFrame, type IStompSocket } from '@stomp/stompjs';
import { Counter, Gauge, type Registry } from 'prom-client';
import WebSocket from 'ws';
import type { Logger } from '../log';
import { logOnChange } from '../log-once';
import type { BoardSource } from './markets';
import { boardsWithoutStream, createStreamQuotes, parseStreamMessage, streamSubscriptions, type StreamQuotes } from './issplus-message';
import type { Quote } from './quote';

/**
 * The ISS+ stream (docs/iss.md "ISS+"): STOMP 1.2 over a WebSocket, through @stomp/stompjs over ws.
 * stompjs sends whatever CONNECT headers it is given (ISS+ wants `domain`, `login`, `passcode`),
 * writes frames with LF line ends only (the server is said to refuse CRLF), reads binary WebSocket
 * messages, reconnects with exponential backoff, and closes a connection whose heart-beats stopped,
 * but only when the server's CONNECTED agrees to send heart-beats (nothing documents that ISS+ does).
 * This shell adds the resubscription on each CONNECTED, the metrics, the once-per-change log, and its
 * own silence watch on every socket: no CONNECTED, or after it nothing at all (no frame, no heart-beat)
 * for SILENT_AFTER_INTERVALS expected intervals, and the socket is dropped and the stream reconnects.
 */

export interface IssPlusCredentials {
  domain: string;
  login: string;
  passcode: string;
}

export interface IssPlusOptions {
  url: string;
  credentials: IssPlusCredentials;
  sources: readonly BoardSource[];
  metrics: StreamMetrics;
  log: Logger;
  /** Quotes the stream changed (only those that changed); the outputs apply them as they do the poll's. */
  onQuotes(quotes: Quote[]): void;
  /** Reconnect delay: the first, doubled on each failure up to the last (stompjs' exponential mode). */
  reconnectDelayMs?: { first: number; max: number };
  /** Heart-beats asked for in both directions, milliseconds (a silent server is dropped after SILENT_AFTER_INTERVALS of this, or of the server's, if longer). */
  heartbeatMs?: number;
}

/**
 * A connection silent for this many expected intervals is dropped: the heart-beat the server agreed
 * to, else the one asked for. stompjs' own heart-beat check (agreed heart-beats only) keeps the same
 * tolerance, so both watches tell the same rule.
 */
const SILENT_AFTER_INTERVALS = 3;

export interface IssPlusStream {
  /** Poll quotes through the stream's state: where the stream is newer, its values lie over them. */
  reconcile(quotes: readonly Quote[]): Quote[];
  stop(): Promise<void>;
}

/** moex_stream_errors_total reasons. */
const STREAM_ERRORS = {
  malformed: 'a frame or MESSAGE body that is not what ISS+ sends (left out)',
  refused: 'the server answered CONNECT with ERROR: the login was refused',
  server_error: 'an ERROR frame after CONNECTED (a subscription refused, a server fault)',
  invalid_value: 'a cell that cannot be its quote field (left out, as the poll does)',
} as const;

/** moex_stream_reconnects_total reasons. */
const STREAM_LOSSES = {
  closed: 'the server or the network closed the connection',
  refused: 'the server refused the login (ERROR to CONNECT) and closed',
  silent: `nothing arrived (no frame, no heart-beat) for ${SILENT_AFTER_INTERVALS} expected heart-beat intervals, or no CONNECTED within as long; the client dropped the connection`,
} as const;
type StreamLoss = keyof typeof STREAM_LOSSES;

/** The moex_stream_* metrics (docs/metrics.md); registered once per process, kept across restarts of the stream. */
export function registerStreamMetrics(registry: Registry, sources: readonly BoardSource[]) {
  const destinations = [...new Set(streamSubscriptions(sources).map((s) => s.destination))];
  const registers = [registry];
  const up = new Gauge({ name: 'moex_stream_up', help: '1 while the ISS+ stream is connected and subscribed (MOEX_STREAM=issplus only), else 0', registers });
  const messages = new Counter({
    name: 'moex_stream_messages_total',
    help: 'ISS+ MESSAGE frames received, by destination',
    labelNames: ['destination'] as const,
    registers,
  });
  const reconnects = new Counter({
    name: 'moex_stream_reconnects_total',
    help:
      'ISS+ connections lost and tried again, by reason: ' +
      Object.entries(STREAM_LOSSES)
        .map(([k, v]) => `${k} = ${v}`)
        .join('; '),
    labelNames: ['reason'] as const,
    registers,
  });
  const lastMessage = new Gauge({
    name: 'moex_stream_last_message_timestamp_seconds',
    help: 'Unix time the newest ISS+ MESSAGE arrived',
    registers,
  });
  const errors = new Counter({
    name: 'moex_stream_errors_total',
    help:
      'ISS+ frames that brought no quotes, by reason: ' +
      Object.entries(STREAM_ERRORS)
        .map(([k, v]) => `${k} = ${v}`)
        .join('; '),
    labelNames: ['reason'] as const,
    registers,
  });
  up.set(0);
  for (const reason of Object.keys(STREAM_LOSSES)) reconnects.inc({ reason }, 0);
  for (const destination of destinations) messages.inc({ destination }, 0);
  for (const reason of Object.keys(STREAM_ERRORS)) errors.inc({ reason }, 0);
  return {
    up,
    messages,
    lastMessage,
    reconnect: (reason: StreamLoss) => reconnects.inc({ reason }),
    error: (reason: keyof typeof STREAM_ERRORS) => errors.inc({ reason }),
  };
}

export type StreamMetrics = ReturnType<typeof registerStreamMetrics>;

export function startIssPlusStream(options: IssPlusOptions): IssPlusStream {
  const { url, credentials, sources, metrics, log, onQuotes } = options;
  const { first, max } = options.reconnectDelayMs ?? { first: 1_000, max: 60_000 };
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const subscriptions = streamSubscriptions(sources);
  const state: StreamQuotes = createStreamQuotes();
  const connection = logOnChange(log, { failed: 'ISS+ stream down; the poll carries on alone', recovered: 'ISS+ stream connected' });
  const malformed = logOnChange(log, { failed: 'ISS+ sent a frame that is not what it should; left out' });
  const without = boardsWithoutStream(sources);
  if (without.length) log.info({ boards: without }, 'ISS+: these boards have no stream subscription (a market without a known stream, or ALL); polled only');

  let connected = false;
  let stopping = false;
  /** Why the current socket is being dropped, when the client drops it (else the server or network closed it). */
  let dropping: StreamLoss | null = null;
  /** The current socket, when anything last arrived on it, and how often something should. */
  let socket: WebSocket | null = null;
  let heardAt = 0;
  let expectedEveryMs = heartbeatMs;
  const lost = (failure: string, fields: Record<string, unknown> = {}) => {
    if (stopping) return;
    metrics.up.set(0);
    connection.failed(failure, { url, ...fields });
  };

  const onMessage = (destination: string, frame: IFrame) => {
    const now = new Date();
    metrics.messages.inc({ destination });
    metrics.lastMessage.set(now.getTime() / 1000);
    let parsed;
    try {
      parsed = parseStreamMessage(frame.body);
    } catch (err) {
      metrics.error('malformed');
      malformed.failed((err as Error).message, { destination, problem: (err as Error).message });
      return;
    }
    malformed.clear();
    const { quotes, invalid } = state.apply(parsed, now);
    for (const value of invalid) {
      metrics.error('invalid_value');
      malformed.failed(`invalid ${value.field}`, { destination, invalid: value });
    }
    if (quotes.length) onQuotes(quotes);
  };

  const client = new Client({
    webSocketFactory: () => {
      // ISS+ asks for the `STOMP` subprotocol (moexalgo's beta/issplus.py) and sends binary messages.
      // An upgrade that hangs is given up on after as long as a silent connection is kept.
      socket = new WebSocket(url, ['STOMP'], { handshakeTimeout: SILENT_AFTER_INTERVALS * heartbeatMs });
      socket.binaryType = 'arraybuffer';
      heardAt = Date.now();
      expectedEveryMs = heartbeatMs;
      // Before CONNECTED only CONNECTED counts: a server that beats but never answers CONNECT is as stuck.
      socket.on('message', () => {
        if (connected) heardAt = Date.now();
      });
      return socket as unknown as IStompSocket;
    },
    stompVersions: new Versions([Versions.V1_2]),
    connectHeaders: { domain: credentials.domain, login: credentials.login, passcode: credentials.passcode },
    heartbeatIncoming: heartbeatMs,
    heartbeatOutgoing: heartbeatMs,
    heartbeatToleranceMultiplier: SILENT_AFTER_INTERVALS,
    onHeartbeatLost: () => {
      dropping = 'silent';
    },
    // A silent server may not answer a close handshake either: the socket is cut at once.
    discardWebsocketOnCommFailure: true,
    reconnectDelay: first,
    maxReconnectDelay: max,
    reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
    debug: () => {},
    onConnect: (frame) => {
      connected = true;
      heardAt = Date.now();
      // CONNECTED's heart-beat: "cx,cy", cx the server's promise (STOMP 1.2 "Heart-beating"); none or 0: no promise.
      const serverEveryMs = Number((frame.headers['heart-beat'] ?? '0').split(',')[0]) || 0;
      expectedEveryMs = Math.max(heartbeatMs, serverEveryMs);
      // Each CONNECTED is a new session: every subscription is made again.
      for (const { destination, selector } of subscriptions) client.subscribe(destination, (frame) => onMessage(destination, frame), { selector });
      metrics.up.set(1);
      connection.recovered({ url, subscriptions: subscriptions.length });
    },
    onStompError: (frame) => {
      const message = frame.headers.message ?? 'ERROR';
      if (!connected) {
        metrics.error('refused');
        dropping = 'refused';
        lost(`refused: ${message}`, { message, login: credentials.login, domain: credentials.domain });
      } else {
        metrics.error('server_error');
        malformed.failed(`ERROR ${message}`, { message });
      }
    },
    onUnhandledFrame: (frame) => {
      metrics.error('malformed');
      malformed.failed(`frame ${frame.command}`, { command: frame.command });
    },
    onUnhandledMessage: (frame) => {
      // A MESSAGE whose subscription header names none of ours: routed by its destination.
      const destination = frame.headers.destination;
      if (destination && subscriptions.some((s) => s.destination === destination)) onMessage(destination, frame);
      else {
        metrics.error('malformed');
        malformed.failed('MESSAGE without a known subscription', { headers: frame.headers });
      }
    },
    onWebSocketClose: (event: { code?: number; reason?: string }) => {
      if (stopping) return;
      const wasConnected = connected;
      const reason = dropping ?? 'closed';
      connected = false;
      dropping = null;
      socket = null;
      metrics.reconnect(reason);
      const failure = reason === 'silent' ? 'silent' : wasConnected ? 'connection lost' : (connection.failure ?? 'cannot connect');
      lost(failure, { code: event.code, reason: event.reason, ...(reason === 'silent' ? { silentForMs: Date.now() - heardAt } : {}) });
    },
    onWebSocketError: () => {
      // The close that follows is what counts; this only keeps ws from throwing.
    },
  });
  // The silence watch for what stompjs does not watch: a server that agreed to no heart-beats, or
  // never answered CONNECT.
  const silence = setInterval(
    () => {
      if (!socket || socket.readyState !== WebSocket.OPEN || dropping) return;
      if (Date.now() - heardAt <= SILENT_AFTER_INTERVALS * expectedEveryMs) return;
      dropping = 'silent';
      client.forceDisconnect();
    },
    Math.max(1, heartbeatMs / 2),
  );
  silence.unref();
  log.info({ url, domain: credentials.domain, login: credentials.login, subscriptions: subscriptions.length }, 'ISS+ stream starting');
  client.activate();

  return {
    reconcile: (quotes) => state.reconcile(quotes, new Date()),
    async stop() {
      stopping = true;
      clearInterval(silence);
      metrics.up.set(0);
      await client.deactivate({ force: true });
    },
  };
}
