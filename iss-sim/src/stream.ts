import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FrameImpl, Parser, type IFrame, type StompHeaders } from '@stomp/stompjs';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../lib/log';
import { writeJson } from '../../lib/service';
import type { SimBoard } from './boards';
import type { Market, SecurityState } from './market';
import { moscowDateTime } from './moscow-time';

/**
 * ISS+ as the simulator serves it (docs/iss.md "ISS+"): STOMP 1.2 over a WebSocket at
 * /infocx/v3/websocket. CONNECT with domain DEMO, login guest, passcode guest gets CONNECTED with a
 * JSON `structure`; anything else gets ERROR `gateway.access-denied` and the close. SUBSCRIBE to
 * `<MARKET>.securities` with `TICKER="MARKET.BOARD.SECID"` gets a `snapshot` of that security, then an
 * `updates` MESSAGE with the changed columns (and TICKER, TIME) whenever the simulated market changes
 * it; fixed-point cells are `[value, decimals]`. Heart-beats as agreed in CONNECTED. Frames are made
 * and read by @stomp/stompjs' own FrameImpl and Parser, LF line ends, sent as binary messages.
 *
 * Faults (PUT /sim/stream {fault}; DELETE clears; GET tells the connections):
 *   drop          every stream connection is cut now (the clients reconnect)
 *   refuse-login  CONNECTs are refused until cleared
 *   malformed     one frame that is not ISS+ to every connection: a MESSAGE whose body is not JSON
 *   silent        nothing is sent (no MESSAGE, no heart-beat) until cleared
 */

export const STREAM_PATH = '/infocx/v3/websocket';
const STREAM_FAULTS = ['drop', 'refuse-login', 'malformed', 'silent'] as const;
type StreamFault = (typeof STREAM_FAULTS)[number];

/** How often the market is looked at for changes to push. */
const PUSH_EVERY_MS = 200;
/** The heart-beat the simulator sends (and offers in CONNECTED), milliseconds. */
const HEARTBEAT_MS = 1_000;

/** ISS+ market of each simulated market kind, as lib/moex/issplus-message.ts subscribes. */
const STREAM_MARKET: Partial<Record<SimBoard['kind'], string>> = { shares: 'MXSE', bonds: 'MXSE', currency: 'MXCX', futures: 'FORTS' };

/** A `securities` row's cells as ISS+ sends them (metadata.json: MXSE securities output). */
function streamRow(s: SecurityState, ticker: string, time: string): Record<string, unknown> {
  const trading = s.session === 'trading';
  const traded = s.session !== 'pre-open';
  const fixed = (value: number | null, decimals = s.decimals) => (value === null ? null : [value, decimals]);
  return {
    TICKER: ticker,
    LAST: fixed(traded ? s.last : null),
    BID: fixed(trading ? s.bid : null),
    OFFER: fixed(trading ? s.offer : null),
    HIGH: fixed(traded ? s.high : null),
    LOW: fixed(traded ? s.low : null),
    PREVPRICE: fixed(s.prevPrice),
    VOLTODAY: fixed(s.volume, 0),
    VALTODAY: Math.round(s.value),
    NUMTRADES: s.trades,
    TRADINGSTATUS: trading ? 'T' : 'N',
    TIME: time,
  };
}

interface Subscription {
  id: string;
  destination: string;
  ticker: string;
  board: string;
  state: SecurityState;
  /** The cells last sent, as JSON per column. */
  sent: Map<string, string>;
}

interface Connection {
  socket: WebSocket;
  connected: boolean;
  subscriptions: Subscription[];
  heartbeat: NodeJS.Timeout | null;
}

export interface StreamSimOptions {
  market: Market;
  boards: readonly SimBoard[];
  /** The time a board's data belongs to (the feed's delay behind the clock). */
  dataTime(board: string): Date;
  log: Logger;
}

