import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { closeServer, exitOnSignals, exitOnStartupFailure, listen, writeJson } from '../../lib/service';
import { AlgopackBook, algopackRoute } from './algopack';
import { Delistings } from './delistings';
import { FaultPlan, FAULTS, isFault, type Fault } from './faults';
import { scaleBoards, SIM_BOARDS, simBoard } from './boards';
import { issSimShape } from './config';
import { CandleBook, SimClock, walkClock } from './candles';
import { boardSecuritiesJson, feedDelayOf, type ResponseShape } from './iss-response';
import { Market, type SecurityOverride, type SecurityState } from './market';
import { OPTION_CALC_PREFIX, optionCalcAnswer } from './option-calc';
import { OptionsBook, optionsBoardBeside, underlyingsIn } from './options-book';
import { optionsBoardJson } from './options-response';
import { SimTradingCalendar } from './trading-calendar';
import { attachStreamSim } from './stream';

/**
 * ISS simulator: serves `/iss/engines/{engine}/markets/{market}/boards/{board}/securities.json`
 * as MOEX ISS does, with random-walking prices, plus a control API under /sim/ for tests:
 *   GET/DELETE /sim/requests       the ISS request log
 *   PUT /sim/faults {fault,count?,board?}  the next `count` requests (default: all), to every board or
 *                                   just `board`, get `fault`; DELETE clears
 * Boards: every market of iss-sim/src/boards.ts (TQBR and TQTF shares and funds, CETS currencies,
 * SNDX indices, TQOB bonds, RFUD futures), each in its market's real column set. ISS_SIM_SCALE=N
 * adds generated instruments of each board's market until the boards list N securities together.
 * ROPD, the options board: ~30,000 series priced on their underlyings' walk (options-book.ts), and
 * MOEX's Options Calculator on the same series and prices under /iss/apps/option-calc/v1
 * (option-calc.ts; public: no token needed). Faults aimed at board `OPTIONCALC` hit only it.
 *   GET /sim/securities[?secids=A,B][&board=TQBR]  current simulated values
 *   PATCH /sim/securities/:secid    set values or `session` (trading | pre-open | closed)
 *   PUT /sim/walk {enabled}         start/stop the random walk (stopped = prices hold still)
 *   PUT /sim/clock {advanceSeconds}  the market trades that many seconds at once (candles too)
 *   PUT/DELETE/GET /sim/delist {board, secid}  take a security off a board's answers (delistings.ts)
 * and `.../securities/{secid}/candles.json`: 1-minute candles of the same walk (candles.ts).
 * ALGOPACK (algopack.ts): `/iss/datashop/algopack/{eq,fo,fx}/{tradestats,orderstats,obstats}.json`
 * and `/iss/analyticalproducts/futoi/securities.json`, subscribers only: without ISS_SIM_TOKEN they
 * answer as ISS does a login without the subscription (an HTML page, status 200). Faults aimed at
 * board `ALGOPACK` hit only these.
 * `/iss/engines/{engine}.json` is the trading calendar (ISS_SIM_SCHEDULE, ISS_SIM_DAILYTABLE; GET/PUT
 * /sim/calendar), and the market trades only inside it (trading-calendar.ts).
 * Feeds: by default the anonymous one, whose UPDATETIME runs ISS_SIM_DELAY_SECONDS (900) behind
 * SYSTIME. With ISS_SIM_TOKEN set it is the subscribers' feed: every ISS request needs
 * `Authorization: Bearer <token>` (401 without, 403 with a wrong one) and the data is not delayed.
 */
const config = loadConfig(issSimShape);
const replay = config.ISS_SIM_REPLAY ? readFileSync(config.ISS_SIM_REPLAY) : null;
const feedDelaySeconds = config.ISS_SIM_TOKEN ? 0 : config.ISS_SIM_DELAY_SECONDS;
const log = createLogger('iss-sim', config.LOG_LEVEL);
const historySeconds = Number(config.SIM_HISTORY_MINUTES) * 60;
const clock = new SimClock(Number(config.SIM_CLOCK_OFFSET_SECONDS) * 1000 - historySeconds * 1000);
const boards = scaleBoards(SIM_BOARDS, config.ISS_SIM_SCALE);
const optionsBoard = optionsBoardBeside(boards, clock.date());
const servedBoards = [...boards, optionsBoard];
const market = new Market({ walking: config.SIM_WALK === 'on', now: clock.now, boards: servedBoards });
const options = new OptionsBook(underlyingsIn(market));
const candles = new CandleBook();
const delistings = new Delistings();
// Bars from the clock's start (history included), before walkClock moves it to now.
const algopack = new AlgopackBook(boards, clock.now(), (board, secid) => delistings.has(board, secid));
const tradingCalendar = new SimTradingCalendar(config.ISS_SIM_SCHEDULE, config.ISS_SIM_DAILYTABLE);
/** The time a board's data belongs to: the feed's delay behind the clock (indices are not delayed). */
const dataTime = (board: string) =>
  new Date(
    clock.now() -
      feedDelayOf(
        boards.find((b) => b.board === board),
        feedDelaySeconds,
      ) *
        1000,
  );
/** Every board's state into its candles, at its data time: the candles agree with the quotes served. */
const recordCandles = () => {
  for (const [board, securities] of market.boards) candles.observe(board, securities.values(), dataTime(board));
};
/** The market walks (and candles record) every second, polled or not, as a real one trades. */
const tradeEachSecond = () => {
  tradingCalendar.apply(market, clock.date());
  market.advance();
  recordCandles();
};
walkClock(historySeconds, clock, tradeEachSecond);
// Outside the schedule the market is closed from the first request on, not from the first second.
tradingCalendar.apply(market, clock.date());
// ROPD's series of the day built now, not in the first poll's time.
options.series(clock.date());
const faults = new FaultPlan(isFault(config.SIM_FAULT) ? config.SIM_FAULT : null);

interface LoggedRequest {
  at: string;
  path: string;
  securities: string | null;
  fault: Fault | null;
  /** The client asked for a gzip answer, as ISS gives one. */
  gzip: boolean;
  /** The request carried `Authorization: Bearer …` (the token itself is never logged). */
  bearer: boolean;
}
const MAX_LOGGED = 10_000;
const requestLog: LoggedRequest[] = [];

function logRequest(entry: Omit<LoggedRequest, 'at'>): void {
  requestLog.push({ at: clock.date().toISOString(), ...entry });
  if (requestLog.length > MAX_LOGGED) requestLog.splice(0, requestLog.length - MAX_LOGGED);
}

const ENGINE_PATH = /^\/iss\/engines\/([^/]+)\.json$/;
const ISS_PATH = /^\/iss\/engines\/([^/]+)\/markets\/([^/]+)\/boards\/([^/]+)\/securities(?:\/([^/]+)\/candles)?\.json$/;

function listParam(params: URLSearchParams, name: string): string[] | null {
  const value = params.get(name);
  return value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
}

type Route =
  | { engine: string; marketName: string; board: string; candleSecid?: string }
  | { dataset: NonNullable<ReturnType<typeof algopackRoute>> }
  | { calculator: string };

/** The name faults aimed at the Options Calculator's routes use (PUT /sim/faults {board}). */
const CALCULATOR_FAULT_BOARD = 'OPTIONCALC';