/** The ISS+ endpoint on `server`; its control API answers through `serveControl` (true when it did). */
export function attachStreamSim(server: http.Server, { market, boards, dataTime, log }: StreamSimOptions) {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('STOMP') ? 'STOMP' : false) });
  const connections = new Set<Connection>();
  const faults = new Set<StreamFault>();
  let messagesSent = 0;

  const send = (c: Connection, command: string, headers: StompHeaders, body = '') => {
    if (faults.has('silent') || c.socket.readyState !== c.socket.OPEN) return;
    const frame = new FrameImpl({ command, headers, body, escapeHeaderValues: command !== 'CONNECTED' });
    c.socket.send(Buffer.from(frame.serialize() as string));
  };

  const message = (c: Connection, sub: Subscription, type: 'snapshot' | 'updates', columns: string[], row: unknown[]) => {
    messagesSent += 1;
    const body = JSON.stringify({ properties: { type, seqnum: messagesSent, timestamp: Date.now() }, columns, data: [row] });
    send(c, 'MESSAGE', { subscription: sub.id, destination: sub.destination, 'message-id': String(messagesSent), 'content-type': 'application/json' }, body);
  };

  const structure = () => {
    const markets: Record<string, unknown> = {};
    for (const market of new Set(Object.values(STREAM_MARKET))) {
      markets[market] = {
        streams: [{ name: 'securities', params: [{ name: 'TICKER', type: 'string' }], output: Object.keys(streamRow(templateState(), '', '')) }],
      };
    }
    return { version: {}, structure: markets };
  };

  const onConnect = (c: Connection, frame: IFrame) => {
    const { domain, login, passcode } = frame.headers;
    if (faults.has('refuse-login') || domain !== 'DEMO' || login !== 'guest' || passcode !== 'guest') {
      send(c, 'ERROR', { message: 'gateway.access-denied' }, 'Authentication failed');
      c.socket.close();
      return;
    }
    c.connected = true;
    const [, wantsEvery = '0'] = (frame.headers['heart-beat'] ?? '0,0').split(',');
    if (Number(wantsEvery) > 0) c.heartbeat = setInterval(() => !faults.has('silent') && c.socket.send(Buffer.from('\n')), HEARTBEAT_MS);
    send(c, 'CONNECTED', { version: '1.2', 'heart-beat': `${HEARTBEAT_MS},0`, server: 'iss-sim' }, JSON.stringify(structure()));
  };

  const onSubscribe = (c: Connection, frame: IFrame) => {
    const { id = '', destination = '', selector = '' } = frame.headers;
    const m = /^TICKER="([A-Z]+)\.([A-Z0-9]+)\.([A-Za-z0-9_]+)"$/.exec(selector.trim());
    const board = m && boards.find((b) => b.board === m[2] && STREAM_MARKET[b.kind] === m[1]);
    const state = board && market.boards.get(board.board)?.get(m[3]!);
    if (!c.connected || !m || !state || destination !== `${m[1]}.securities`) {
      send(c, 'ERROR', { message: 'gateway.invalidrequest', 'receipt-id': id }, `no stream ${destination} for ${selector}`);
      return;
    }
    const sub: Subscription = { id, destination, ticker: `${m[1]}.${m[2]}.${m[3]}`, board: board.board, state, sent: new Map() };
    c.subscriptions.push(sub);
    push(c, sub, 'snapshot');
  };

  /** Sends what changed since the last MESSAGE of `sub` (everything for a snapshot). */
  const push = (c: Connection, sub: Subscription, type: 'snapshot' | 'updates') => {
    const row = streamRow(sub.state, sub.ticker, moscowDateTime(dataTime(sub.board)).slice(11));
    const changed = Object.entries(row).filter(
      ([column, value]) => type === 'snapshot' || (column !== 'TICKER' && column !== 'TIME' && sub.sent.get(column) !== JSON.stringify(value)),
    );
    if (changed.length === 0) return;
    for (const [column, value] of Object.entries(row)) sub.sent.set(column, JSON.stringify(value));
    const cells = type === 'snapshot' ? changed : [['TICKER', row.TICKER], ...changed, ['TIME', row.TIME]];
    message(
      c,
      sub,
      type,
      cells.map(([column]) => column as string),
      cells.map(([, value]) => value),
    );
  };

  const pushing = setInterval(() => {
    if (faults.has('silent')) return;
    market.advance();
    for (const c of connections) for (const sub of c.subscriptions) push(c, sub, 'updates');
  }, PUSH_EVERY_MS);
  pushing.unref();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://iss-sim').pathname !== STREAM_PATH) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c: Connection = { socket: ws, connected: false, subscriptions: [], heartbeat: null };
      connections.add(c);
      const parser = new Parser(
        (raw) => {
          const frame = FrameImpl.fromRawFrame(raw, true);
          if (frame.command === 'CONNECT' || frame.command === 'STOMP') onConnect(c, frame);
          else if (frame.command === 'SUBSCRIBE') onSubscribe(c, frame);
          else if (frame.command === 'UNSUBSCRIBE') c.subscriptions = c.subscriptions.filter((s) => s.id !== frame.headers.id);
          else if (frame.command === 'DISCONNECT') ws.close();
        },
        () => {},
      );
      ws.on('message', (data: Buffer) => parser.parseChunk(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer));
      ws.on('close', () => {
        if (c.heartbeat) clearInterval(c.heartbeat);
        connections.delete(c);
      });
      ws.on('error', () => ws.terminate());
    });
  });
  server.on('close', () => {
    clearInterval(pushing);
    for (const c of connections) c.socket.terminate();
  });

  const describe = () => ({
    faults: [...faults],
    connections: [...connections].map((c) => ({ connected: c.connected, subscriptions: c.subscriptions.map((s) => s.ticker) })),
    messagesSent,
  });

  return {
    /** GET/PUT/DELETE /sim/stream: the stream's connections and faults. */
    serveControl(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
      if (url.pathname !== '/sim/stream') return false;
      void (async () => {
        if (req.method === 'DELETE') faults.clear();
        if (req.method === 'PUT') {
          let text = '';
          for await (const chunk of req) text += chunk;
          const fault = (JSON.parse(text || '{}') as { fault?: unknown }).fault;
          if (!STREAM_FAULTS.includes(fault as StreamFault)) return writeJson(res, 400, { error: `fault must be one of ${STREAM_FAULTS.join(', ')}` });
          log.info({ fault }, 'ISS+ stream fault');
          if (fault === 'drop') for (const c of connections) c.socket.terminate();
          else if (fault === 'malformed') for (const c of connections) c.socket.send(Buffer.from('MESSAGE\ndestination:MXSE.securities\n\n{"columns": [\0'));
          else faults.add(fault as StreamFault);
        }
        writeJson(res, 200, describe());
      })().catch((err: unknown) => writeJson(res, 400, { error: err instanceof Error ? err.message : String(err) }));
      return true;
    },
  };
}

/** A security state for the column list of `structure`. */
function templateState(): SecurityState {
  return {
    listing: { secid: '', shortName: '', secName: '', startPrice: 1, lotSize: 1 },
    decimals: 2,
    session: 'trading',
    prevPrice: 1,
    last: 1,
    open: 1,
    high: 1,
    low: 1,
    bid: 1,
    offer: 1,
    volume: 0,
    value: 0,
    trades: 0,
  };
}