function serveIss(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): void {
  const board = 'dataset' in route ? 'ALGOPACK' : 'calculator' in route ? CALCULATOR_FAULT_BOARD : route.board;
  const params = url.searchParams;
  const requestedFault = params.get('sim.fault');
  const fault = isFault(requestedFault) ? requestedFault : faults.take(board);
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const authorization = String(req.headers.authorization ?? '');
  const bearer = /^Bearer \S/.test(authorization);
  logRequest({ path: url.pathname, securities: params.get('securities'), fault, gzip, bearer });
  /** A JSON answer, held back by the timeout fault. */
  const reply = (body: unknown, status?: number, contentType?: string) => {
    const send = () => sendJson(req, res, Buffer.from(JSON.stringify(body)), status, contentType);
    if (fault === 'timeout') setTimeout(send, config.SIM_DELAY_MS).unref();
    else send();
  };

  // The calculator is public, login or not (issue #30): a token is neither needed nor checked.
  if (config.ISS_SIM_TOKEN && !('calculator' in route) && authorization !== `Bearer ${config.ISS_SIM_TOKEN}`) {
    const status = bearer ? 403 : 401;
    res
      .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
      .end(JSON.stringify({ error: bearer ? 'invalid token' : 'authorization required' }));
    return;
  }

  switch (fault) {
    case 'http500':
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal Server Error');
      return;
    case 'http429':
      res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': String(config.SIM_RETRY_AFTER) }).end('Too Many Requests');
      return;
    case 'reset':
      req.socket.destroy();
      return;
    case 'html':
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>');
      return;
    case 'html-200':
      // What ISS and MOEX's gateway send for data the login may not read: a page for people, status 200.
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Московская Биржа — доступ запрещён</title></head>' +
          '<body><h1>Доступ к данным ограничен</h1><p>Для получения этих данных необходима подписка. Войдите в Passport MOEX или оформите подписку.</p></body></html>',
      );
      return;
    case 'malformed-json':
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end('{"securities": {"columns": ["SECID", "BOARDID"], "data": [["SBER", "TQ');
      return;
  }

  const optionsSession = fault === 'closed' || fault === 'pre-open' ? fault : null;
  if ('calculator' in route) {
    tradeEachSecond();
    const at = tradingCalendar.snapshotTime(clock.date(), feedDelaySeconds);
    const answer = optionCalcAnswer(route.calculator, params, options.series(at), options.quoteReader(at, optionsSession), at);
    return reply(answer.body, answer.status, 'application/json');
  }
  if ('dataset' in route) {
    if (!config.ISS_SIM_TOKEN) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html><body><h1>Информация доступна только подписчикам</h1></body></html>');
      return;
    }
    const { market: datasetMarket, dataset } = route.dataset;
    return sendJson(req, res, Buffer.from(JSON.stringify(algopack.json(datasetMarket, dataset, params, clock.date()))));
  }
  const { engine, marketName, candleSecid } = route;
  if (replay && candleSecid === undefined) return sendJson(req, res, replay);

  tradeEachSecond();
  // ISS answers only the first ISS_SIM_MAX_SECURITIES of the list, and says nothing of the rest.
  const requested = listParam(params, 'securities')?.slice(0, config.ISS_SIM_MAX_SECURITIES) ?? null;
  // SIM_BOARD renames the shares board (TQBR by default); every other board answers as itself.
  const isSharesBoard = engine === 'stock' && marketName === 'shares' && board.toUpperCase() === config.SIM_BOARD;
  const served = isSharesBoard
    ? simBoard('stock', 'shares', 'TQBR', boards)
    : board.toUpperCase() === 'TQBR'
      ? undefined
      : simBoard(engine, marketName, board, servedBoards);
  if (served) market.advance(served.board);
  const securities = served ? market.boards.get(served.board)! : new Map<string, SecurityState>();
  // ISS matches SECIDs case-insensitively (SiZ6 / SIZ6) and answers with its own spelling.
  const byUpper = new Map([...securities.values()].map((s) => [s.listing.secid.toUpperCase(), s] as const));
  // Rows come in the board's order, not the list's, as on ISS.
  const wanted = requested ? new Set(requested.map((secid) => byUpper.get(secid.toUpperCase())).filter((s) => s !== undefined)) : null;
  let states: SecurityState[] = [...securities.values()].filter((s) => !wanted || wanted.has(s));
  states = states.filter((s) => !delistings.has(board, s.listing.secid));
  if (fault === 'missing-ticker') {
    const victim = config.SIM_MISSING_TICKER || requested?.[0] || 'GAZP';
    states = states.filter((s) => s.listing.secid !== victim);
  }
  if (fault === 'pre-open' || fault === 'closed') states = states.map((s) => ({ ...s, session: fault }));

  const only = listParam(params, 'iss.only');
  const withMetadata = params.get('iss.meta') !== 'off';
  const shape: ResponseShape = {
    reorderColumns: fault === 'reordered-columns',
    dropMarketdata: fault === 'no-marketdata',
    withMetadata,
    only: only ? new Set(only) : null,
    columns: { securities: listParam(params, 'securities.columns'), marketdata: listParam(params, 'marketdata.columns') },
  };
  if (served?.kind === 'options' && candleSecid === undefined) {
    const at = tradingCalendar.snapshotTime(clock.date(), feedDelayOf(served, feedDelaySeconds));
    const day = options.series(at);
    const quoteAt = options.quoteReader(at, optionsSession);
    const indices = requested
      ? [...new Set(requested.flatMap((secid) => day.bySecid.get(secid.toUpperCase()) ?? []))].sort((a, b) => a - b)
      : day.list.map((_, i) => i);
    const victim = fault === 'missing-ticker' ? config.SIM_MISSING_TICKER || requested?.[0] || day.list[0]?.secid : undefined;
    const chosen = indices.filter((i) => day.list[i]!.secid !== victim && !delistings.has(board, day.list[i]!.secid)).map(quoteAt);
    return reply(optionsBoardJson(chosen, quoteAt(0), board, at, shape, feedDelayOf(served, feedDelaySeconds)));
  }
  const candleSecurity = candleSecid === undefined ? undefined : byUpper.get(candleSecid.toUpperCase());
  const answeringBoard = served ?? simBoard('stock', 'shares', 'TQBR', boards)!;
  // Outside the sessions ISS's snapshot stands still: SYSTIME and UPDATETIME frozen since the close.
  const systime = tradingCalendar.snapshotTime(clock.date(), feedDelayOf(answeringBoard, feedDelaySeconds));
  const body =
    candleSecid !== undefined
      ? candles.json(served?.board ?? '', candleSecurity?.listing.secid ?? candleSecid, params, dataTime(served?.board ?? ''), withMetadata)
      : boardSecuritiesJson(states, answeringBoard, board, systime, shape, feedDelaySeconds);
  reply(body);
}

/** A JSON answer as ISS sends it (200 unless told): gzip when asked for. */
function sendJson(req: IncomingMessage, res: ServerResponse, text: Buffer, status = 200, contentType = 'application/json; charset=utf-8'): void {
  if (res.destroyed) return;
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const payload = gzip ? gzipSync(text) : text;
  res.writeHead(status, {
    // Says plainly that these prices are made up: the stack shows SIMULATED wherever it shows them.
    'X-MOEX-Simulator': '1',
    'Content-Type': contentType,
    'Content-Length': payload.length,
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.end(payload);
}

function snapshotOf(s: SecurityState) {
  const { listing, ...values } = s;
  return { secid: listing.secid, shortName: listing.shortName, ...values };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  if (!text) return {};
  const value: unknown = JSON.parse(text);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('body must be a JSON object');
  return value as Record<string, unknown>;
}

async function serveControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/sim/requests') {
    if (method === 'DELETE') requestLog.length = 0;
    return writeJson(res, 200, { requests: requestLog });
  }
  if (path === '/sim/faults') {
    if (method === 'DELETE') faults.clear();
    if (method === 'PUT') {
      const body = await readJson(req);
      if (!isFault(body.fault)) return writeJson(res, 400, { error: `fault must be one of ${FAULTS.join(', ')}` });
      const count = typeof body.count === 'number' && body.count > 0 ? Math.floor(body.count) : null;
      faults.set(body.fault, count, typeof body.board === 'string' && body.board !== '' ? body.board : null);
    }
    return writeJson(res, 200, { faults: FAULTS, plan: faults.describe() });
  }
  if (path === '/sim/delist') {
    const answer = delistings.control(method, method === 'GET' ? {} : await readJson(req));
    return writeJson(res, answer.status, answer.body);
  }
  if (path === '/sim/clock' && method === 'PUT') {
    const body = await readJson(req);
    const seconds = body.advanceSeconds;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) {
      return writeJson(res, 400, { error: 'advanceSeconds must be a whole number of seconds, at most a day' });
    }
    walkClock(seconds, clock, tradeEachSecond);
    return writeJson(res, 200, { now: clock.date().toISOString(), offsetSeconds: clock.offsetMs / 1000 });
  }
  if (path === '/sim/calendar') {
    if (method === 'PUT') {
      const body = await readJson(req);
      const given = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
      tradingCalendar.replace(given('schedule'), given('dailytable'));
      tradeEachSecond();
    }
    return writeJson(res, 200, { now: clock.date().toISOString(), ...tradingCalendar.session(clock.date()) });
  }
  if (path === '/sim/walk' && method === 'PUT') {
    const body = await readJson(req);
    market.advance();
    market.walking = body.enabled !== false;
    return writeJson(res, 200, { walking: market.walking });
  }
  if (path === '/sim/securities' && method === 'GET') {
    market.advance();
    const wanted = listParam(url.searchParams, 'secids');
    const board = market.boards.get((url.searchParams.get('board') ?? 'TQBR').toUpperCase());
    if (!board) return writeJson(res, 404, { error: `unknown board ${url.searchParams.get('board')}` });
    const states = wanted ? wanted.flatMap((secid) => board.get(secid) ?? []) : [...board.values()];
    return writeJson(res, 200, { securities: states.map(snapshotOf) });
  }
  const one = /^\/sim\/securities\/([A-Z0-9]+)$/.exec(path);
  if (one && method === 'PATCH') {
    market.advance();
    const body = (await readJson(req)) as SecurityOverride;
    const state = market.override(one[1]!, body);
    return state ? writeJson(res, 200, snapshotOf(state)) : writeJson(res, 404, { error: `unknown security ${one[1]}` });
  }
  writeJson(res, 404, { error: `no route ${method} ${path}` });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://iss-sim');
  const engine = ENGINE_PATH.exec(url.pathname);
  if (engine && (req.method === 'GET' || req.method === 'HEAD')) {
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    logRequest({ path: url.pathname, securities: null, fault: null, gzip, bearer: /^Bearer \S/.test(String(req.headers.authorization ?? '')) });
    const only = listParam(url.searchParams, 'iss.only');
    const body = tradingCalendar.json(engine[1]!, { withMetadata: url.searchParams.get('iss.meta') !== 'off', only: only ? new Set(only) : null });
    return sendJson(req, res, Buffer.from(JSON.stringify(body)));
  }
  const iss = ISS_PATH.exec(url.pathname);
  const dataset = algopackRoute(url.pathname);
  if ((iss || dataset) && (req.method === 'GET' || req.method === 'HEAD')) {
    return serveIss(req, res, url, dataset ? { dataset } : { engine: iss![1]!, marketName: iss![2]!, board: iss![3]!, candleSecid: iss![4] });
  }
  if (url.pathname === OPTION_CALC_PREFIX || url.pathname.startsWith(`${OPTION_CALC_PREFIX}/`)) {
    if (req.method === 'GET' || req.method === 'HEAD') return serveIss(req, res, url, { calculator: url.pathname.slice(OPTION_CALC_PREFIX.length) });
    res.writeHead(405, { 'Content-Type': 'application/json', Allow: 'GET' }).end(JSON.stringify({ detail: 'Method Not Allowed' }));
    return;
  }
  if (url.pathname === '/healthz' || url.pathname === '/readyz') return writeJson(res, 200, { status: 'ok' });
  if (stream.serveControl(req, res, url)) return;
  if (url.pathname.startsWith('/sim/')) {
    serveControl(req, res, url).catch((err: unknown) => writeJson(res, 400, { error: err instanceof Error ? err.message : String(err) }));
    return;
  }
  writeJson(res, 404, { error: `no route ${url.pathname}` });
});

// ISS+ (STOMP over WebSocket) at /infocx/v3/websocket, pushing every change of the market (stream.ts).
const stream = attachStreamSim(server, { market, boards, dataTime, log });

listen(server, config.PORT, log, config.LISTEN_ADDRESS)
  .then(() => {
    log.info(
      {
        board: config.SIM_BOARD,
        securities: market.securities.size,
        total: boards.reduce((sum, b) => sum + b.listings.length, 0),
        fault: config.SIM_FAULT || null,
        feed: config.ISS_SIM_TOKEN ? 'real-time (token required)' : `anonymous (${feedDelaySeconds} s delay)`,
      },
      'ISS simulator ready',
    );
    setInterval(tradeEachSecond, 1000).unref();
    exitOnSignals(log, () => {
      server.closeAllConnections(); // a request held by the `timeout` fault must not delay the exit
      return closeServer(server);
    });
  })
  .catch((err: unknown) => exitOnStartupFailure('iss-sim', err));
